"""Result: the optimized plan as DataFrames and headline figures, all from the ledger.

Headline figures are in today's dollars (the plan's start year): sustainable spending is
the first retirement year's after-tax spending, the after-tax estate is what is left at the
horizon net of the heirs' tax on deferred balances, lifetime tax is the sum of each year's
tax deflated to today, and `lifetime_tax_pv` its present value at the plan's discount rate
(Plan.discount_rate: what its safe tier earns), the fair way to compare tax paid at
different times. `stress` holds the success rate of the headline spending and the safe
spending on random return paths (taxopt.stress).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from taxopt.cashflows import claim_of, spousal_top_up
from taxopt.circles import circles_table
from taxopt.currency import localize, symbol
from taxopt.decisions import Decisions
from taxopt.explain import empty_table
from taxopt.io import write_json
from taxopt.ledger import Ledger
from taxopt.model.context import ModelContext
from taxopt.plan import Plan, spending_rule
from taxopt.roth import roth_clock_notes
from taxopt.rules import RuleSet
from taxopt.spending import spending_check

if TYPE_CHECKING:
    from taxopt.scenarios import ScenarioSolution
    from taxopt.stress import StressFigures

LATER_AGES = (75, 85)
SOCIAL_SECURITY_COLUMNS = [
    "person",
    "claim_age",
    "claim_year",
    "benefit_factor",
    "pia_annual_real",
    "first_year_benefit_real",
    "first_year_benefit_nominal",
    "chosen_by",
    "spousal_from",
    "spousal_factor",
    "spousal_benefit_real",
]


@dataclass
class PlanFigures:
    """The figures by which plans are compared (today's dollars)."""

    sustainable_spending: float
    after_tax_estate: float
    lifetime_tax: float  # sum of each year's tax deflated by inflation
    first_year_withdrawal_rate: float | None
    lifetime_tax_pv: float = 0.0  # present value at discount_rate
    discount_rate: float = 0.0  # annual nominal fraction
    lifetime_premiums: float = 0.0  # IRMAA and net marketplace premiums (not tax)
    # Scenario plans (sustained_headline): the first retirement year's real spending when
    # the headline is the lower level every retirement year keeps; else None.
    first_year_spending: float | None = None

    @property
    def lifetime_cost(self) -> float:
        """Lifetime tax plus premiums (today's dollars)."""
        return self.lifetime_tax + self.lifetime_premiums

    def as_dict(self) -> dict:
        return {
            "sustainable_spending": self.sustainable_spending,
            "after_tax_estate": self.after_tax_estate,
            "lifetime_tax": self.lifetime_tax,
            "lifetime_tax_pv": self.lifetime_tax_pv,
            "lifetime_premiums": self.lifetime_premiums,
            "lifetime_cost": self.lifetime_cost,
            "discount_rate": self.discount_rate,
            "first_year_withdrawal_rate": self.first_year_withdrawal_rate,
            "first_year_spending": self.first_year_spending,
        }


def plan_figures(plan: Plan, ledger: Ledger) -> PlanFigures:
    yearly = ledger.yearly
    retired = yearly[yearly["year"] >= plan.retirement_year]
    first = retired.iloc[0] if len(retired) else yearly.iloc[-1]
    opening = sum(first[f"opening_{a.name}"] for a in plan.accounts)
    rate = (first["withdrawals"] - first["contributions"]) / opening if opening > 0 else None
    return PlanFigures(
        sustainable_spending=float(first["spending_real"]),
        after_tax_estate=ledger.after_tax_estate_real,
        lifetime_tax=ledger.lifetime_tax_real,
        first_year_withdrawal_rate=float(rate) if rate is not None else None,
        lifetime_tax_pv=float(
            sum(
                tax * plan.discount_factor(year)
                for year, tax in zip(yearly["year"], yearly["total_tax"], strict=True)
            )
        ),
        discount_rate=plan.discount_rate,
        lifetime_premiums=ledger.lifetime_premiums_real,
    )


def sustained_headline(plan: Plan, ledger: Ledger, figures: PlanFigures) -> PlanFigures:
    """The figures with the headline spending the level every retirement year keeps (the
    lowest real spending of those years, today's dollars). A scenario plan's first year is
    pinned to moves chosen against many paths, so its first year may spend more than the
    re-plan can keep afterwards; that first-year figure is kept as first_year_spending."""
    yearly = ledger.yearly
    retired = yearly[yearly["year"] >= plan.retirement_year]
    lowest = float((retired if len(retired) else yearly)["spending_real"].min())
    first = figures.sustainable_spending
    return replace(
        figures,
        sustainable_spending=lowest,
        first_year_spending=first if first > lowest + 0.5 else None,
    )


@dataclass
class Result:
    plan: Plan
    rules: RuleSet
    status: str
    objective: float | None
    method: str  # lp | regime-lp | milp: which step produced the plan (see optimize)
    mode: str
    mip_gap: float | None
    build_seconds: float
    solve_seconds: float
    decisions: Decisions
    ledger: Ledger
    figures: PlanFigures
    reconciliation: pd.DataFrame
    location: pd.DataFrame
    baselines: dict[str, PlanFigures] = field(default_factory=dict)
    total_seconds: float = 0.0
    model_size: dict = field(default_factory=dict)
    # Gross basis: each retirement year's tax on the policy's own withdrawal (nominal).
    policy_tax: dict[int, float] = field(default_factory=dict)
    # Circles of money the plan keeps because it is strictly better with them (taxopt.circles).
    circles: pd.DataFrame = field(default_factory=circles_table)
    # Circles re-solved away as worth less than their threshold (circles.materiality).
    netted_circles: pd.DataFrame = field(default_factory=circles_table)
    # Lines a user should read: assumptions the plan relies on (Roth clocks), a policy the
    # objective does not apply, an account taxopt opened, circles kept and why.
    notes: list[str] = field(default_factory=list)
    stress: StressFigures | None = None  # taxopt.stress; None when skipped (paths 0)
    # Exact mode: the exact model's LP relaxation's objective, a bound no plan can beat.
    objective_bound: float | None = None
    # optimize(explain=True): marginal values from the final LP's duals (taxopt.explain).
    shadow_prices: pd.DataFrame = field(default_factory=empty_table)
    # optimize(scenarios=N): this year's decisions were chosen against N return paths
    # (taxopt.scenarios); the later years are the deterministic re-plan from them.
    scenarios: ScenarioSolution | None = None
    # Claiming ages the optimizer chose (taxopt.claiming): one row per assignment tried,
    # a column of ages per person, the objective each reached and which was chosen.
    claiming: pd.DataFrame = field(default_factory=pd.DataFrame)
    claiming_seconds: float = 0.0  # the claiming search's time beyond the chosen plan's

    @property
    def return_basis(self) -> str:
        """The growth the plan compounds each tier at: median or mean (Plan.return_basis)."""
        return self.plan.return_basis

    @property
    def tier_returns(self) -> dict[str, float]:
        """Each tier's deterministic annual return (fraction) the plan was built on."""
        return self.plan.tier_returns

    @classmethod
    def from_run(
        cls,
        *,
        plan,
        rules,
        ctx: ModelContext,
        decisions,
        ledger,
        report,
        build_seconds,
        solve_seconds,
        method,
        reconciliation,
    ) -> Result:
        return cls(
            plan=plan,
            rules=rules,
            status=report.status,
            objective=report.objective,
            method=method,
            mode=ctx.mode,
            mip_gap=report.mip_gap if method == "milp" else None,
            build_seconds=build_seconds,
            solve_seconds=solve_seconds,
            decisions=decisions,
            ledger=ledger,
            figures=plan_figures(plan, ledger),
            reconciliation=reconciliation,
            location=location_table(plan, rules, ledger),
            model_size={
                "variables": len(ctx.prob.variables()),
                "constraints": len(ctx.prob.constraints),
                "binaries": ctx.binaries,
                "regime_binaries_fixed": len(ctx.regime_values),
            },
            notes=roth_clock_notes(plan, rules, decisions),
        )

    # -- the DataFrames users read ------------------------------------------------------

    @property
    def yearly(self) -> pd.DataFrame:
        return self.ledger.yearly

    @property
    def baselines_table(self) -> pd.DataFrame:
        rows = [{"plan": "optimized", **self.figures.as_dict()}]
        rows += [{"plan": name, **figs.as_dict()} for name, figs in self.baselines.items()]
        table = pd.DataFrame(rows).set_index("plan")
        for column in ("sustainable_spending", "after_tax_estate"):
            table[f"gain_in_{column}"] = table.loc["optimized", column] - table[column]
        for column in ("lifetime_tax", "lifetime_tax_pv"):
            suffix = column.removeprefix("lifetime_tax")
            table[f"tax_saved{suffix}"] = table[column] - table.loc["optimized", column]
        return table

    @property
    def social_security(self) -> pd.DataFrame:
        """Each benefit given at full retirement age (pia_annual): the claiming age, its
        year, the factor, the first year's benefit (today's and that year's dollars),
        whether the optimizer chose the age or the plan pinned it, and the spousal top-up
        drawn on the other spouse's record (from which year, its factor, today's dollars
        a year; taxopt.cashflows.spousal_top_up)."""
        rows = []
        for stream in self.plan.income:
            if not stream.claimed_by_age:
                continue
            claim = claim_of(self.plan, stream, self.rules)
            top_up = spousal_top_up(self.plan, stream, self.rules)
            paid_from = max(claim.claim_year, self.plan.start_year)
            rows.append(
                {
                    "person": stream.owner,
                    "claim_age": claim.claim_age,
                    "claim_year": claim.claim_year,
                    "benefit_factor": claim.factor,
                    "pia_annual_real": stream.pia_annual,
                    "first_year_benefit_real": claim.annual_real,
                    "first_year_benefit_nominal": claim.annual_real
                    * self.plan.inflation_factor(paid_from),
                    "chosen_by": "optimizer" if stream.owner in self.claiming else "plan",
                    "spousal_from": top_up.start_year if top_up else None,
                    "spousal_factor": top_up.factor if top_up else None,
                    "spousal_benefit_real": top_up.annual_real if top_up else 0.0,
                }
            )
        return pd.DataFrame(rows, columns=SOCIAL_SECURITY_COLUMNS)

    @property
    def reconciliation_max_abs_error(self) -> float:
        columns = [c for c in self.reconciliation.columns if c.endswith("_error")]
        return float(self.reconciliation[columns].abs().max().max()) if columns else 0.0

    @property
    def warnings(self) -> list[str]:
        return list(self.ledger.warnings)

    @property
    def spending_rule(self) -> str:
        return localize(spending_rule(self.plan), self.rules.meta.currency)

    @property
    def spending_check(self) -> pd.DataFrame:
        """Retirement years: the ledger's spending beside what the plan's rule requires."""
        return spending_check(self.plan, self.rules, self.yearly, self.policy_tax)

    @property
    def implied_accounts(self) -> list[str]:
        return [a.name for a in self.plan.accounts if a.implied]

    # -- output ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        f = self.figures
        return {
            "plan": self.plan.name,
            "rules": self.rules.name,
            "status": self.status,
            "mode": self.mode,
            "method": self.method,
            "objective_kind": self.plan.objective.kind,
            "spending_rule": self.spending_rule,
            "withdrawal_basis": self.plan.withdrawal.basis,
            "rmd_surplus": self.plan.withdrawal.rmd_surplus,
            "objective": self.objective,
            "objective_bound": self.objective_bound,
            "mip_gap": self.mip_gap,
            "return_basis": self.return_basis,
            "tier_returns": self.tier_returns,
            **f.as_dict(),
            "stress": self.stress.as_dict() if self.stress is not None else None,
            "scenarios": self.scenarios.as_dict() if self.scenarios is not None else None,
            "currency": self.rules.meta.currency,
            "currency_symbol": symbol(self.rules.meta.currency),
            "units": localize(
                "today's dollars (plan start year) unless a name says nominal",
                self.rules.meta.currency,
            ),
            "location": _location_json(self.location),
            "reconciliation_max_abs_error": self.reconciliation_max_abs_error,
            "baselines": {name: figs.as_dict() for name, figs in self.baselines.items()},
            "solve_seconds": self.solve_seconds,
            "build_seconds": self.build_seconds,
            "model_size": self.model_size,
            "warnings": self.warnings,
            "notes": self.notes,
            "implied_accounts": self.implied_accounts,
            "circles": _records(self.circles),
            "netted_circles": _records(self.netted_circles),
            "shadow_prices": _records(self.shadow_prices),
            "social_security": _records(self.social_security),
            "claiming": _records(self.claiming),
            "claiming_seconds": self.claiming_seconds,
        }

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    def to_excel(self, path: str | Path) -> Path:
        from taxopt.report.excel import write_plan_workbook

        return write_plan_workbook(self, path)


def location_table(plan: Plan, rules: RuleSet, ledger: Ledger) -> pd.DataFrame:
    """Account x tier dollars and shares at today, retirement and later ages (post-trade)."""
    holdings = ledger.holdings
    first = plan.people[0]
    snapshots = {"today": plan.start_year, "retirement": max(plan.retirement_year, plan.start_year)}
    for age in LATER_AGES:
        year = first.birth_year + age
        if snapshots["retirement"] < year <= plan.end_year:
            snapshots[f"age {age}"] = year
    kinds = {a.name: a.kind for a in plan.accounts}
    rows = []
    for label, year in snapshots.items():
        at = holdings[holdings["year"] == year]
        portfolio = at["post_trade"].sum()
        for account in plan.accounts:
            in_account = at[at["account"] == account.name]
            account_total = in_account["post_trade"].sum()
            for _, h in in_account.iterrows():
                rows.append(
                    {
                        "snapshot": label,
                        "year": year,
                        "account": account.name,
                        "kind": kinds[account.name],
                        "tier": h["tier"],
                        "dollars": h["post_trade"],
                        "dollars_real": h["post_trade"] / plan.inflation_factor(year),
                        "share_of_account": h["post_trade"] / account_total
                        if account_total > 0
                        else 0.0,
                        "share_of_portfolio": h["post_trade"] / portfolio if portfolio > 0 else 0.0,
                    }
                )
    return pd.DataFrame(rows)


def _records(table: pd.DataFrame) -> list[dict]:
    """A table's rows as JSON objects, NaN as null."""
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _location_json(location: pd.DataFrame) -> dict:
    out: dict = {}
    for (snapshot, account), group in location.groupby(["snapshot", "account"], sort=False):
        out.setdefault(snapshot, {})[account] = {
            row.tier: {"dollars": row.dollars, "share_of_account": row.share_of_account}
            for row in group.itertuples()
        }
    return out


def reconcile(ctx: ModelContext, ledger: Ledger) -> pd.DataFrame:
    """The model's figures beside the ledger's, each year (nominal dollars)."""
    solution = ctx.solution()
    v = ctx.variables
    closing_by_year = dict.fromkeys(ctx.years, 0.0)
    for (year, _account, tier), dollars in v["hold"].read(solution).items():
        closing_by_year[year] += dollars * ctx.growth[tier]
    tax, spend, gain = (v[name].series(solution) for name in ("tax", "spend", "gain"))
    rows = []
    yearly = ledger.yearly.set_index("year")
    for year in ctx.years:
        model = {
            "tax": tax[year],
            "spending": spend[year],
            "realized_gains": gain[year],
            "portfolio_closing": closing_by_year[year],
        }
        ledger_values = {
            "tax": yearly.at[year, "total_tax"],
            "spending": yearly.at[year, "spending"],
            "realized_gains": max(0.0, yearly.at[year, "realized_gains"]),
            "portfolio_closing": yearly.at[year, "portfolio_closing"],
        }
        row = {"year": year}
        for key in model:
            row[f"model_{key}"] = model[key]
            row[f"ledger_{key}"] = ledger_values[key]
            row[f"{key}_error"] = model[key] - ledger_values[key]
        rows.append(row)
    return pd.DataFrame(rows)

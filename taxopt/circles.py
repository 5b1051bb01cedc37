"""Money going round in circles: flows in and out of the same place in the same year.

A plan is a list of instructions; some pairs of them cancel out and only confuse:
- a Roth conversion into an account that is also drawn that year (draw the traditional
  account directly instead);
- a contribution to an account that is also drawn that year;
- a purchase of a tier in a taxable account that also sells that tier that year;
- a withdrawal from a tax-exempt account (Roth) while a taxable account takes new money:
  the money leaves the shelter only to be taxed on its growth.

The model breaks ties against them (model.objective.FLOW_TIE_BREAK); `optimize` re-solves
without any that remain and keeps one only when netting it costs more than its
`materiality` (an instruction worth less is not worth giving), saying why (see `explain`)
and what netting it costs. Amounts are nominal dollars of their year.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from taxopt.decisions import Decisions
from taxopt.plan import Plan
from taxopt.rules import Growth, RuleSet

CIRCLE_DOLLARS = 1.0  # both legs at least this big (nominal) make a circle

KINDS = {
    "conversion_and_withdrawal": "converts into it and withdraws from it",
    "contribution_and_withdrawal": "contributes to it and withdraws from it",
    "purchase_and_sale": "buys and sells {tier}",
    "exempt_to_taxable": "withdraws from it while a taxable account takes new money",
}


@dataclass
class Circle:
    year: int
    kind: str  # a key of KINDS
    account: str
    money_in: float  # the conversion, contribution or purchase
    money_out: float  # the withdrawal or the sale proceeds
    tier: str | None = None  # purchase_and_sale
    # conversion_and_withdrawal: the converted accounts; exempt_to_taxable: the taxable ones
    sources: tuple[str, ...] = ()
    why: str = ""

    @property
    def key(self) -> tuple:
        return (self.year, self.kind, self.account, self.tier or "")

    def describe(self) -> str:
        what = KINDS[self.kind].format(tier=self.tier)
        return (
            f"{self.year} {self.account}: {what} (${self.money_in:,.0f} in, "
            f"${self.money_out:,.0f} out)"
        )


def find_circles(plan: Plan, rules: RuleSet, decisions: Decisions) -> list[Circle]:
    """Every circle in the decisions, by year."""
    out = [
        *_conversion_circles(decisions),
        *_contribution_circles(decisions),
        *_exempt_to_taxable_circles(plan, rules, decisions),
        *_purchase_circles(plan, decisions),
    ]
    return sorted(out, key=lambda c: c.key)


def _conversion_circles(decisions: Decisions) -> list[Circle]:
    """Money converted into an account and withdrawn from it in the same year."""
    out = []
    converted: dict[tuple[str, int], dict[str, float]] = {}
    for (source, target, year), amount in decisions.conversions.items():
        if amount > 0:
            converted.setdefault((target, year), {})[source] = amount
    for (target, year), sources in converted.items():
        amount_in = sum(sources.values())
        drawn = decisions.withdrawal(target, year)
        if min(amount_in, drawn) >= CIRCLE_DOLLARS:
            out.append(
                Circle(
                    year,
                    "conversion_and_withdrawal",
                    target,
                    amount_in,
                    drawn,
                    sources=tuple(sorted(sources)),
                )
            )
    return out


def _contribution_circles(decisions: Decisions) -> list[Circle]:
    """An account contributed to and withdrawn from in the same year."""
    out = []
    for (account, year), amount in decisions.contributions.items():
        drawn = decisions.withdrawal(account, year)
        if min(amount, drawn) >= CIRCLE_DOLLARS:
            out.append(Circle(year, "contribution_and_withdrawal", account, amount, drawn))
    return out


def _exempt_to_taxable_circles(plan: Plan, rules: RuleSet, decisions: Decisions) -> list[Circle]:
    """Tax-exempt money withdrawn in a year that contributes to a taxable account."""
    growth = {a.name: rules.account_kinds[a.kind].growth for a in plan.accounts}
    taxed_in: dict[int, list[str]] = {}
    for (account, year), amount in decisions.contributions.items():
        if growth[account] == Growth.TAXED and amount >= CIRCLE_DOLLARS:
            taxed_in.setdefault(year, []).append(account)
    out = []
    for (account, year), drawn in decisions.withdrawals.items():
        if growth[account] == Growth.EXEMPT and drawn >= CIRCLE_DOLLARS and year in taxed_in:
            moved = sum(decisions.contribution(a, year) for a in taxed_in[year])
            out.append(
                Circle(
                    year,
                    "exempt_to_taxable",
                    account,
                    moved,
                    drawn,
                    sources=tuple(sorted(taxed_in[year])),
                )
            )
    return out


def _purchase_circles(plan: Plan, decisions: Decisions) -> list[Circle]:
    """A tier of a taxable account bought and sold in the same year."""
    proceeds = sale_proceeds(plan, decisions)
    out = []
    for (account, tier, year), bought in decisions.buys.items():
        sold = proceeds.get((account, tier, year), 0.0)
        if min(bought, sold) >= CIRCLE_DOLLARS:
            out.append(Circle(year, "purchase_and_sale", account, bought, sold, tier=tier))
    return out


def materiality(plan: Plan, circle: Circle) -> float:
    """What netting `circle` may cost before the plan keeps it, in today's dollars over the
    plan: the larger of options.circle_min_gain and options.circle_min_gain_share of the
    money it moves round (its smaller leg, deflated to today's dollars)."""
    moved = min(circle.money_in, circle.money_out) / plan.inflation_factor(circle.year)
    options = plan.options
    return max(options.circle_min_gain, options.circle_min_gain_share * moved)


def objective_units(plan: Plan, dollars: float) -> float:
    """Today's dollars over the plan in the objective's own units: under max_spending, a
    dollar a year of constant real spending is worth one dollar per spending year."""
    if plan.objective.kind == "max_spending":
        return dollars / max(1, sum(1 for y in plan.years if y >= plan.retirement_year))
    return dollars


def sale_proceeds(plan: Plan, decisions: Decisions) -> dict[tuple[str, str, int], float]:
    """Dollars raised by lot sales, per (account, tier, year).

    A unit bought in year s is worth growth^(t - s) dollars in year t (the opening lot's unit
    is a dollar of the start year), whatever its basis; growth is the plan's deterministic
    return (its `return_basis`), as in the model and the ledger.
    """
    growth = plan.tier_growth
    out: dict[tuple[str, str, int], float] = {}
    for (account, tier, bought, _opening, sold), units in decisions.lot_sales.items():
        key = (account, tier, sold)
        out[key] = out.get(key, 0.0) + units * growth[tier] ** (sold - bought)
    return out


def explain(plan: Plan, rules: RuleSet, yearly: pd.DataFrame, circle: Circle) -> str:
    """Why a circle that the plan keeps is worth keeping, from the ledger's figures."""
    row = yearly.set_index("year").loc[circle.year]
    if circle.kind == "purchase_and_sale":
        if row["realized_gains"] <= CIRCLE_DOLLARS:
            # Lots at or below their cost: no gain to harvest (and no loss is deducted).
            return (
                "the sale realizes no taxable gain this year, so it costs no tax; buying back "
                "changes which lots are held for later sales"
            )
        return (
            f"realizing gains now (at {row['marginal_ltcg_rate']:.0%}) raises the basis, "
            "which saves more tax on later sales"
        )
    if circle.kind == "conversion_and_withdrawal":
        owners = {a.name: a.owner for a in plan.accounts}
        early = [
            s
            for s in circle.sources
            if owners.get(s)
            and rules.withdrawal_is_early(
                _kind(plan, s), plan.person(owners[s]).age_in(circle.year), circle.year
            )
        ]
        if early:
            return (
                f"drawing {', '.join(early)} directly would pay the early-withdrawal penalty; "
                "converting first avoids it"
            )
        return "the conversion and the withdrawal are taxed differently this year"
    if circle.kind == "exempt_to_taxable":
        return "moving the money is worth more than its shelter this year"
    fixed = [f for f in plan.contributions.fixed if f.account == circle.account]
    if fixed and (fixed[0].until_year is None or circle.year <= fixed[0].until_year):
        return "contributions.fixed requires the contribution"
    if row.get(f"rmd_{circle.account}", 0.0) > 0:
        return "the required minimum distribution must be withdrawn even while contributing"
    return "the contribution and the withdrawal are taxed differently this year"


def _kind(plan: Plan, account: str) -> str:
    return next(a.kind for a in plan.accounts if a.name == account)


def circles_table(circles: list[Circle] | None = None) -> pd.DataFrame:
    """One row per circle the plan keeps (empty with the columns when there are none)."""
    columns = ["year", "kind", "account", "tier", "money_in", "money_out", "why"]
    return pd.DataFrame(
        [
            {
                "year": c.year,
                "kind": c.kind,
                "account": c.account,
                "tier": c.tier,
                "money_in": c.money_in,
                "money_out": c.money_out,
                "why": c.why,
            }
            for c in circles or []
        ],
        columns=columns,
    )

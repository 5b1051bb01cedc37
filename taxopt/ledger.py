"""The ledger: an independent year-by-year replay of a plan's decisions.

It knows nothing of the optimization model. From the plan, the rule set and the decisions
(contributions, withdrawals, conversions, allocations, lot purchases and sales) it walks
the years with its own state: balances per account and tier, and for taxable accounts
each lot's units, value and basis; for each Roth owner, the basis by ordering layer
(taxopt.roth: Roth money beyond it is income or penalised). Taxes come from the pure tax
calculator; what the law says about RMDs and early withdrawals comes from the rule set's
methods. Its tables are what every report shows; the model's own figures are only
compared with them.

Each year, in order (`_Replay.year`):
1. `_account_flows`: each account's contribution, withdrawal and conversions at the start
   of the year on the opening balances (taxable accounts sell and buy lots, sheltered ones
   re-split across tiers), with the RMD due and the income and early distributions they
   make;
2. `_roth_income`: Roth withdrawals beyond the basis the ordering rules leave free;
3. `_taxable_yields`: yields on the post-trade holdings of taxable accounts;
4. `_tax`: the year's federal tax from the pure calculator and, for a plan with a state,
   the state's from the state calculator on the same figures (taxopt.state_tax), and the
   spending their total leaves;
5. `_close`: holdings recorded, growth by each tier's total return (yields reinvested,
   adding to a taxable lot's basis; Plan.tier_returns), closing balances and estate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from taxopt.cashflows import plan_flows
from taxopt.decisions import Decisions
from taxopt.marketplace import household_income
from taxopt.plan import Plan
from taxopt.premiums import PlanPremiums
from taxopt.roth import replay_decisions
from taxopt.rules import Growth, RuleSet, WithdrawalTax
from taxopt.state_tax import OrdinaryParts, StateTaxResult, plan_state_result
from taxopt.tax import TaxInput, TaxResult, compute_tax, marginal_rates

MONEY_TOLERANCE = 0.01  # dollars: below this a balance or flow is treated as zero


@dataclass
class LedgerLot:
    account: str
    tier: str
    year: int
    opening: bool
    units: float  # purchase units still held
    value_per_unit: float
    basis_per_unit: float


@dataclass
class Ledger:
    """The replay's tables; `yearly` has one row per year, every flow and balance."""

    yearly: pd.DataFrame
    holdings: pd.DataFrame  # long: year, account, tier, post_trade (nominal, after flows)
    taxes: list[TaxResult]
    inputs: list[TaxInput]
    warnings: list[str] = field(default_factory=list)
    # Each year's state tax result (None without a state): the regime search reads it.
    state_results: list[StateTaxResult | None] = field(default_factory=list)

    @property
    def lifetime_tax_real(self) -> float:
        return float((self.yearly["total_tax"] / self.yearly["inflation_factor"]).sum())

    @property
    def lifetime_irmaa_real(self) -> float:
        """Medicare income-related premiums over the plan, today's dollars (not tax)."""
        if "irmaa" not in self.yearly:
            return 0.0
        return float((self.yearly["irmaa"] / self.yearly["inflation_factor"]).sum())

    @property
    def lifetime_marketplace_real(self) -> float:
        """Marketplace premiums net of the premium tax credit, today's dollars (not tax)."""
        if "aca_premium" not in self.yearly:
            return 0.0
        return float((self.yearly["aca_premium"] / self.yearly["inflation_factor"]).sum())

    @property
    def lifetime_premiums_real(self) -> float:
        """IRMAA and net marketplace premiums over the plan, today's dollars."""
        return self.lifetime_irmaa_real + self.lifetime_marketplace_real

    @property
    def lifetime_cost_real(self) -> float:
        """Lifetime tax plus premiums (IRMAA, net marketplace), today's dollars."""
        return self.lifetime_tax_real + self.lifetime_premiums_real

    @property
    def after_tax_estate_real(self) -> float:
        return float(self.yearly["after_tax_estate_real"].iloc[-1])


@dataclass
class _YearIncome:
    """What a year's flows add to income (nominal dollars), summed over accounts."""

    ordinary: float = 0.0  # withdrawals and conversions taxed as ordinary income
    pension: float = 0.0  # the withdrawals that are eligible pension income (Canada)
    deductible: float = 0.0  # deductible contributions
    early: float = 0.0  # distributions bearing the early-withdrawal penalty
    gains: float = 0.0  # realized on lot sales
    withdrawals: float = 0.0
    contributions: float = 0.0
    ordinary_yield: float = 0.0
    qualified_yield: float = 0.0


def replay(plan: Plan, rules: RuleSet, decisions: Decisions) -> Ledger:
    """Walk the plan's years applying `decisions`; compute balances, gains and taxes."""
    book = _Replay(plan, rules, decisions)
    rows = [book.year(year) for year in plan.years]
    return Ledger(
        pd.DataFrame(rows),
        pd.DataFrame(book.holding_rows),
        book.taxes,
        book.inputs,
        book.warnings,
        book.state_results,
    )


class _Replay:
    """The replay's state (balances, lots, Roth draws) and its yearly steps."""

    def __init__(self, plan: Plan, rules: RuleSet, decisions: Decisions):
        self.plan, self.rules, self.decisions = plan, rules, decisions
        self.flows = plan_flows(plan, rules)
        self.kinds = {a.name: rules.account_kinds[a.kind] for a in plan.accounts}
        self.growth = plan.tier_growth
        self.tiers = {t.name: t for t in plan.tiers}
        self.balances = {
            (a.name, t.name): a.balances.get(t.name, 0.0) for a in plan.accounts for t in plan.tiers
        }
        self.lots = _opening_lots(plan, self.kinds)
        self.roth_draws = replay_decisions(plan, rules, decisions)  # the ordering rules, by year
        self.heir_keep = {
            a.name: 1.0 - plan.objective.heir_tax_rate
            if self.kinds[a.name].growth == Growth.DEFERRED
            else 1.0
            for a in plan.accounts
        }
        self.holding_rows: list[dict] = []
        self.taxes: list[TaxResult] = []
        self.inputs: list[TaxInput] = []
        self.state_results: list[StateTaxResult | None] = []
        self.warnings: list[str] = []
        self.magi: dict[int, float] = {}  # by year, for the IRMAA lookback
        self.tax_free_taken: dict[tuple, float] = {}  # (owner, kind) -> nominal, to date
        self.premiums = PlanPremiums(plan, rules)

    def year(self, year: int) -> dict:
        """One row of the yearly table: the steps of the module docstring, in order."""
        plan = self.plan
        row: dict = {"year": year, "inflation_factor": plan.inflation_factor(year)}
        for person in plan.people:
            row[f"age_{person.name}"] = person.age_in(year)
        row["retired"] = year >= plan.retirement_year
        income = _YearIncome()
        self._account_flows(year, row, income)
        self._roth_income(year, row, income)
        self._taxable_yields(income)
        self._tax(year, row, income)
        self._close(year, row)
        return row

    def _account_flows(self, year: int, row: dict, income: _YearIncome) -> None:
        """Step 1: each account's flows at the start of the year, on its opening balance."""
        plan, rules, decisions, balances = self.plan, self.rules, self.decisions, self.balances
        opening = {a.name: sum(balances[a.name, t.name] for t in plan.tiers) for a in plan.accounts}
        for a in plan.accounts:
            name, kind = a.name, self.kinds[a.name]
            contribution = decisions.contribution(name, year)
            converted_out = sum(
                v for (s, _d, y), v in decisions.conversions.items() if s == name and y == year
            )
            converted_in = sum(
                v for (_s, d, y), v in decisions.conversions.items() if d == name and y == year
            )
            owner = plan.owner(name)
            required = (
                rules.rmd_amount(a.kind, owner.age_in(year), owner.birth_year, opening[name])
                if owner is not None
                else 0.0
            )
            if kind.growth == Growth.TAXED:
                withdrawal, realized = _trade_taxable(
                    plan, decisions, balances, self.lots, name, year, contribution
                )
                income.gains += realized
            else:
                withdrawal = decisions.withdrawal(name, year)
                total_post = (
                    opening[name] + contribution - withdrawal - converted_out + converted_in
                )
                if total_post < -MONEY_TOLERANCE:
                    self.warnings.append(
                        f"{year} {name}: withdrawals exceed the balance by {-total_post:,.2f}"
                    )
                _reallocate(plan, decisions, balances, name, year, max(total_post, 0.0))
            if withdrawal + MONEY_TOLERANCE < required:
                self.warnings.append(
                    f"{year} {name}: RMD {required:,.2f} not met (withdrew {withdrawal:,.2f})"
                )
            if kind.withdrawals == WithdrawalTax.ORDINARY:
                tax_free = self._tax_free(a, year, withdrawal + converted_out)
                income.ordinary += withdrawal + converted_out - tax_free
                if kind.tax_free_withdrawal_fraction > 0:
                    row[f"tax_free_{name}"] = tax_free
                if owner is not None and rules.withdrawal_is_early(
                    a.kind, owner.age_in(year), year
                ):
                    income.early += withdrawal
            if kind.contributions == "deductible":
                income.deductible += contribution
            row[f"contribution_{name}"] = contribution
            row[f"withdrawal_{name}"] = withdrawal
            row[f"conversion_out_{name}"] = converted_out
            row[f"rmd_{name}"] = required
            row[f"opening_{name}"] = opening[name]
            if owner is not None and rules.withdrawal_is_pension_income(a.kind, owner.age_in(year)):
                # Eligible pension income (a credit limited to it): the taxed share drawn.
                income.pension += withdrawal * (1.0 - kind.tax_free_withdrawal_fraction)
            income.withdrawals += withdrawal
            income.contributions += contribution

    def _tax_free(self, account, year: int, drawn: float) -> float:
        """The tax-free part of `drawn` (withdrawn and converted out, nominal): the kind's
        fraction of it; where the kind has a lifetime limit (UK lump sum allowance, ITEPA
        2003 s.637Q), at most what the owner has left of it: the amount the decisions chose
        (taxopt.model.tax_free), else the fraction until the limit is used. A choice beyond
        either limit is cut to it, with a warning."""
        kind = self.kinds[account.name]
        if kind.tax_free_lifetime_limit is None:
            return kind.tax_free_part(drawn)
        key = (account.owner, account.kind)
        allowed = float(kind.tax_free_part(drawn, self.tax_free_taken.get(key, 0.0)))
        chosen = self.decisions.tax_free.get((account.name, year), allowed)
        if chosen > allowed + MONEY_TOLERANCE:
            self.warnings.append(
                f"{year} {account.name}: {chosen:,.2f} taken tax free, above the "
                f"{allowed:,.2f} the withdrawal and the lifetime limit allow"
            )
        free = max(0.0, min(chosen, allowed))
        self.tax_free_taken[key] = self.tax_free_taken.get(key, 0.0) + free
        return free

    def _roth_income(self, year: int, row: dict, income: _YearIncome) -> None:
        """Step 2: Roth withdrawals beyond the basis the ordering rules leave free
        (taxopt.roth) are income, and before the early-withdrawal age penalised."""
        draws = self.roth_draws[year].values()
        roth_income = sum(d.income for d in draws)
        roth_early = sum(d.early for d in draws)
        income.ordinary += roth_income
        income.early += roth_early
        row.update(roth_taxable_earnings=roth_income, roth_early_distributions=roth_early)

    def _taxable_yields(self, income: _YearIncome) -> None:
        """Step 3: yields paid on taxable accounts' post-trade holdings, by character."""
        for a in self.plan.accounts:
            if self.kinds[a.name].growth != Growth.TAXED:
                continue
            for t in self.plan.tiers:
                tier = self.tiers[t.name]
                paid = tier.yield_rate * self.balances[a.name, t.name]
                if tier.yield_character == "ordinary":
                    income.ordinary_yield += paid
                elif tier.yield_character == "qualified_dividends":
                    income.qualified_yield += paid

    def _tax(self, year: int, row: dict, income: _YearIncome) -> None:
        """Step 4: the year's tax (the pure calculator) and the spending left after it."""
        plan, flows = self.plan, self.flows
        year_rules = self.rules.for_year(year, plan.inflation)
        wages = sum(flows.earnings[year].values())
        social_security = flows.social_security[year]
        other = flows.other_income[year]
        tax_input = TaxInput(
            filing_status=plan.filing_status,
            ages=plan.ages_in(year),
            ordinary_income=max(
                0.0, wages + other + income.ordinary + income.ordinary_yield - income.deductible
            ),
            investment_ordinary_income=income.ordinary_yield,
            qualified_dividends=income.qualified_yield,
            ltcg=max(0.0, income.gains),
            social_security=social_security,
            early_distributions=income.early,
            year=year,
            pension_income=income.pension,
        )
        tax = compute_tax(year_rules, tax_input)
        self.taxes.append(tax)
        self.inputs.append(tax_input)
        # Traditional withdrawals, conversions and taxable Roth earnings are the IRA
        # distributions a state may exempt; pensions are the plan's pension streams.
        parts = OrdinaryParts(
            ira_distributions=income.ordinary, pension_income=flows.pensions[year]
        )
        state_result = plan_state_result(plan.state, year, plan.inflation, tax_input, tax, parts)
        self.state_results.append(state_result)
        state_tax = 0.0 if state_result is None else float(state_result.total_tax)
        self.magi[year] = tax.magi
        paid_premiums = self._irmaa(year, year_rules, row) + self._marketplace(
            year, year_rules, household_income(tax_input, tax), row
        )
        spending = (
            income.withdrawals
            + social_security
            + other
            + flows.savings[year]
            + flows.wage_tax[year]
            - income.contributions
            - tax.total_tax
            - state_tax
            - paid_premiums
        )
        row.update(
            wages=wages,
            savings_budget=flows.savings[year],
            social_security=social_security,
            other_income=other,
            contributions=income.contributions,
            withdrawals=income.withdrawals,
            roth_conversions=sum(
                v for (_s, _d, y), v in self.decisions.conversions.items() if y == year
            ),
            rmd_required=sum(row[f"rmd_{a.name}"] for a in plan.accounts),
        )
        rates = marginal_rates(year_rules, tax_input)
        row.update(_tax_columns(income, tax, state_tax, rates))
        row.update(spending=spending, spending_real=spending / row["inflation_factor"])
        for i, amount in enumerate(tax.bracket_fill):
            row[f"bracket_{i}_filled"] = amount
        if spending < -MONEY_TOLERANCE:
            self.warnings.append(
                f"{year}: spending is negative ({spending:,.2f}): outflows exceed sources"
            )

    def _irmaa(self, year: int, year_rules: RuleSet, row: dict) -> float:
        """Medicare IRMAA premiums of `year` (nominal; taxopt.premiums) and what spending
        pays of them (all with options.irmaa, else nothing)."""
        due = self.premiums.irmaa(year, year_rules, self.magi)
        row.update(irmaa=due.premium, irmaa_tier=due.tier, irmaa_magi_year=due.magi_year)
        return self.premiums.irmaa_paid(due)

    def _marketplace(self, year: int, year_rules: RuleSet, magi: float, row: dict) -> float:
        """Marketplace premiums of `year` net of the premium tax credit (nominal), on the
        same year's household income `magi` (IRC §36B(d)(2)(B)); 0 in years without
        marketplace coverage. Paid from spending: the plan's [aca] table opts in. Plans
        without the table get no aca_ columns."""
        if self.plan.aca is None:
            return 0.0
        bought = self.premiums.bought(year)
        row["aca_magi"] = magi
        if bought is None:
            row.update(aca_benchmark=0.0, aca_credit=0.0, aca_premium=0.0)
            return 0.0
        net = self.premiums.marketplace_net(year, year_rules, magi)
        row.update(
            aca_benchmark=bought.benchmark_premium,
            aca_credit=bought.benchmark_premium - net,
            aca_premium=net,
        )
        return net

    def _close(self, year: int, row: dict) -> None:
        """Step 5: record the post-trade holdings, grow them, and close the year."""
        plan, balances = self.plan, self.balances
        for a in plan.accounts:
            for t in plan.tiers:
                self.holding_rows.append(
                    {
                        "year": year,
                        "account": a.name,
                        "tier": t.name,
                        "post_trade": balances[a.name, t.name],
                    }
                )
        _grow(balances, self.lots, self.growth, self.tiers)
        closing = {a.name: sum(balances[a.name, t.name] for t in plan.tiers) for a in plan.accounts}
        for a in plan.accounts:
            row[f"closing_{a.name}"] = closing[a.name]
        row["portfolio_closing"] = sum(closing.values())
        row["portfolio_closing_real"] = row["portfolio_closing"] / plan.inflation_factor(year + 1)
        row["after_tax_estate_real"] = sum(
            closing[n] * self.heir_keep[n] for n in closing
        ) / plan.inflation_factor(year + 1)


def _tax_columns(
    income: _YearIncome, tax: TaxResult, state_tax: float, rates: dict[str, float]
) -> dict:
    """The yearly table's income and tax columns of one year (nominal dollars); total_tax
    is federal and state tax, and the marginal rates are federal."""
    return dict(
        ordinary_withdrawals=income.ordinary,
        deductible_contributions=income.deductible,
        taxable_ordinary_yield=income.ordinary_yield,
        qualified_dividends=income.qualified_yield,
        realized_gains=income.gains,
        early_distributions=income.early,
        agi=tax.agi,
        magi=tax.magi,
        taxable_social_security=tax.taxable_social_security,
        total_deductions=tax.total_deductions,
        taxable_income=tax.taxable_income,
        ordinary_taxable_income=tax.ordinary_taxable_income,
        preferential_taxable_income=tax.preferential_taxable_income,
        ordinary_tax=tax.ordinary_tax,
        capital_gains_tax=tax.capital_gains_tax,
        niit=tax.niit,
        early_withdrawal_penalty=tax.early_withdrawal_penalty,
        federal_tax=tax.total_tax,
        state_tax=state_tax,
        total_tax=tax.total_tax + state_tax,
        marginal_ordinary_rate=rates["ordinary_income"],
        marginal_ltcg_rate=rates["ltcg"],
    )


def _opening_lots(plan: Plan, kinds: dict) -> dict[tuple, LedgerLot]:
    """One lot per taxable account and tier held today, at its basis, in units of $1."""
    lots: dict[tuple, LedgerLot] = {}
    for a in plan.accounts:
        if kinds[a.name].growth != Growth.TAXED:
            continue
        for t in plan.tiers:
            balance = a.balances.get(t.name, 0.0)
            if balance > 0:
                lots[a.name, t.name, plan.start_year, True] = LedgerLot(
                    a.name,
                    t.name,
                    plan.start_year,
                    True,
                    balance,
                    1.0,
                    a.basis_of(t.name) / balance,
                )
    return lots


def _reallocate(
    plan: Plan, decisions: Decisions, balances: dict, account: str, year: int, total_post: float
) -> None:
    """Split a sheltered account's post-trade total across tiers by the decided shares."""
    wanted = {
        t.name: max(0.0, decisions.allocation.get((account, t.name, year), 0.0)) for t in plan.tiers
    }
    wanted_total = sum(wanted.values())
    for t in plan.tiers:
        share = wanted[t.name] / wanted_total if wanted_total > 0 else 1.0 / len(plan.tiers)
        balances[account, t.name] = total_post * share


def _trade_taxable(
    plan: Plan,
    decisions: Decisions,
    balances: dict,
    lots: dict,
    account: str,
    year: int,
    contribution: float,
) -> tuple[float, float]:
    """Apply lot sales and purchases; return (cash withdrawn, realized gain)."""
    proceeds = realized = 0.0
    for (acct, tier, bought, opening, sold_year), units in decisions.lot_sales.items():
        if acct != account or sold_year != year or units <= 0:
            continue
        lot = lots.get((acct, tier, bought, opening))
        if lot is None:
            continue
        units = min(units, lot.units)
        value = units * lot.value_per_unit
        proceeds += value
        realized += units * (lot.value_per_unit - lot.basis_per_unit)
        lot.units -= units
        balances[account, tier] -= value
    bought_total = 0.0
    for t in plan.tiers:
        amount = decisions.buys.get((account, t.name, year), 0.0)
        if amount <= 0:
            continue
        bought_total += amount
        balances[account, t.name] += amount
        key = (account, t.name, year, False)
        lots[key] = LedgerLot(account, t.name, year, False, amount, 1.0, 1.0)
    for t in plan.tiers:
        balances[account, t.name] = max(0.0, balances[account, t.name])
    return contribution + proceeds - bought_total, realized


def _grow(balances: dict, lots: dict, growth: dict, tiers: dict) -> None:
    """A year's return: yields reinvested (taxable lots gain basis), then total growth."""
    for lot in lots.values():
        lot.basis_per_unit += tiers[lot.tier].yield_rate * lot.value_per_unit
        lot.value_per_unit *= growth[lot.tier]
    for key in balances:
        balances[key] *= growth[key[1]]

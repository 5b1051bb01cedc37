"""The ledger: an independent year-by-year replay of a plan's decisions.

It knows nothing of the optimization model. From the plan, the rule set and the decisions
(contributions, withdrawals, conversions, allocations, lot purchases and sales) it walks
the years with its own state: balances per account and tier, and for taxable accounts
each lot's units, value and basis; for each Roth owner, the basis by ordering layer
(taxopt.roth: Roth money beyond it is income or penalised). Taxes come from the pure tax
calculator. Its tables are what every report shows; the model's own figures are only
compared with them.

Timing: flows at the start of each year on the opening balances; yields on post-trade
holdings are paid during the year and reinvested (adding to a taxable lot's basis);
holdings then grow by the tier's total return (its deterministic return, Plan.tier_returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from taxopt.cashflows import plan_flows
from taxopt.decisions import Decisions
from taxopt.plan import Plan
from taxopt.roth import replay_decisions
from taxopt.rules import Growth, RuleSet, WithdrawalTax
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

    @property
    def lifetime_tax_real(self) -> float:
        return float((self.yearly["total_tax"] / self.yearly["inflation_factor"]).sum())

    @property
    def after_tax_estate_real(self) -> float:
        return float(self.yearly["after_tax_estate_real"].iloc[-1])


def penalty_applies(rules: RuleSet, age: int) -> bool:
    """Early-withdrawal penalty for a person whose age at the end of the year is `age`.

    Safe from the year in which that age exceeds the rule's age (59.5 -> from 60): a
    conservative reading of "attained age 59 1/2" that the model shares.
    """
    rule = rules.early_withdrawal
    return rule is not None and rule.applies(age)


def rmd_required(plan: Plan, rules: RuleSet, account_name: str, year: int, opening: float) -> float:
    """Required minimum distribution from an account in `year` (0 if none is due)."""
    account = next(a for a in plan.accounts if a.name == account_name)
    kind = rules.account_kinds[account.kind]
    if not kind.rmd or rules.rmd is None or account.owner is None:
        return 0.0
    person = plan.person(account.owner)
    age = year - person.birth_year
    if age < rules.rmd.start_age(person.birth_year):
        return 0.0
    return opening / rules.rmd.divisor(age)


def replay(plan: Plan, rules: RuleSet, decisions: Decisions) -> Ledger:
    """Walk the plan's years applying `decisions`; compute balances, gains and taxes."""
    flows = plan_flows(plan, rules)
    kinds = {a.name: rules.account_kinds[a.kind] for a in plan.accounts}
    growth = plan.tier_growth
    tiers = {t.name: t for t in plan.tiers}
    balances = {
        (a.name, t.name): a.balances.get(t.name, 0.0) for a in plan.accounts for t in plan.tiers
    }
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

    roth_draws = replay_decisions(plan, rules, decisions)  # the ordering rules, by year
    rows, holding_rows, taxes, inputs, warnings = [], [], [], [], []
    heir_keep = {
        a.name: 1.0 - plan.objective.heir_tax_rate
        if kinds[a.name].growth == Growth.DEFERRED
        else 1.0
        for a in plan.accounts
    }
    for year in plan.years:
        year_rules = rules.for_year(year, plan.inflation)
        infl = plan.inflation_factor(year)
        row: dict = {"year": year, "inflation_factor": infl}
        for person in plan.people:
            row[f"age_{person.name}"] = year - person.birth_year
        row["retired"] = year >= plan.retirement_year
        opening = {a.name: sum(balances[a.name, t.name] for t in plan.tiers) for a in plan.accounts}
        post = {}
        ordinary, deductible, early, ordinary_yield, qualified_yield, gains = (
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        )
        withdrawals_total = contributions_total = 0.0
        for a in plan.accounts:
            name, kind = a.name, kinds[a.name]
            contribution = decisions.contribution(name, year)
            converted_out = sum(
                v for (s, _d, y), v in decisions.conversions.items() if s == name and y == year
            )
            converted_in = sum(
                v for (_s, d, y), v in decisions.conversions.items() if d == name and y == year
            )
            required = rmd_required(plan, rules, name, year, opening[name])
            if kind.growth == Growth.TAXED:
                withdrawal, realized = _trade_taxable(
                    plan, decisions, balances, lots, name, year, contribution
                )
                gains += realized
            else:
                withdrawal = decisions.withdrawal(name, year)
                total_post = (
                    opening[name] + contribution - withdrawal - converted_out + converted_in
                )
                if total_post < -MONEY_TOLERANCE:
                    warnings.append(
                        f"{year} {name}: withdrawals exceed the balance by {-total_post:,.2f}"
                    )
                _reallocate(plan, decisions, balances, name, year, max(total_post, 0.0))
            if withdrawal + MONEY_TOLERANCE < required:
                warnings.append(
                    f"{year} {name}: RMD {required:,.2f} not met (withdrew {withdrawal:,.2f})"
                )
            if kind.withdrawals == WithdrawalTax.ORDINARY:
                taxable_share = 1.0 - kind.tax_free_withdrawal_fraction
                ordinary += (withdrawal + converted_out) * taxable_share
                if kind.early_withdrawal_penalty and a.owner is not None:
                    if penalty_applies(rules, year - plan.person(a.owner).birth_year):
                        early += withdrawal
            if kind.contributions == "deductible":
                deductible += contribution
            row[f"contribution_{name}"] = contribution
            row[f"withdrawal_{name}"] = withdrawal
            row[f"conversion_out_{name}"] = converted_out
            row[f"rmd_{name}"] = required
            row[f"opening_{name}"] = opening[name]
            withdrawals_total += withdrawal
            contributions_total += contribution
            post[name] = sum(balances[name, t.name] for t in plan.tiers)
        # Roth withdrawals beyond the basis the ordering rules leave free (taxopt.roth).
        roth_income = sum(d.income for d in roth_draws[year].values())
        roth_early = sum(d.early for d in roth_draws[year].values())
        ordinary += roth_income
        early += roth_early
        row.update(roth_taxable_earnings=roth_income, roth_early_distributions=roth_early)
        for a in plan.accounts:
            if kinds[a.name].growth != Growth.TAXED:
                continue
            for t in plan.tiers:
                paid = tiers[t.name].yield_rate * balances[a.name, t.name]
                if tiers[t.name].yield_character == "ordinary":
                    ordinary_yield += paid
                elif tiers[t.name].yield_character == "qualified_dividends":
                    qualified_yield += paid

        wages = sum(flows.earnings[year].values())
        social_security = flows.social_security[year]
        other = flows.other_income[year]
        income = TaxInput(
            filing_status=plan.filing_status,
            ages=plan.ages_in(year),
            ordinary_income=max(0.0, wages + other + ordinary + ordinary_yield - deductible),
            investment_ordinary_income=ordinary_yield,
            qualified_dividends=qualified_yield,
            ltcg=max(0.0, gains),
            social_security=social_security,
            early_distributions=early,
            year=year,
        )
        tax = compute_tax(year_rules, income)
        taxes.append(tax)
        inputs.append(income)
        rates = marginal_rates(year_rules, income)
        spending = (
            withdrawals_total
            + social_security
            + other
            + flows.savings[year]
            + flows.wage_tax[year]
            - contributions_total
            - tax.total_tax
        )
        row.update(
            wages=wages,
            savings_budget=flows.savings[year],
            social_security=social_security,
            other_income=other,
            contributions=contributions_total,
            withdrawals=withdrawals_total,
            roth_conversions=sum(
                v for (_s, _d, y), v in decisions.conversions.items() if y == year
            ),
            rmd_required=sum(row[f"rmd_{a.name}"] for a in plan.accounts),
            ordinary_withdrawals=ordinary,
            deductible_contributions=deductible,
            taxable_ordinary_yield=ordinary_yield,
            qualified_dividends=qualified_yield,
            realized_gains=gains,
            early_distributions=early,
            agi=tax.agi,
            taxable_social_security=tax.taxable_social_security,
            total_deductions=tax.total_deductions,
            taxable_income=tax.taxable_income,
            ordinary_taxable_income=tax.ordinary_taxable_income,
            preferential_taxable_income=tax.preferential_taxable_income,
            ordinary_tax=tax.ordinary_tax,
            capital_gains_tax=tax.capital_gains_tax,
            niit=tax.niit,
            early_withdrawal_penalty=tax.early_withdrawal_penalty,
            total_tax=tax.total_tax,
            marginal_ordinary_rate=rates["ordinary_income"],
            marginal_ltcg_rate=rates["ltcg"],
            spending=spending,
            spending_real=spending / infl,
        )
        for i, amount in enumerate(tax.bracket_fill):
            row[f"bracket_{i}_filled"] = amount
        for a in plan.accounts:
            for t in plan.tiers:
                holding_rows.append(
                    {
                        "year": year,
                        "account": a.name,
                        "tier": t.name,
                        "post_trade": balances[a.name, t.name],
                    }
                )
        _grow(plan, balances, lots, growth, tiers)
        closing = {a.name: sum(balances[a.name, t.name] for t in plan.tiers) for a in plan.accounts}
        for a in plan.accounts:
            row[f"closing_{a.name}"] = closing[a.name]
        row["portfolio_closing"] = sum(closing.values())
        row["portfolio_closing_real"] = row["portfolio_closing"] / plan.inflation_factor(year + 1)
        row["after_tax_estate_real"] = sum(
            closing[n] * heir_keep[n] for n in closing
        ) / plan.inflation_factor(year + 1)
        if spending < -MONEY_TOLERANCE:
            warnings.append(
                f"{year}: spending is negative ({spending:,.2f}): outflows exceed sources"
            )
        rows.append(row)
    return Ledger(pd.DataFrame(rows), pd.DataFrame(holding_rows), taxes, inputs, warnings)


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


def _grow(plan: Plan, balances: dict, lots: dict, growth: dict, tiers: dict) -> None:
    """A year's return: yields reinvested (taxable lots gain basis), then total growth."""
    for lot in lots.values():
        lot.basis_per_unit += tiers[lot.tier].yield_rate * lot.value_per_unit
        lot.value_per_unit *= growth[lot.tier]
    for key in balances:
        balances[key] *= growth[key[1]]

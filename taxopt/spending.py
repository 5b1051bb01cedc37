"""What the plan's spending rule asks of each retirement year (nominal dollars).

Read from the plan and the ledger's table (opening balances, income, spending), never from
the model: a second witness of the model's policy rows (model.withdrawals).

- max_spending: the first retirement year's real spending, held in every later year;
- net basis: the policy's after-tax amount (on the after-tax portfolio: tax-deferred
  balances net of profile.assumed_tax_rate, the rest at market value) plus Social Security
  and other income;
- gross basis: the policy's gross withdrawal plus income, less the withdrawal's own tax:
  the tax it and the income streams would owe as ordinary income (a withdrawal from
  tax-deferred money, Bengen's pre-tax reading; with the early-withdrawal penalty while all
  of the plan's penalised tax-deferred money is still early). Every other tax (a Roth
  conversion's, an RMD surplus's, a taxable account's yields and gains) is paid by extra
  withdrawals, so it never lowers spending below this.
"""

from __future__ import annotations

import math

import pandas as pd

from taxopt.cashflows import plan_flows
from taxopt.plan import Plan, policy_applies
from taxopt.rules import Growth, RuleSet
from taxopt.state_tax import OrdinaryParts, plan_state_tax
from taxopt.tax import TaxInput, compute_tax

# Income above the spending level worth a warning, today's dollars a year: a surplus an
# advisor would tell a client to invest.
SURPLUS_WORTH_A_NOTE_REAL = 1_000.0


def _measured(plan: Plan, rules: RuleSet, row) -> float:
    """The portfolio the policy measures at the start of a year (a ledger row): after-tax on
    the net basis (tax-deferred balances net of the assumed rate), pre-tax on the gross."""
    keep = 1.0 - plan.profile.assumed_tax_rate if plan.withdrawal.basis == "net" else 1.0
    return sum(
        row[f"opening_{a.name}"]
        * (keep if rules.account_kinds[a.kind].growth == Growth.DEFERRED else 1.0)
        for a in plan.accounts
    )


def retirement_years(plan: Plan) -> list[int]:
    return [y for y in plan.years if y >= plan.retirement_year]


def policy_amounts(plan: Plan, rules: RuleSet, yearly: pd.DataFrame) -> dict[int, float]:
    """What the withdrawal policy sets each retirement year (nominal), from the ledger's
    opening balances: a gross withdrawal, or (net basis) the portfolio's after-tax part."""
    policy, table = plan.withdrawal, yearly.set_index("year")
    years = retirement_years(plan)
    if not years:
        return {}
    start = years[0]
    base = _measured(plan, rules, table.loc[start])
    out = {}
    for year in years:
        infl = plan.inflation_factor(year)
        if policy.policy == "fixed_amount":
            out[year] = (policy.amount or 0.0) * infl
        elif policy.policy == "constant_percentage":
            out[year] = policy.rate * _measured(plan, rules, table.loc[year])
        else:
            out[year] = policy.rate * base * infl / plan.inflation_factor(start)
    return out


def fixed_policy_amounts(plan: Plan, rules: RuleSet) -> dict[int, float] | None:
    """The policy's amounts when they do not depend on the plan's decisions (a fixed amount,
    or fixed_real from today's balances), else None."""
    policy = plan.withdrawal
    if policy.policy == "constant_percentage" or (
        policy.policy == "fixed_real" and plan.retirement_year > plan.start_year
    ):
        return None
    opening = {f"opening_{a.name}": a.total for a in plan.accounts}
    today = pd.DataFrame([{"year": y, **opening} for y in retirement_years(plan)[:1]])
    return policy_amounts(plan, rules, today) if len(today) else {}


def gross_policy_tax(plan: Plan, rules: RuleSet, amounts: dict[int, float]) -> dict[int, float]:
    """Each year's tax on a gross policy withdrawal (see the module doc), nominal: federal
    and, for a plan with a state, the state's."""
    flows = plan_flows(plan, rules)
    penalised = [
        a
        for a in plan.accounts
        if rules.account_kinds[a.kind].growth == Growth.DEFERRED
        and rules.account_kinds[a.kind].early_withdrawal_penalty
        and a.owner is not None
    ]
    out = {}
    for year, amount in amounts.items():
        early = bool(penalised) and all(
            rules.withdrawal_is_early(a.kind, plan.person(a.owner).age_in(year), year)
            for a in penalised
        )
        income = TaxInput(
            filing_status=plan.filing_status,
            ages=plan.ages_in(year),
            ordinary_income=amount + flows.wages(year) + flows.other_income[year],
            social_security=flows.social_security[year],
            early_distributions=amount if early else 0.0,
            year=year,
        )
        federal = compute_tax(rules.for_year(year, plan.inflation), income)
        # The withdrawal is a traditional distribution: a state may exempt it.
        parts = OrdinaryParts(ira_distributions=amount, pension_income=flows.pensions[year])
        state = plan_state_tax(plan.state, year, plan.inflation, income, federal, parts)
        out[year] = federal.total_tax + state
    return out


def required_spending(
    plan: Plan, rules: RuleSet, yearly: pd.DataFrame, policy_tax: dict[int, float] | None = None
) -> pd.Series:
    """Each retirement year's least after-tax spending under the plan's rule (nominal).

    `policy_tax`: the gross basis's tax on the policy withdrawal each year (the figures the
    model used; gross_policy_tax). NaN where the rule sets no level.
    """
    table = yearly.set_index("year")
    years = [y for y in retirement_years(plan) if y in table.index]
    out = pd.Series(math.nan, index=years, dtype=float, name="required_spending")
    if not years:
        return out
    if not policy_applies(plan):
        level = table.at[years[0], "spending_real"]
        for year in years:
            out[year] = level * table.at[year, "inflation_factor"]
        return out
    amounts = policy_amounts(plan, rules, yearly)
    for year in years:
        income = table.at[year, "social_security"] + table.at[year, "other_income"]
        if plan.withdrawal.basis == "net":
            out[year] = amounts[year] + income
        elif policy_tax and year in policy_tax:
            out[year] = amounts[year] + income - policy_tax[year]
    return out


def spending_check(
    plan: Plan, rules: RuleSet, yearly: pd.DataFrame, policy_tax: dict[int, float] | None = None
) -> pd.DataFrame:
    """Retirement years: spending, what the rule requires, and the margin (nominal)."""
    required = required_spending(plan, rules, yearly, policy_tax)
    spending = yearly.set_index("year")["spending"].reindex(required.index)
    return pd.DataFrame(
        {
            "year": required.index,
            "spending": spending.to_numpy(),
            "required_spending": required.to_numpy(),
            "margin": (spending - required).to_numpy(),
        }
    )


def spent_surplus(
    plan: Plan, rules: RuleSet, yearly: pd.DataFrame, policy_tax: dict[int, float] | None = None
) -> list[str]:
    """Retirement years whose income above the spending rule's level is spent because no
    taxable account may take it (taxopt.plan.surplus_years): one warning with the fix."""
    if plan.withdrawal.rmd_surplus != "reinvest":
        return []  # spending an RMD surplus is what the plan asked for
    check = spending_check(plan, rules, yearly, policy_tax).set_index("year")
    inflation = yearly.set_index("year")["inflation_factor"]
    above = (check["margin"] / inflation.reindex(check.index)).dropna()
    above = above[above > SURPLUS_WORTH_A_NOTE_REAL]
    if above.empty:
        return []
    fix = (
        'set options.taxable_buys = "always" to reinvest it (a larger model)'
        if plan.options.taxable_buys != "always"
        else "add a taxable account to reinvest it"
    )
    return [
        f"in {len(above)} retirement year(s) from {int(above.index[0])}, "
        f"${above.sum():,.0f} (today's dollars) of income above the spending level is spent, "
        f"not invested: no taxable account may buy in those years; {fix}"
    ]

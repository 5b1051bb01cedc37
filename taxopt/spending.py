"""What the plan's spending rule asks of each retirement year, from the ledger's figures.

A second witness of the model's policy rows: it reads only the plan and the ledger's table
(opening balances, income, spending), never the model. Nominal dollars of each year.

- max_spending: the first retirement year's real spending, held in every later year;
- net basis: the policy's after-tax amount (on the after-tax portfolio: tax-deferred
  balances net of profile.assumed_tax_rate) plus Social Security and other income;
- gross basis: with a spending floor (Roth conversions), that floor; without one the
  policy sets withdrawals, not spending, and no year is held to a level.
"""

from __future__ import annotations

import math

import pandas as pd

from taxopt.plan import Plan, policy_applies
from taxopt.rules import Growth, RuleSet


def after_tax_opening(plan: Plan, rules: RuleSet, row) -> float:
    """The after-tax portfolio at the start of a year (a row of the ledger's table)."""
    keep = 1.0 - plan.profile.assumed_tax_rate
    return sum(
        row[f"opening_{a.name}"]
        * (keep if rules.account_kinds[a.kind].growth == Growth.DEFERRED else 1.0)
        for a in plan.accounts
    )


def required_spending(
    plan: Plan, rules: RuleSet, yearly: pd.DataFrame, floor: dict[int, float] | None = None
) -> pd.Series:
    """Each retirement year's least after-tax spending under the plan's rule (NaN: none)."""
    table = yearly.set_index("year")
    retired = [int(y) for y in table.index if y >= plan.retirement_year]
    out = pd.Series(math.nan, index=retired, dtype=float, name="required_spending")
    if not retired:
        return out
    if not policy_applies(plan):
        level = table.at[retired[0], "spending_real"]
        for year in retired:
            out[year] = level * table.at[year, "inflation_factor"]
        return out
    policy = plan.withdrawal
    if policy.basis == "gross":
        for year in retired:
            if floor and year in floor:
                out[year] = floor[year]
        return out
    start = retired[0]
    base = after_tax_opening(plan, rules, table.loc[start])
    for year in retired:
        row = table.loc[year]
        if policy.policy == "fixed_amount":
            amount = (policy.amount or 0.0) * row["inflation_factor"]
        elif policy.policy == "constant_percentage":
            amount = policy.rate * after_tax_opening(plan, rules, row)
        else:
            amount = (
                policy.rate * base * row["inflation_factor"] / table.at[start, "inflation_factor"]
            )
        out[year] = amount + row["social_security"] + row["other_income"]
    return out


def spending_check(
    plan: Plan, rules: RuleSet, yearly: pd.DataFrame, floor: dict[int, float] | None = None
) -> pd.DataFrame:
    """Retirement years: spending, what the rule requires, and the margin (nominal)."""
    required = required_spending(plan, rules, yearly, floor)
    spending = yearly.set_index("year")["spending"].reindex(required.index)
    return pd.DataFrame(
        {
            "year": required.index,
            "spending": spending.to_numpy(),
            "required_spending": required.to_numpy(),
            "margin": (spending - required).to_numpy(),
        }
    )

"""Marketplace (ACA) coverage before Medicare: which years a plan buys it, for how many, at
what benchmark premium, and the household income the premium tax credit is measured on.

The ledger, the model and the reports read these; the law itself (bands, poverty line,
cliff) is the rule set's `Aca` table (taxopt.rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxopt.plan import Plan
from taxopt.rules import RuleSet
from taxopt.tax import TaxInput, TaxResult

# The poverty line of the two states with their own HHS guidelines (plan.state codes).
AREA_OF_STATE = {"ak": "alaska", "hi": "hawaii"}


@dataclass(frozen=True)
class MarketplaceYear:
    """One year of marketplace coverage: the benchmark premium of the people covered
    (nominal dollars), the tax family's size and the poverty-line area."""

    benchmark_premium: float
    covered: int
    household_size: int
    area: str


def poverty_area(plan: Plan, rules: RuleSet) -> str:
    """The poverty line's area: Alaska's or Hawaii's for a plan there, else the 48 states'."""
    area = AREA_OF_STATE.get(plan.state or "")
    if rules.aca is None or area not in rules.aca.poverty_line_by_area:
        return "contiguous"
    return area


def marketplace_years(plan: Plan, rules: RuleSet) -> dict[int, MarketplaceYear]:
    """The years the plan buys marketplace coverage (from `aca.from_year`, default the
    retirement year, while someone named is before Medicare), keyed by year."""
    if plan.aca is None or rules.aca is None:
        return {}
    aca = plan.aca
    start = aca.from_year if aca.from_year is not None else plan.retirement_year
    size = aca.household_size or len(plan.people)
    area = poverty_area(plan, rules)
    out = {}
    for year in plan.years:
        if year < start:
            continue
        until = rules.for_year(year, plan.inflation).aca.until_age
        people = [name for name in aca.benchmark_premium if plan.person(name).age_in(year) < until]
        if not people:
            continue
        real = sum(aca.benchmark_premium[name] for name in people)
        out[year] = MarketplaceYear(real * plan.inflation_factor(year), len(people), size, area)
    return out


def household_income(tax_input: TaxInput, tax: TaxResult) -> float:
    """MAGI for the premium tax credit (IRC §36B(d)(2)(B)): AGI plus the Social Security
    benefits not included in it (plans hold no tax-exempt interest), the same year."""
    return credit_income(tax, tax_input.social_security)


def credit_income(tax: Any, social_security: Any) -> Any:
    """`household_income` from a tax result of one household or of many paths (arrays):
    its MAGI plus the part of `social_security` it left out of income."""
    return tax.magi + social_security - tax.taxable_social_security

"""The plan's fixed cash flows by year: savings, wages, income streams, tax on wages.

Plan interpretation shared by the model, the ledger and the simulator (not decisions):
amounts are nominal dollars of each year.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxopt.plan import IncomeStream, Plan
from taxopt.rules import RuleSet
from taxopt.state_tax import OrdinaryParts, plan_state_tax
from taxopt.tax import TaxInput, compute_tax


@dataclass(frozen=True)
class PlanFlows:
    contribution_years: list[int]
    savings: dict[int, float]  # out-of-pocket savings to invest
    earnings: dict[int, dict[str, float]]  # wages by person
    social_security: dict[int, float]
    other_income: dict[int, float]  # pensions and other taxable streams
    wage_tax: dict[int, float]  # federal and state tax on wages alone
    pensions: dict[int, float]  # the pension part of other_income (states may exempt it)

    def wages(self, year: int) -> float:
        return sum(self.earnings[year].values())


def plan_flows(plan: Plan, rules: RuleSet) -> PlanFlows:
    c = plan.contributions
    last_contribution = c.until_year if c.until_year is not None else plan.retirement_year - 1
    contribution_years = [y for y in plan.years if y <= last_contribution]
    savings, earnings, social_security, other_income, wage_tax = {}, {}, {}, {}, {}
    pensions: dict[int, float] = {}
    for y in plan.years:
        infl = plan.inflation_factor(y)
        real = 0.0
        if y <= last_contribution:
            real = c.yearly_amount * (1.0 + c.growth) ** (y - plan.start_year)
            if y == plan.start_year:
                real += c.initial
        savings[y] = real * infl
        by_person = {}
        for e in plan.earnings:
            until = e.until_year if e.until_year is not None else plan.retirement_year - 1
            by_person[e.person] = e.annual * infl if y <= until else 0.0
        earnings[y] = by_person
        ss = other = pension = 0.0
        for stream in plan.income:
            amount = stream_amount(plan, stream, y, rules)
            if stream.kind == "social_security":
                ss += amount
            else:
                other += amount
                pension += amount if stream.kind == "pension" else 0.0
        social_security[y], other_income[y], pensions[y] = ss, other, pension
        # Savings are out-of-pocket: the tax a deductible contribution saves (or taxable
        # yields cost) is measured against the tax on wages alone.
        wages = sum(by_person.values())
        wage_tax[y] = 0.0
        if wages > 0:
            income = TaxInput(plan.filing_status, plan.ages_in(y), ordinary_income=wages, year=y)
            federal = compute_tax(rules.for_year(y, plan.inflation), income)
            wage_tax[y] = federal.total_tax + plan_state_tax(
                plan.state, y, plan.inflation, income, federal, OrdinaryParts()
            )
    return PlanFlows(
        contribution_years, savings, earnings, social_security, other_income, wage_tax, pensions
    )


@dataclass(frozen=True)
class Claim:
    """A Social Security benefit given at full retirement age, as claimed (today's dollars)."""

    owner: str
    claim_age: int
    claim_year: int
    factor: float  # the benefit over the one at full retirement age
    annual_real: float  # the benefit a year once claimed, today's dollars


def claim_of(plan: Plan, stream: IncomeStream, rules: RuleSet) -> Claim:
    """The claim a stream given by `pia_annual` makes. A claiming age still to choose
    counts from the full retirement age (rounded up to a whole year) wherever the plan's
    flows are read before taxopt.claiming has chosen it (input checks); optimize always
    chooses first."""
    table = rules.social_security
    birth_year = plan.person(stream.owner).birth_year
    age = stream.claim_age
    if stream.claim_to_choose:
        ages = table.claim_ages()
        fra_years = -(-table.full_retirement_age_months(birth_year) // 12)
        age = min(max(fra_years, ages[0]), ages[-1])
    factor = table.benefit_factor(birth_year, age)
    return Claim(
        stream.owner,
        age,
        birth_year + age,
        factor,
        stream.pia_annual * factor,
    )


def stream_amount(plan: Plan, stream: IncomeStream, year: int, rules: RuleSet) -> float:
    """Nominal amount of an income stream in `year`."""
    if stream.claimed_by_age:
        claim = claim_of(plan, stream, rules)
        return claim.annual_real * plan.inflation_factor(year) if year >= claim.claim_year else 0.0
    if stream.start_year is not None:
        start = stream.start_year
    else:
        start = plan.person(stream.owner).birth_year + stream.start_age
    if year < start or (stream.end_year is not None and year > stream.end_year):
        return 0.0
    if stream.inflation_adjusted:
        return stream.annual * plan.inflation_factor(year)
    # A nominal stream (pension without COLA): today's amount grown to its start year only.
    return stream.annual * plan.inflation_factor(max(start, plan.start_year))

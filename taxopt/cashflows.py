"""The plan's fixed cash flows by year: savings, wages, income streams, tax on wages.

Plan interpretation shared by the model, the ledger and the simulator (not decisions):
amounts are nominal dollars of each year.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxopt.plan import PUBLIC_PENSIONS, IncomeStream, Plan
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


def earned_income_before(earnings: dict[int, dict[str, float]], year: int, person: str) -> float:
    """`person`'s earned income of the year before `year` (nominal), for a contribution
    limit that is a fraction of it (Canada's RRSP, ITA s.146(1)); in the plan's first year,
    that year's own earnings stand in for the year before it."""
    before = earnings.get(year - 1, earnings[year])
    return before.get(person, 0.0)


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
            if stream.kind in PUBLIC_PENSIONS:
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


@dataclass(frozen=True)
class SpousalTopUp:
    """What a spouse draws on the other's record beyond the own benefit (today's dollars)."""

    owner: str
    start_year: int  # when both have claimed
    factor: float  # reduction for the owner's age then (1: at or past full retirement age)
    annual_real: float  # (spousal_fraction x the other's PIA - own PIA) x factor


def spousal_top_up(plan: Plan, stream: IncomeStream, rules: RuleSet) -> SpousalTopUp | None:
    """The spouse's benefit the owner of a claimed stream adds on a married couple's other
    claimed stream, when half the other's PIA exceeds the owner's own (42 USC §402(b),
    (k)(3)): from the year both have claimed (deemed filing), reduced for the owner's age
    then (RuleSet.social_security.spousal_factor). None: no top-up (one person, a benefit
    given as claimed, a rule set without spousal figures, or an own PIA as large)."""
    table = rules.social_security
    if (
        not stream.claimed_by_age
        or table is None
        or table.spousal_fraction is None
        or rules.people_covered(plan.filing_status) < 2
    ):
        return None
    other = next((s for s in plan.income if s.claimed_by_age and s.owner != stream.owner), None)
    if other is None:
        return None
    excess = table.spousal_fraction * other.pia_annual - stream.pia_annual
    if excess <= 0:
        return None
    start = max(claim_of(plan, stream, rules).claim_year, claim_of(plan, other, rules).claim_year)
    born = plan.person(stream.owner).birth_year
    factor = table.spousal_factor(born, start - born)
    return SpousalTopUp(stream.owner, start, factor, excess * factor)


def stream_amount(plan: Plan, stream: IncomeStream, year: int, rules: RuleSet) -> float:
    """Nominal amount of an income stream in `year` (a claimed benefit with its spousal
    top-up)."""
    if stream.claimed_by_age:
        claim = claim_of(plan, stream, rules)
        real = claim.annual_real if year >= claim.claim_year else 0.0
        top_up = spousal_top_up(plan, stream, rules)
        if top_up is not None and year >= top_up.start_year:
            real += top_up.annual_real
        return real * plan.inflation_factor(year)
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

"""Contributions: routing the plan's savings within each account kind's limits.

Symbols: c[t,a] = `contribute` (nominal dollars), L_j(age) the rule set's limit j for a
person of that age at the end of year t (with catch-up, `ContributionLimit.for_age`; for a
limit with an `earned_income_fraction`, at most that fraction of the person's wages the
year before, `ContributionLimit.for_earned_income`: Canada's RRSP deduction limit),
W[t,p] the person's wages, A[t,f] a fixed routing's amount (today's dollars x inflation).

Rows (constraint families):
- limit[t,p,j]:             sum_{a owned by p, kind in limit j} c[t,a] <= L_j(age_p)
  (IRC §402(g) elective deferrals, §219(b)/§408A(c) IRA limits; §414(v) catch-up);
- compensation[t,p]:        sum_{a in any limit} c[t,a] <= W[t,p]    (IRC §219(b)(1)(B));
- fixed_contribution[t,a]:  c[t,a] >= A[t,f]                           (the plan's routing).
"""

from __future__ import annotations

from taxopt.cashflows import earned_income_before
from taxopt.model.context import ModelContext, lin


def add_contributions(ctx: ModelContext) -> None:
    """Rows limit, compensation and fixed_contribution (see the module docstring)."""
    ctx.declare_rows("limit", dims=("year", "person", "limit"))
    ctx.declare_rows("compensation", dims=("year", "person"))
    ctx.declare_rows("fixed_contribution", dims=("year", "account"))
    contribute = ctx.variables["contribute"]
    plan = ctx.plan
    for year in ctx.contribution_years:
        rules = ctx.rules_by_year[year]
        for person in plan.people:
            age = year - person.birth_year
            limited_terms: dict = {}
            for limit in rules.contribution_limits:
                terms = {
                    contribute[year, a.name]: 1.0
                    for a in ctx.accounts
                    if a.owner == person.name
                    and a.kind in limit.account_kinds
                    and (year, a.name) in contribute
                }
                if terms:
                    earned = earned_income_before(ctx.earnings, year, person.name)
                    ctx.constrain(
                        "limit",
                        (year, person.name, limit.name),
                        lin(terms) <= limit.for_earned_income(age, earned),
                    )
                    limited_terms.update(terms)
            if limited_terms:
                wages = ctx.earnings[year].get(person.name, 0.0)
                ctx.constrain("compensation", (year, person.name), lin(limited_terms) <= wages)
        for fixed in plan.contributions.fixed:
            if fixed.until_year is not None and year > fixed.until_year:
                continue
            var = contribute.get((year, fixed.account))
            if var is not None:
                amount = fixed.annual * ctx.inflation[year]
                ctx.constrain("fixed_contribution", (year, fixed.account), var >= amount)


def deductible_contributions(ctx: ModelContext, year: int) -> dict:
    """{contribution variable: 1} for contributions that reduce taxable income."""
    return {
        var: 1.0
        for (y, account), var in ctx.variables["contribute"].items.items()
        if y == year and ctx.kind[account].contributions == "deductible"
    }

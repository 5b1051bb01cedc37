"""Contributions: routing the plan's savings within each account kind's limits."""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin


def add_contributions(ctx: ModelContext) -> None:
    """Per-person limits (with catch-up), compensation caps and fixed routings."""
    contribute = ctx.x["contribute"]
    plan = ctx.plan
    for year in ctx.contribution_years:
        rules = ctx.rules_by_year[year]
        for person in plan.people:
            age = year - person.birth_year
            limited_terms: dict = {}
            for limit in rules.contribution_limits:
                terms = {
                    contribute[a.name, year]: 1.0
                    for a in ctx.accounts
                    if a.owner == person.name
                    and a.kind in limit.account_kinds
                    and (a.name, year) in contribute
                }
                if terms:
                    ctx.constrain(
                        f"limit_{year}_{person.name}_{limit.name}",
                        lin(terms) <= limit.for_age(age),
                    )
                    limited_terms.update(terms)
            if limited_terms:
                # Retirement-account contributions need earned income (IRC §219(b)(1)(B)).
                wages = ctx.earnings[year].get(person.name, 0.0)
                ctx.constrain(f"compensation_{year}_{person.name}", lin(limited_terms) <= wages)
        for fixed in plan.contributions.fixed:
            if fixed.until_year is not None and year > fixed.until_year:
                continue
            var = contribute.get((fixed.account, year))
            if var is not None:
                amount = fixed.annual * ctx.inflation[year]
                ctx.constrain(f"fixed_contribution_{year}_{fixed.account}", var >= amount)


def deductible_contributions(ctx: ModelContext, year: int) -> dict:
    """{contribution variable: 1} for contributions that reduce taxable income."""
    return {
        var: 1.0
        for (account, y), var in ctx.x["contribute"].items()
        if y == year and ctx.kind[account].contributions == "deductible"
    }

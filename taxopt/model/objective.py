"""The objective, the after-tax estate and the bequest floor (all in today's dollars)."""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin

# Weight of the after-tax estate as a tie-breaker when spending is the objective: a dollar
# of today's spending per year outranks any estate difference the solver could trade for it.
ESTATE_TIE_BREAK = 1e-4


def estate_terms(ctx: ModelContext) -> dict:
    """{holding variable: coef}: after-tax estate at the end of the horizon, today's dollars.

    Tax-deferred balances count net of the heirs' tax; taxable accounts at market value
    (US step-up in basis at death); exempt accounts in full.
    """
    heir_rate = ctx.plan.objective.heir_tax_rate
    terms = {}
    for account in ctx.accounts:
        keep = 1.0 - heir_rate if account.name in ctx.deferred else 1.0
        for tier in ctx.tiers:
            var = ctx.x["hold"][account.name, tier.name, ctx.last_year]
            terms[var] = ctx.growth[tier.name] * keep / ctx.end_inflation
    return terms


def add_objective(ctx: ModelContext) -> None:
    objective = ctx.plan.objective
    estate = lin(estate_terms(ctx))
    ctx.x["estate_real"][None] = estate
    ctx.constrain("bequest_floor", estate >= objective.bequest_floor)
    if objective.kind == "max_spending":
        ctx.prob.setObjective(lin({ctx.x["spending_level"][None]: 1.0}) + ESTATE_TIE_BREAK * estate)
        ctx.prob.sense = -1  # maximize
    elif objective.kind == "max_estate":
        ctx.prob.setObjective(estate)
        ctx.prob.sense = -1
    else:  # min_tax: lifetime tax in today's dollars, plus the heirs' tax on deferred money
        heir = objective.heir_tax_rate
        terms = {ctx.x["tax"][y]: 1.0 / ctx.inflation[y] for y in ctx.years}
        for account in ctx.deferred:
            for tier in ctx.tiers:
                var = ctx.x["hold"][account, tier.name, ctx.last_year]
                terms[var] = heir * ctx.growth[tier.name] / ctx.end_inflation
        ctx.prob.setObjective(lin(terms) - ESTATE_TIE_BREAK * estate)
        ctx.prob.sense = 1

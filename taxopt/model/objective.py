"""The objective, the after-tax estate and the bequest floor (all in today's dollars).

Symbols: h[T,a,k] the last year's holdings, g_k the tier's growth factor, r_h the heirs'
tax rate on tax-deferred money, i[t] the inflation factor (i_end after the last year),
E = sum_{a,k} h[T,a,k] g_k (1 - r_h [a tax-deferred]) / i_end the after-tax estate
(expression `estate_real`; taxable accounts at market value: step-up in basis at death,
IRC §1014), F the bequest floor (today's dollars).

Rows (constraint families):
- bequest_floor:   E >= F
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin

# Weight of the tie-break when spending is the objective: a dollar of today's spending per
# year outranks any estate or tax difference the solver could trade for it (1e-4 x a few
# hundred thousand dollars is cents of spending a year).
ESTATE_TIE_BREAK = 1e-4
TAX_TIE_BREAK = 1e-6  # max_estate on the net basis: ties in the estate go to later tax
GAIN_TIE_BREAK = 1e-6
# min_tax: a dollar that must leave the portfolio (an RMD surplus spent) costs this much
# against a full dollar of tax, so the model spends it rather than book it as tax the law
# does not charge (tax rows bound tax from below only).
BEYOND_POLICY_WEIGHT = 1.0 - 1e-4
# Cost per today's dollar of every gross flow (withdrawal, contribution, conversion, taxable
# purchase and sale): among plans that are otherwise equal it picks the one without money
# going round in circles (a conversion into a Roth that is drawn the same year, ...). It
# can cost the objective at most this times the plan's lifetime gross flows (under $1 for
# flows under $3.3 million, today's dollars); on the examples it costs nothing (tests).
# Much smaller costs sit at the solver's tolerances, where its interior point stalls.
FLOW_TIE_BREAK = 3e-7


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
            var = ctx.variables["hold"][ctx.last_year, account.name, tier.name]
            g = ctx.growth_factor(tier.name, ctx.last_year)
            terms[var] = g * keep / ctx.end_inflation
    return terms


def lifetime_tax_terms(ctx: ModelContext) -> dict:
    """{tax variable: 1/inflation}: lifetime tax in today's dollars."""
    tax = ctx.variables["tax"]
    return {tax[y]: 1.0 / ctx.inflation[y] for y in ctx.years}


def tax_present_value_terms(ctx: ModelContext) -> dict:
    """{tax variable: discount factor}: lifetime tax at present value (Plan.discount_rate)."""
    tax = ctx.variables["tax"]
    return {tax[y]: ctx.plan.discount_factor(y) for y in ctx.years}


def present_value_terms(ctx: ModelContext) -> dict:
    """{variable: coef}: after-tax estate less lifetime tax, both as present values at the
    plan's discount rate (Plan.discount_factor), nominal dollars of each year."""
    at_end = ctx.plan.discount_factor(ctx.last_year + 1)
    terms = {var: coef * ctx.end_inflation * at_end for var, coef in estate_terms(ctx).items()}
    for var, factor in tax_present_value_terms(ctx).items():
        terms[var] = -factor
    return terms


def gross_flow_terms(ctx: ModelContext) -> dict:
    """{flow variable: 1/inflation}: every gross flow of the plan in today's dollars."""
    terms: dict = {}
    for family in ("withdraw", "contribute", "convert", "buy"):
        for key, var in ctx.variables[family].items.items():
            terms[var] = 1.0 / ctx.inflation[key[0]]
    for lot in ctx.lots:
        for year, sale in lot.sales.items():
            terms[sale] = lot.value_per_unit[year] / ctx.inflation[year]
    return terms


def beyond_policy_terms(ctx: ModelContext) -> dict:
    """{variable: weight/inflation}: dollars spent or withdrawn beyond the policy, today's
    dollars, each weighed a hair under a dollar of tax (BEYOND_POLICY_WEIGHT)."""
    return {
        var: BEYOND_POLICY_WEIGHT / ctx.inflation[y]
        for y, var in ctx.variables["beyond_policy"].items.items()
    }


def add_objective(ctx: ModelContext) -> None:
    """Set the objective; every objective pushes tax down so tax variables stay exact.

    Tax constraints bound tax from below only; an objective indifferent to tax could
    overstate it. max_spending and max_estate therefore subtract a small multiple of the
    lifetime tax (max_estate on the gross basis a full one, see below).

    Ties go toward tax paid later. max_spending breaks ties between plans of equal spending
    by their present value: the after-tax estate less the lifetime tax, each discounted at
    the plan's discount rate. Of two plans paying the same tax in different years the later
    one wins, and a dollar of tax paid now to leave the heirs a dollar more (present value)
    is no gain. (The estate weighed a hundred times the tax, in today's dollars, which
    favoured paying tax early for a slightly larger estate.) max_estate on the net basis
    breaks ties in the estate by the lifetime tax at present value.

    Row bequest_floor: E >= F (the after-tax estate at least the plan's bequest floor,
    today's dollars; see the module docstring).
    """
    objective = ctx.plan.objective
    estate = lin(estate_terms(ctx))
    lifetime_tax = lin(lifetime_tax_terms(ctx))
    # Gains that could be losses are bounded from below only; a small cost per dollar keeps
    # the variable at max(0, gains) even where no tax depends on it. Gross flows carry a
    # smaller cost that breaks ties against circular flows (see FLOW_TIE_BREAK).
    gain = ctx.variables["gain"]
    penalty = lin({gain[y]: GAIN_TIE_BREAK / ctx.inflation[y] for y in ctx.rows["gain_floor"]})
    penalty += FLOW_TIE_BREAK * lin(gross_flow_terms(ctx))
    ctx.expressions.declare("estate_real").set((), estate)
    ctx.declare_rows("bequest_floor", dims=())
    ctx.constrain("bequest_floor", (), estate >= objective.bequest_floor)
    if objective.kind == "max_spending":
        level = lin({ctx.variables["spending_level"][()]: 1.0})
        tie_break = lin(present_value_terms(ctx))
        ctx.prob.setObjective(level + ESTATE_TIE_BREAK * tie_break - penalty)
        ctx.prob.sense = -1  # maximize
    elif objective.kind == "max_estate":
        if ctx.plan.withdrawal.basis == "net":
            # Spending is the policy's: every dollar of tax comes out of the estate already.
            tax_pv = lin(tax_present_value_terms(ctx))
            ctx.prob.setObjective(estate - TAX_TIE_BREAK * tax_pv - penalty)
        else:
            # With the policy fixing gross withdrawals, each dollar of tax saved is a dollar
            # more after-tax spending: maximize the estate plus that spending (= estate -
            # lifetime tax + a constant), so neither is given up for nothing. Extra
            # withdrawals (a conversion's tax, an RMD surplus spent) leave the estate.
            ctx.prob.setObjective(estate - lifetime_tax - penalty)
        ctx.prob.sense = -1
    else:  # min_tax: lifetime tax in today's dollars, plus the heirs' tax on deferred money
        heir = objective.heir_tax_rate
        terms = lifetime_tax_terms(ctx)
        for account in ctx.deferred:
            for tier in ctx.tiers:
                var = ctx.variables["hold"][ctx.last_year, account, tier.name]
                g = ctx.growth_factor(tier.name, ctx.last_year)
                terms[var] = heir * g / ctx.end_inflation
        # A dollar spent beyond the policy counts as a dollar lost, so spending it is never
        # a way to owe less tax later: it happens only when an RMD forces it.
        terms.update(beyond_policy_terms(ctx))
        ctx.prob.setObjective(lin(terms) - ESTATE_TIE_BREAK * estate + penalty)
        ctx.prob.sense = 1

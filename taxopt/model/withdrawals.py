"""Cash flow, spending and the withdrawal policy; RMDs; which withdrawals are early.

Each year: withdrawals + income streams + savings (+ the tax on wages alone, see context)
= contributions + income tax + spending. Spending is after-tax money for the household;
before retirement the household lives on wages outside the model.

Retirement spending, by objective and the policy's basis (nominal dollars, year t):
- max_spending: spend[t] >= level x inflation[t] (the policy is not used);
- net basis: spend[t] = policy[t] + income[t] (+ RMD surplus spent), policy[t] on the
  after-tax portfolio; every tax is paid beside it, so no tax can lower spending;
- gross basis: withdrawals[t] - contributions[t] = policy[t] + extra[t] and
  spend[t] >= policy[t] + income[t] - policy_tax[t]: the policy's withdrawal pays its own
  tax (taxopt.spending.gross_policy_tax, a constant); extra >= 0 withdrawals pay every
  other tax (a conversion's, an RMD surplus's, taxable yields' and gains') and an RMD
  surplus spent.
"""

from __future__ import annotations

import math

from taxopt.model.context import ModelContext, lin, total


def add_withdrawals(ctx: ModelContext) -> None:
    _add_rmds(ctx)
    _add_cash_flow(ctx)
    if ctx.plan.objective.kind == "max_spending":
        _add_spending_floor(ctx)
    elif ctx.plan.withdrawal.basis == "net":
        _add_net_policy(ctx)
    else:
        _add_gross_policy(ctx)


def portfolio_opening(ctx: ModelContext, year: int):
    """Pre-tax portfolio value at the start of `year`, before its flows."""
    return total(ctx.x["opening"][a.name, t.name, year] for a in ctx.accounts for t in ctx.tiers)


def rmd_divisor(ctx: ModelContext, account: str, year: int) -> float | None:
    """Uniform Lifetime Table divisor if the owner must take an RMD from `account` in `year`."""
    rules = ctx.base_rules
    if not ctx.kind[account].rmd or rules.rmd is None:
        return None
    age = ctx.owner_age(account, year)
    owner = next(a.owner for a in ctx.accounts if a.name == account)
    if age is None or age < rules.rmd.start_age(ctx.plan.person(owner).birth_year):
        return None
    return rules.rmd.divisor(age)


def _add_rmds(ctx: ModelContext) -> None:
    """withdraw[a, t] >= opening[a, t] / divisor; the implied taxable account (opened for RMD
    surplus, see plan.with_implied_taxable) takes no more than the year's RMDs."""
    due: dict[int, list] = {}
    for account in ctx.deferred:
        for year in ctx.years:
            divisor = rmd_divisor(ctx, account, year)
            if divisor is None:
                continue
            opening = total(ctx.x["opening"][account, t.name, year] for t in ctx.tiers)
            required = (1.0 / divisor) * opening
            due.setdefault(year, []).append(required)
            ctx.constrain(f"rmd_{year}_{account}", ctx.x["withdraw"][account, year] - required >= 0)
    for (account, year), var in ctx.x["contribute"].items():
        if account in ctx.implied:
            ctx.constrain(f"rmd_surplus_{year}_{account}", var - total(due.get(year, [])) <= 0)


def early_withdrawals(ctx: ModelContext, year: int) -> dict:
    """{withdraw variable: 1} for withdrawals subject to the early-withdrawal penalty.

    Age is taken at the end of the year (year - birth year); a person is safe from the
    year in which that age exceeds the rule's age (59.5 -> from age 60), a conservative
    reading of "attained age 59 1/2".
    """
    rule = ctx.base_rules.early_withdrawal
    if rule is None:
        return {}
    terms = {}
    for account in ctx.accounts:
        if not ctx.kind[account.name].early_withdrawal_penalty:
            continue
        age = ctx.owner_age(account.name, year)
        if age is not None and age <= math.floor(rule.age):
            terms[ctx.x["withdraw"][account.name, year]] = 1.0
    return terms


def _add_cash_flow(ctx: ModelContext) -> None:
    spend, tax = ctx.x["spend"], ctx.x["tax"]
    for year in ctx.years:
        spend[year] = ctx.var(f"spend_{year}")
        terms = {ctx.x["withdraw"][a.name, year]: 1.0 for a in ctx.accounts}
        for (_account, y), var in ctx.x["contribute"].items():
            if y == year:
                terms[var] = -1.0
        terms[spend[year]] = -1.0
        sources = (
            ctx.social_security[year]
            + ctx.other_income[year]
            + ctx.savings[year]
            + ctx.wage_tax[year]
        )
        ctx.constrain(f"cash_flow_{year}", lin(terms, sources) - tax[year] == 0)


def _add_spending_floor(ctx: ModelContext) -> None:
    """max_spending: spending >= level (today's dollars) x inflation in each retirement year."""
    level = ctx.var("spending_level_real")
    ctx.x["spending_level"][None] = level
    for year in ctx.years:
        if ctx.is_retired(year):
            ctx.constrain(
                f"spending_floor_{year}",
                ctx.x["spend"][year] - ctx.inflation[year] * level >= 0,
            )


def after_tax_portfolio_opening(ctx: ModelContext, year: int):
    """After-tax portfolio at the start of `year`: tax-deferred balances net of the
    household's assumed tax rate (profile.assumed_tax_rate), the rest at market value."""
    keep = 1.0 - ctx.plan.profile.assumed_tax_rate
    return total(
        (keep if a.name in ctx.deferred else 1.0) * ctx.x["opening"][a.name, t.name, year]
        for a in ctx.accounts
        for t in ctx.tiers
    )


def policy_amount(ctx: ModelContext, year: int):
    """What the policy sets for `year` (an expression, nominal dollars): the gross
    withdrawal (gross basis) or the portfolio's after-tax part of spending (net basis)."""
    policy = ctx.plan.withdrawal
    portfolio = after_tax_portfolio_opening if policy.basis == "net" else portfolio_opening
    if policy.policy == "fixed_amount":
        return lin({}, policy.amount * ctx.inflation[year])
    if policy.policy == "constant_percentage":
        return policy.rate * portfolio(ctx, year)
    # fixed_real (Bengen): rate x portfolio at retirement, then raised with inflation.
    start = max(ctx.retirement_year, ctx.first_year)
    return (policy.rate * ctx.inflation[year] / ctx.inflation[start]) * portfolio(ctx, start)


def income_streams(ctx: ModelContext, year: int) -> float:
    """Social Security and other income of `year` (nominal): spent on top of a net policy."""
    return ctx.social_security[year] + ctx.other_income[year]


def _beyond_policy(ctx: ModelContext, year: int, allowed: bool):
    """A variable for dollars beyond the policy in `year` (see module doc), or None."""
    if not allowed:
        return None
    var = ctx.var(f"beyond_policy_{year}")
    ctx.x["beyond_policy"][year] = var
    return var


def _surplus_spent(ctx: ModelContext, year: int) -> bool:
    """Whether an RMD surplus may be spent in `year` (rmd_surplus = "spend")."""
    return ctx.plan.withdrawal.rmd_surplus == "spend" and year in ctx.rmd_years


def _add_net_policy(ctx: ModelContext) -> None:
    """spend[t] = policy[t] + income[t] (+ an RMD surplus spent) in retirement years."""
    for year in ctx.years:
        if not ctx.is_retired(year):
            continue
        target = policy_amount(ctx, year) + income_streams(ctx, year)
        spend = lin({ctx.x["spend"][year]: 1.0})
        extra = _beyond_policy(ctx, year, _surplus_spent(ctx, year))
        if extra is not None:
            spend -= lin({extra: 1.0})
        ctx.constrain(f"policy_{year}", spend - target == 0)


def _add_gross_policy(ctx: ModelContext) -> None:
    """Net withdrawals (withdrawals less reinvested surplus) = policy[t] + extra[t];
    spend[t] - policy[t] >= income[t] - policy_tax[t] (see the module doc)."""
    for year in ctx.years:
        if not ctx.is_retired(year):
            continue
        amount = policy_amount(ctx, year)
        terms = {ctx.x["withdraw"][a.name, year]: 1.0 for a in ctx.accounts}
        for (_account, y), var in ctx.x["contribute"].items():
            if y == year:
                terms[var] = -1.0
        terms[_beyond_policy(ctx, year, True)] = -1.0
        ctx.constrain(f"policy_{year}", lin(terms) - amount == 0)
        tax = ctx.gross_policy_tax.get(year)
        if tax is not None:
            spend = lin({ctx.x["spend"][year]: 1.0})
            ctx.constrain(
                f"policy_spending_{year}", spend - amount >= income_streams(ctx, year) - tax
            )

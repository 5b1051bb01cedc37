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

Symbols (nominal dollars of year t): w[t,a] = `withdraw`, c[t,a] = `contribute`,
T[t] = `tax`, S[t] = `spend`, e[t] = `beyond_policy`, ell = `spending_level` (today's
dollars), O[t,a] = sum_k `opening`[t,a,k], D[t,a] the RMD divisor (RuleSet.rmd_divisor:
IRC §401(a)(9) and §4974, Treas. Reg. §1.401(a)(9)-9 Uniform Lifetime Table), I[t] =
Social Security + other income, s[t] = savings, x[t] = the tax on wages alone,
i[t] = inflation factor, P[t] = the policy amount (`policy_amount`), p[t] = the gross
basis's policy tax.

Rows (constraint families):
- rmd[t,a]:             w[t,a] - O[t,a] / D[t,a] >= 0                (RMD due, §401(a)(9))
- rmd_surplus[t,a]:     c[t,a] - sum_{a'} O[t,a'] / D[t,a'] <= 0   (implied taxable account)
- cash_flow[t]:         sum_a w[t,a] - sum_a c[t,a] - S[t] + I[t] + s[t] + x[t] - T[t] = 0
- spending_floor[t]:    S[t] - i[t] ell >= 0                           (max_spending)
- policy[t] (net):      S[t] - e[t] - P[t] - I[t] = 0
- policy[t] (gross):    sum_a w[t,a] - sum_a c[t,a] - e[t] - P[t] = 0
- policy_spending[t]:   S[t] - P[t] >= I[t] - p[t]                      (gross basis)
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin, total


def declare_withdrawals(ctx: ModelContext) -> None:
    """Variables spend[t], spending_level (max_spending) and beyond_policy[t] (the years
    the policy lets dollars go beyond it: see `_surplus_spent` and the gross basis)."""
    spend = ctx.declare("spend", ("year",))
    for year in ctx.years:
        spend.add(year)
    level = ctx.declare("spending_level", (), "spending_level_real")
    beyond = ctx.declare("beyond_policy", ("year",))
    if ctx.plan.objective.kind == "max_spending":
        level.add(())
        return
    gross = ctx.plan.withdrawal.basis != "net"
    for year in ctx.years:
        if ctx.is_retired(year) and (gross or _surplus_spent(ctx, year)):
            beyond.add(year)


def add_withdrawals(ctx: ModelContext) -> None:
    """Rows rmd, rmd_surplus, cash_flow and, by objective and basis, spending_floor or
    policy and policy_spending (see the module docstring)."""
    ctx.declare_rows("rmd", "rmd_surplus", dims=("year", "account"))
    ctx.declare_rows("cash_flow", "spending_floor", "policy", "policy_spending", dims=("year",))
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
    opening = ctx.expressions["opening"]
    return total(opening[year, a.name, t.name] for a in ctx.accounts for t in ctx.tiers)


def _add_rmds(ctx: ModelContext) -> None:
    """rmd[t,a]: w[t,a] >= O[t,a] / D[t,a]; rmd_surplus[t,a]: the implied taxable account
    (opened for RMD surplus, see plan.with_implied_taxable) takes no more than the year's
    RMDs."""
    due: dict[int, list] = {}
    opening, withdraw = ctx.expressions["opening"], ctx.variables["withdraw"]
    for account in ctx.deferred:
        for year in ctx.years:
            divisor = ctx.account_rmd_divisor(account, year)
            if divisor is None:
                continue
            balance = total(opening[year, account, t.name] for t in ctx.tiers)
            required = (1.0 / divisor) * balance
            due.setdefault(year, []).append(required)
            ctx.constrain("rmd", (year, account), withdraw[year, account] - required >= 0)
    for (year, account), var in ctx.variables["contribute"].items.items():
        if account in ctx.implied:
            ctx.constrain("rmd_surplus", (year, account), var - total(due.get(year, [])) <= 0)


def early_withdrawals(ctx: ModelContext, year: int) -> dict:
    """{withdraw variable: 1} for withdrawals subject to the early-withdrawal penalty
    (RuleSet.withdrawal_is_early, the owner's age at the end of the year)."""
    rules = ctx.base_rules
    withdraw = ctx.variables["withdraw"]
    terms = {}
    for account in ctx.accounts:
        age = ctx.owner_age(account.name, year)
        if age is not None and rules.withdrawal_is_early(account.kind, age, year):
            terms[withdraw[year, account.name]] = 1.0
    return terms


def _contributions_of(ctx: ModelContext, year: int) -> dict:
    """{contribution variable: -1} of `year` (money leaving the household's cash)."""
    return {var: -1.0 for (y, _a), var in ctx.variables["contribute"].items.items() if y == year}


def _add_cash_flow(ctx: ModelContext) -> None:
    """cash_flow[t]: withdrawals + income + savings + wage tax = contributions + T + S
    (+ P[t], the IRMAA and net marketplace premiums, when modelled)."""
    spend, tax = ctx.variables["spend"], ctx.variables["tax"]
    withdraw = ctx.variables["withdraw"]
    for year in ctx.years:
        terms = {withdraw[year, a.name]: 1.0 for a in ctx.accounts}
        terms.update(_contributions_of(ctx, year))
        terms[spend[year]] = -1.0
        # Medicare IRMAA (taxopt.model.medicare) and net marketplace premiums
        # (taxopt.model.marketplace), when modelled.
        for family in ("premium", "marketplace_premium"):
            premium = ctx.variables[family].get(year)
            if premium is not None:
                terms[premium] = -1.0
        sources = (
            ctx.social_security[year]
            + ctx.other_income[year]
            + ctx.savings[year]
            + ctx.wage_tax[year]
        )
        ctx.constrain("cash_flow", year, lin(terms, sources) - tax[year] == 0)


def _add_spending_floor(ctx: ModelContext) -> None:
    """spending_floor[t] (max_spending): S[t] >= i[t] ell in each retirement year."""
    level = ctx.variables["spending_level"][()]
    spend = ctx.variables["spend"]
    for year in ctx.years:
        if ctx.is_retired(year):
            ctx.constrain("spending_floor", year, spend[year] - ctx.inflation[year] * level >= 0)


def after_tax_portfolio_opening(ctx: ModelContext, year: int):
    """After-tax portfolio at the start of `year`: tax-deferred balances net of the
    household's assumed tax rate (profile.assumed_tax_rate), the rest at market value."""
    keep = 1.0 - ctx.plan.profile.assumed_tax_rate
    return total(
        (keep if a.name in ctx.deferred else 1.0) * ctx.expressions["opening"][year, a.name, t.name]
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


def _surplus_spent(ctx: ModelContext, year: int) -> bool:
    """Whether an RMD surplus may be spent in `year` (rmd_surplus = "spend")."""
    return ctx.plan.withdrawal.rmd_surplus == "spend" and year in ctx.rmd_years


def _add_net_policy(ctx: ModelContext) -> None:
    """policy[t] (net basis): S[t] - e[t] = P[t] + I[t] in retirement years (e[t] only
    where an RMD surplus may be spent)."""
    beyond = ctx.variables["beyond_policy"]
    for year in ctx.years:
        if not ctx.is_retired(year):
            continue
        target = policy_amount(ctx, year) + income_streams(ctx, year)
        spend = lin({ctx.variables["spend"][year]: 1.0})
        if year in beyond:
            spend -= lin({beyond[year]: 1.0})
        ctx.constrain("policy", year, spend - target == 0)


def _add_gross_policy(ctx: ModelContext) -> None:
    """policy[t] (gross basis): net withdrawals (withdrawals less reinvested surplus) =
    P[t] + e[t]; policy_spending[t]: S[t] - P[t] >= I[t] - p[t] (see the module doc)."""
    withdraw, beyond = ctx.variables["withdraw"], ctx.variables["beyond_policy"]
    for year in ctx.years:
        if not ctx.is_retired(year):
            continue
        amount = policy_amount(ctx, year)
        terms = {withdraw[year, a.name]: 1.0 for a in ctx.accounts}
        terms.update(_contributions_of(ctx, year))
        terms[beyond[year]] = -1.0
        ctx.constrain("policy", year, lin(terms) - amount == 0)
        tax = ctx.gross_policy_tax.get(year)
        if tax is not None:
            spend = lin({ctx.variables["spend"][year]: 1.0})
            ctx.constrain(
                "policy_spending", year, spend - amount >= income_streams(ctx, year) - tax
            )

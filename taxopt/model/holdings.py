"""Holdings per account, tier and year; account flows; taxable lots with exact basis.

Sheltered accounts (tax-deferred or exempt) rebalance freely: only the account total is
tied to its flows, the split across tiers is the optimizer's. Taxable accounts hold lots:
each year that buys opens a lot per tier; a sale names the lot it comes from (specific
identification), so the realized gain is exact and linear (see `Lot`).

Symbols (nominal dollars at the start of year t, after that year's flows unless stated):
h[t,a,k] = `hold` (post-trade holding of tier k in account a), O[t,a,k] = `opening`
(= h[t-1,a,k] g_k with g_k the tier's growth factor; the plan's balance in the first year),
c[t,a] = `contribute`, w[t,a] = `withdraw`, v[t,s,d] = `convert`, b[t,a,k] = `buy`,
q[t,l] = `sell` (units of lot l), u_l the lot's units (its opening balance, or b of its year),
P[t,l] = value per unit of lot l in year t. F[t,a] = c[t,a] - w[t,a] - sum_d v[t,a,d] +
sum_s v[t,s,a] is the account's net inflow (`account_flow`).

Rows (constraint families):
- balance[t,a] (sheltered a):         sum_k h[t,a,k] = sum_k O[t,a,k] + F[t,a]
- lot_capacity[l] (taxable lots):     sum_t q[t,l] <= u_l
- holding[t,a,k] (taxable a):         h[t,a,k] = O[t,a,k] + b[t,a,k] - sum_l P[t,l] q[t,l]
- cash[t,a] (taxable a):              sum_k b[t,a,k] - F[t,a] = sum_k sum_l P[t,l] q[t,l]
  (contributions + sales = purchases + withdrawals).

Gains of a sale are q (P - basis per unit) under specific identification (Treas. Reg.
§1.1012-1(c)); taxes.py turns them into the year's gain.
"""

from __future__ import annotations

from taxopt.model.context import Lot, ModelContext, lin, total

# Per-unit gains smaller than this (dollars per dollar bought) are rounding noise, not gains.
GAIN_NOISE = 1e-9


def declare_holdings(ctx: ModelContext) -> None:
    """Variables: hold, contribute, withdraw, convert, buy, sell; expression `opening`."""
    hold = ctx.declare("hold", ("year", "account", "tier"))
    for account in ctx.accounts:
        for tier in ctx.tiers:
            for year in ctx.years:
                hold.add((year, account.name, tier.name))
    opening = ctx.expressions.declare("opening", ("year", "account", "tier"))
    for account in ctx.accounts:
        for tier in ctx.tiers:
            for year in ctx.years:
                if year == ctx.first_year:
                    expr = lin({}, account.balances.get(tier.name, 0.0))
                else:
                    g = ctx.growth_factor(tier.name, year - 1)
                    expr = lin({hold[year - 1, account.name, tier.name]: g})
                opening.set((year, account.name, tier.name), expr)
    _declare_flows(ctx)
    ctx.declare("buy", ("year", "account", "tier"))
    ctx.declare("sell", ("year", "lot"))
    for name in ctx.taxable:
        _declare_lots(ctx, name)


def add_holdings(ctx: ModelContext) -> None:
    """Rows balance, lot_capacity, holding and cash (see the module docstring)."""
    ctx.declare_rows("balance", "cash", dims=("year", "account"))
    ctx.declare_rows("holding", dims=("year", "account", "tier"))
    ctx.declare_rows("lot_capacity", dims=("lot",))
    for name in ctx.sheltered:
        _add_sheltered_balance(ctx, name)
    for name in ctx.taxable:
        sold_by_tier = {}
        for tier in ctx.tiers:
            lots = [lot for lot in ctx.lots if (lot.account, lot.tier) == (name, tier.name)]
            _add_lot_capacity(ctx, lots)
            sold_by_tier[tier.name] = sold_value(ctx, lots)
            _add_tier_holdings(ctx, name, tier.name, sold_by_tier[tier.name])
        _add_taxable_cash(ctx, name, sold_by_tier)


def _declare_flows(ctx: ModelContext) -> None:
    """contribute[t, a], withdraw[t, a] and convert[t, src, dst]; allowed years only."""
    contribute = ctx.declare("contribute", ("year", "account"))
    withdraw = ctx.declare("withdraw", ("year", "account"))
    convert = ctx.declare(
        "convert", ("year", "source", "target"), "convert_{year}_{source}_to_{target}"
    )
    plan = ctx.plan
    routable = set(plan.contributions.accounts or [a.name for a in ctx.accounts])
    routable |= {f.account for f in plan.contributions.fixed}
    routable -= ctx.implied
    for account in ctx.accounts:
        for year in ctx.years:
            working = year in ctx.contribution_years
            if (working and account.name in routable) or reinvests(ctx, account.name, year):
                contribute.add((year, account.name))
            withdraw.add((year, account.name))
    if not plan.options.roth_conversions:
        return
    for source in ctx.accounts:
        target_kind = ctx.kind[source.name].convertible_to
        if target_kind is None:
            continue
        # Only into the owner's own Roth (plan.with_implied_roths opens one when needed).
        owned = [a for a in ctx.accounts if a.kind == target_kind and a.owner == source.owner]
        if not owned:
            continue
        target = owned[0]
        for year in ctx.years:
            convert.add((year, source.name, target.name))


def reinvests(ctx: ModelContext, account: str, year: int) -> bool:
    """Whether a taxable account may take surplus cash in retirement `year`
    (taxopt.plan.surplus_years: the same rule the rules of thumb follow)."""
    return year in ctx.surplus_years.get(account, ())


def taxable_buy_years(ctx: ModelContext, account: str) -> list[int]:
    """Years a taxable account may buy (and so open lots).

    "always": every year. "contribution_years" keeps the model small: the years savings
    come in, the first year, and the years it may reinvest an RMD surplus; otherwise the
    account only sells, and rebalancing happens in sheltered accounts. The implied account
    buys only with RMD surplus.
    """
    if ctx.plan.options.taxable_buys == "always" and account not in ctx.implied:
        return list(ctx.years)
    years = {y for y in ctx.years if reinvests(ctx, account, y)}
    if account not in ctx.implied:
        years |= set(ctx.contribution_years) | {ctx.first_year}
    return sorted(years)


def account_flow(ctx: ModelContext, account: str, year: int) -> dict:
    """{variable: coefficient} of money entering the account at the start of `year`: F[t,a]."""
    terms: dict = {}
    contribute = ctx.variables["contribute"]
    if (year, account) in contribute:
        terms[contribute[year, account]] = 1.0
    terms[ctx.variables["withdraw"][year, account]] = -1.0
    for (y, source, target), var in ctx.variables["convert"].items.items():
        if y != year:
            continue
        if source == account:
            terms[var] = terms.get(var, 0.0) - 1.0
        if target == account:
            terms[var] = terms.get(var, 0.0) + 1.0
    return terms


def _add_sheltered_balance(ctx: ModelContext, account: str) -> None:
    """balance[t,a]: sum_k h[t,a,k] = sum_k O[t,a,k] + F[t,a]."""
    hold, opening = ctx.variables["hold"], ctx.expressions["opening"]
    for year in ctx.years:
        terms = {hold[year, account, t.name]: 1.0 for t in ctx.tiers}
        for var, coef in account_flow(ctx, account, year).items():
            terms[var] = terms.get(var, 0.0) - coef
        lhs = lin(terms) - total(opening[year, account, t.name] for t in ctx.tiers)
        ctx.constrain("balance", (year, account), lhs == 0)


def _declare_lots(ctx: ModelContext, account: str) -> None:
    """The account's lots (ctx.lots), a buy variable per buying year and tier, and a sell
    variable per lot and year after its purchase (the opening lot sells from year one)."""
    acct = next(a for a in ctx.accounts if a.name == account)
    buy, sell = ctx.variables["buy"], ctx.variables["sell"]
    buy_years = taxable_buy_years(ctx, account)
    for tier in ctx.tiers:
        lots = _tier_lots(ctx, acct, tier.name, buy_years)
        ctx.lots.extend(lots)
        for year in buy_years:
            buy.add((year, account, tier.name))
        for lot in lots:
            if not lot.opening:
                lot.units = buy[lot.year, account, tier.name]
            for year in ctx.years:
                if year > lot.year or (year == lot.year and lot.opening):
                    lot.sales[year] = sell.add((year, lot.key))


def _add_lot_capacity(ctx: ModelContext, lots: list[Lot]) -> None:
    """lot_capacity[l]: sum_t q[t,l] <= u_l (an opening lot's units are a constant)."""
    for lot in lots:
        capacity = dict.fromkeys(lot.sales.values(), 1.0)
        if lot.opening:
            ctx.constrain("lot_capacity", lot.key, lin(capacity) <= lot.units)
        else:
            capacity[lot.units] = -1.0
            ctx.constrain("lot_capacity", lot.key, lin(capacity) <= 0)


def sold_value(ctx: ModelContext, lots: list[Lot]) -> dict[int, dict]:
    """{year: {sell variable: value per unit}} of the given lots' sales (P[t,l] q[t,l])."""
    sold: dict[int, dict] = {year: {} for year in ctx.years}
    for lot in lots:
        for year, q in lot.sales.items():
            sold[year][q] = lot.value_per_unit[year]
    return sold


def _add_tier_holdings(ctx: ModelContext, account: str, tier: str, sold: dict) -> None:
    """holding[t,a,k]: h[t,a,k] = O[t,a,k] + b[t,a,k] - sum_l P[t,l] q[t,l]."""
    hold, buy = ctx.variables["hold"], ctx.variables["buy"]
    opening = ctx.expressions["opening"]
    for year in ctx.years:
        terms = {hold[year, account, tier]: 1.0}
        terms.update(sold[year])
        if (year, account, tier) in buy:
            terms[buy[year, account, tier]] = -1.0
        ctx.constrain(
            "holding", (year, account, tier), lin(terms) - opening[year, account, tier] == 0
        )


def _add_taxable_cash(ctx: ModelContext, account: str, sold_by_tier: dict) -> None:
    """cash[t,a]: sum_k b[t,a,k] - F[t,a] = sum_k sum_l P[t,l] q[t,l]."""
    buy = ctx.variables["buy"]
    for year in ctx.years:
        terms = {v: -c for v, c in account_flow(ctx, account, year).items()}
        for tier in ctx.tiers:
            if (year, account, tier.name) in buy:
                var = buy[year, account, tier.name]
                terms[var] = terms.get(var, 0.0) + 1.0
        sales = {q: p for sold in sold_by_tier.values() for q, p in sold[year].items()}
        ctx.constrain("cash", (year, account), lin(terms) - lin(sales) == 0)


def _tier_lots(ctx: ModelContext, account, tier: str, buy_years: list[int]) -> list[Lot]:
    """The opening lot (if any balance) and one lot per buying year, with unit factors."""
    info = ctx.tier_by_name[tier]
    y = info.yield_rate
    lots = []
    balance = account.balances.get(tier, 0.0)
    if balance > 0:
        lots.append(Lot(account.name, tier, ctx.first_year, True, balance))
    lots.extend(Lot(account.name, tier, year, False, None) for year in buy_years)
    for lot in lots:
        basis0 = account.basis_of(tier) / balance if lot.opening else 1.0
        value, basis = 1.0, basis0
        for year in ctx.years:
            if year < lot.year:
                continue
            lot.value_per_unit[year] = value
            lot.basis_per_unit[year] = basis
            basis += y * value  # the year's yield, paid on this unit and reinvested
            value *= ctx.growth_factor(tier, year)
    return lots


def realized_gains(ctx: ModelContext, year: int) -> dict:
    """{sale variable: gain per unit} for every lot sale in `year` (may be negative)."""
    terms = {}
    for lot in ctx.lots:
        q = lot.sales.get(year)
        if q is not None:
            gain = lot.value_per_unit[year] - lot.basis_per_unit[year]
            if abs(gain) > GAIN_NOISE:
                terms[q] = gain
    return terms


def yield_income(ctx: ModelContext, year: int, character: str) -> dict:
    """{holding variable: yield rate} of taxable-account yields of one tax character."""
    terms = {}
    hold = ctx.variables["hold"]
    for account in ctx.taxable:
        for tier in ctx.tiers:
            if tier.yield_character == character and tier.yield_rate > 0:
                terms[hold[year, account, tier.name]] = tier.yield_rate
    return terms

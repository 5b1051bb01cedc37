"""Holdings per account, tier and year; account flows; taxable lots with exact basis.

Sheltered accounts (tax-deferred or exempt) rebalance freely: only the account total is
tied to its flows, the split across tiers is the optimizer's. Taxable accounts hold lots:
each year that buys opens a lot per tier; a sale names the lot it comes from (specific
identification), so the realized gain is exact and linear (see `Lot`).
"""

from __future__ import annotations

from taxopt.model.context import Lot, ModelContext, lin, total
from taxopt.rules import Growth


def add_holdings(ctx: ModelContext) -> None:
    """Post-trade holdings `hold[a, k, t]` and the account flows for every account."""
    hold, opening = ctx.x["hold"], ctx.x["opening"]
    for account in ctx.accounts:
        for tier in ctx.tiers:
            for year in ctx.years:
                hold[account.name, tier.name, year] = ctx.var(
                    f"hold_{year}_{account.name}_{tier.name}"
                )
    for account in ctx.accounts:
        for tier in ctx.tiers:
            g = ctx.growth[tier.name]
            for year in ctx.years:
                if year == ctx.first_year:
                    opening[account.name, tier.name, year] = lin(
                        {}, account.balances.get(tier.name, 0.0)
                    )
                else:
                    opening[account.name, tier.name, year] = lin(
                        {hold[account.name, tier.name, year - 1]: g}
                    )
    _add_flow_variables(ctx)
    for name in ctx.sheltered:
        _add_sheltered_balance(ctx, name)
    for name in ctx.taxable:
        _add_taxable_lots(ctx, name)


def _add_flow_variables(ctx: ModelContext) -> None:
    """contribute[a, t], withdraw[a, t] and convert[src, dst, t]; allowed years only."""
    contribute, withdraw, convert = ctx.x["contribute"], ctx.x["withdraw"], ctx.x["convert"]
    plan = ctx.plan
    routable = set(plan.contributions.accounts or [a.name for a in ctx.accounts])
    routable |= {f.account for f in plan.contributions.fixed}
    routable -= ctx.implied
    for account in ctx.accounts:
        for year in ctx.years:
            working = year in ctx.contribution_years
            if (working and account.name in routable) or reinvests(ctx, account.name, year):
                contribute[account.name, year] = ctx.var(f"contribute_{year}_{account.name}")
            withdraw[account.name, year] = ctx.var(f"withdraw_{year}_{account.name}")
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
            convert[source.name, target.name, year] = ctx.var(
                f"convert_{year}_{source.name}_to_{target.name}"
            )


def reinvests(ctx: ModelContext, account: str, year: int) -> bool:
    """Whether a taxable account may take surplus cash in retirement `year`.

    With `withdrawal.rmd_surplus = "reinvest"`: any retirement year when the plan lets
    taxable accounts buy always, else the years an RMD is due (an RMD above spending is the
    surplus to reinvest). The implied account (see plan.with_implied_taxable) only then.
    """
    plan = ctx.plan
    if (
        ctx.kind[account].growth != Growth.TAXED
        or not ctx.is_retired(year)
        or plan.withdrawal.rmd_surplus != "reinvest"
    ):
        return False
    if plan.options.taxable_buys == "always" and account not in ctx.implied:
        return True
    return year in ctx.rmd_years


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
    """{variable: coefficient} of money entering the account at the start of `year`."""
    terms: dict = {}
    if (account, year) in ctx.x["contribute"]:
        terms[ctx.x["contribute"][account, year]] = 1.0
    terms[ctx.x["withdraw"][account, year]] = -1.0
    for (source, target, y), var in ctx.x["convert"].items():
        if y != year:
            continue
        if source == account:
            terms[var] = terms.get(var, 0.0) - 1.0
        if target == account:
            terms[var] = terms.get(var, 0.0) + 1.0
    return terms


def _add_sheltered_balance(ctx: ModelContext, account: str) -> None:
    """sum_k hold[a,k,t] = sum_k opening[a,k,t] + inflows - outflows."""
    hold, opening = ctx.x["hold"], ctx.x["opening"]
    for year in ctx.years:
        terms = {hold[account, t.name, year]: 1.0 for t in ctx.tiers}
        for var, coef in account_flow(ctx, account, year).items():
            terms[var] = terms.get(var, 0.0) - coef
        lhs = lin(terms) - total(opening[account, t.name, year] for t in ctx.tiers)
        ctx.constrain(f"balance_{year}_{account}", lhs == 0)


def _add_taxable_lots(ctx: ModelContext, account: str) -> None:
    """Lots, sales by lot, per-tier holdings, cash balance and realized gains."""
    acct = next(a for a in ctx.accounts if a.name == account)
    hold, opening = ctx.x["hold"], ctx.x["opening"]
    buy, sell = ctx.x["buy"], ctx.x["sell"]
    buy_years = taxable_buy_years(ctx, account)
    for tier in ctx.tiers:
        lots = _tier_lots(ctx, acct, tier.name, buy_years)
        ctx.lots.extend(lots)
        for year in ctx.years:
            if year in buy_years:
                buy[account, tier.name, year] = ctx.var(f"buy_{year}_{account}_{tier.name}")
        sold_value: dict[int, dict] = {y: {} for y in ctx.years}
        for lot in lots:
            if not lot.opening:
                lot.units = buy[account, tier.name, lot.year]
            capacity = {}
            for year in ctx.years:
                if year < lot.year or (year == lot.year and not lot.opening):
                    continue
                q = ctx.var(f"sell_{year}_{lot.key}")
                sell[lot.key, year] = q
                capacity[q] = 1.0
                sold_value[year][q] = lot.value_per_unit[year]
            if lot.opening:
                ctx.constrain(f"lot_capacity_{lot.key}", lin(capacity) <= lot.units)
            else:
                capacity[lot.units] = -1.0
                ctx.constrain(f"lot_capacity_{lot.key}", lin(capacity) <= 0)
        for year in ctx.years:
            terms = {hold[account, tier.name, year]: 1.0}
            for q, value in sold_value[year].items():
                terms[q] = value
            if (account, tier.name, year) in buy:
                terms[buy[account, tier.name, year]] = -1.0
            ctx.constrain(
                f"holding_{year}_{account}_{tier.name}",
                lin(terms) - opening[account, tier.name, year] == 0,
            )
            ctx.x["sold_value"][account, tier.name, year] = lin(sold_value[year])
    for year in ctx.years:
        # Cash: contributions + sales = purchases + withdrawals.
        terms = {v: -c for v, c in account_flow(ctx, account, year).items()}
        for tier in ctx.tiers:
            if (account, tier.name, year) in buy:
                terms[buy[account, tier.name, year]] = (
                    terms.get(buy[account, tier.name, year], 0) + 1.0
                )
        expr = lin(terms) - total(ctx.x["sold_value"][account, t.name, year] for t in ctx.tiers)
        ctx.constrain(f"cash_{year}_{account}", expr == 0)


def _tier_lots(ctx: ModelContext, account, tier: str, buy_years: list[int]) -> list[Lot]:
    """The opening lot (if any balance) and one lot per buying year, with unit factors."""
    info = ctx.tier_by_name[tier]
    g, y = ctx.growth[tier], info.yield_rate
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
            value *= g
    return lots


def realized_gains(ctx: ModelContext, year: int) -> dict:
    """{sale variable: gain per unit} for every lot sale in `year` (may be negative)."""
    terms = {}
    for lot in ctx.lots:
        q = ctx.x["sell"].get((lot.key, year))
        if q is not None:
            gain = lot.value_per_unit[year] - lot.basis_per_unit[year]
            if abs(gain) > 1e-9:  # per dollar bought; below this it is rounding noise
                terms[q] = gain
    return terms


def yield_income(ctx: ModelContext, year: int, character: str) -> dict:
    """{holding variable: yield rate} of taxable-account yields of one tax character."""
    terms = {}
    for account in ctx.taxable:
        for tier in ctx.tiers:
            if tier.yield_character == character and tier.yield_rate > 0:
                terms[ctx.x["hold"][account, tier.name, year]] = tier.yield_rate
    return terms

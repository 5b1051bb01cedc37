"""The tax-free part of withdrawals whose lifetime total is capped (UK lump sum allowance).

An account kind with `tax_free_withdrawal_fraction` f takes that share of every withdrawal
(and conversion out) tax free. When the kind also has a `tax_free_lifetime_limit` L (UK:
£268,275 a person, ITEPA 2003 s.637Q), the tax-free amount is a decision instead:
at most f of the year's withdrawals from the account, and in all, over one owner's
accounts of that kind, at most L (the excess is taxed as pension income). Taking less than
f in a year is phased crystallisation: money drawn from funds already crystallised is
taxed in full. The ledger replays the amounts chosen and checks both limits; a rule of
thumb gives none, and the ledger then takes f of each withdrawal until L is used
(taxopt.ledger).

Symbols (nominal): w[t,a] = `withdraw`, v[t,a,d] = `convert`, q[t,a] = `tax_free`.

Rows:
- tax_free_share[t,a]:        f (w[t,a] + sum_d v[t,a,d]) - q[t,a] >= 0
- tax_free_lifetime[t,o,k]:   sum_{s <= t} sum_{a of owner o, kind k} q[s,a] <= L
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.rules import WithdrawalTax


def capped_accounts(ctx: ModelContext) -> list:
    """Accounts whose tax-free withdrawals have a lifetime limit (the model decides q)."""
    return [
        a
        for a in ctx.accounts
        if ctx.kind[a.name].tax_free_lifetime_limit is not None
        and ctx.kind[a.name].tax_free_withdrawal_fraction > 0
        and ctx.kind[a.name].withdrawals == WithdrawalTax.ORDINARY
    ]


def declare_tax_free(ctx: ModelContext) -> None:
    """Variables tax_free[t, a] of the capped accounts."""
    tax_free = ctx.declare("tax_free", ("year", "account"))
    for account in capped_accounts(ctx):
        for year in ctx.years:
            tax_free.add((year, account.name))


def add_tax_free(ctx: ModelContext) -> None:
    """Rows tax_free_share and tax_free_lifetime (module docstring)."""
    ctx.declare_rows("tax_free_share", dims=("year", "account"))
    ctx.declare_rows("tax_free_lifetime", dims=("year", "owner", "kind"))
    accounts = capped_accounts(ctx)
    tax_free = ctx.variables["tax_free"]
    for account in accounts:
        fraction = ctx.kind[account.name].tax_free_withdrawal_fraction
        for year in ctx.years:
            drawn = _drawn_terms(ctx, year, account.name)
            share = lin({var: fraction * coef for var, coef in drawn.items()})
            ctx.constrain(
                "tax_free_share", (year, account.name), share - tax_free[year, account.name] >= 0
            )
    groups: dict[tuple, list[str]] = {}
    for account in accounts:
        groups.setdefault((account.owner, account.kind), []).append(account.name)
    for (owner, kind_name), names in groups.items():
        limit = ctx.kind[names[0]].tax_free_lifetime_limit
        taken: dict = {}
        for year in ctx.years:
            for name in names:
                taken[tax_free[year, name]] = 1.0
            ctx.constrain("tax_free_lifetime", (year, owner, kind_name), lin(dict(taken)) <= limit)


def _drawn_terms(ctx: ModelContext, year: int, account: str) -> dict:
    """{variable: 1} of what leaves `account` in `year`: its withdrawal and conversions."""
    terms = {ctx.variables["withdraw"][year, account]: 1.0}
    for (y, source, _target), var in ctx.variables["convert"].items.items():
        if y == year and source == account:
            terms[var] = 1.0
    return terms


def taxed_withdrawal_terms(ctx: ModelContext, year: int) -> dict:
    """{variable: coef} of the year's withdrawals and conversions taxed as ordinary income:
    the whole amount less its tax-free part (f of it, or q where the part is capped)."""
    capped = {a.name for a in capped_accounts(ctx)}
    terms: dict = {}
    for account in ctx.accounts:
        kind = ctx.kind[account.name]
        if kind.withdrawals != WithdrawalTax.ORDINARY:
            continue
        free = 0.0 if account.name in capped else kind.tax_free_withdrawal_fraction
        for var, coef in _drawn_terms(ctx, year, account.name).items():
            terms[var] = terms.get(var, 0.0) + coef * (1.0 - free)
        if account.name in capped:
            terms[ctx.variables["tax_free"][year, account.name]] = -1.0
    return terms

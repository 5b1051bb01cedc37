"""Medicare IRMAA premiums in the exact model (only with `options.irmaa`).

The premiums of year t, for the people on Medicare in t, are a step function of the MAGI
of year s = t - lookback. When s is before the plan, its return is history: the premium is
the constant plan.prior_magi[s] sets, or none without it (as in the ledger).
Each tier k of year t has a binary z[t,k] = "MAGI(s) reaches tier k" on t's indexed
floors f_k (strictly above f_k, the last tier at f_k: RuleSet.medicare.irmaa):

- irmaa_below[t,k]:  z=0 => MAGI(s) - f_k <= 0   (the last tier: <= f_k - 1 cent)
- irmaa_above[t,k]:  z=1 => f_k - MAGI(s) <= 0
- irmaa_premium[t]:  P[t] - 12 n_t sum_k (m_k - m_{k-1}) z[t,k] = 0

with m_k the monthly Part B + Part D adjustment of tier k and n_t the people on Medicare.
P[t] (family `premium`) is paid in cash_flow[t]. The binaries are regime binaries keyed
to year s, so the regime search fixes them from the ledger's MAGI like the tax kinks; a
fixed z=0 makes the floor a hard ceiling on that year's MAGI (conversions stop there).
The tiers are cliffs: a regime search never leaves one it has crossed, so the search
also tries each year's plan stepped back below its highest tier (optimize: cliffs).
Fast mode has no binaries: its model leaves the premiums out (the ledger still charges
them, and the reconciliation shows them).
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin

CENT = 0.01


def irmaa_in_model(ctx: ModelContext) -> bool:
    return bool(ctx.plan.options.irmaa and ctx.exact and ctx.base_rules.medicare is not None)


def _premium_years(ctx: ModelContext) -> list[tuple[int, int, int]]:
    """(premium year t, MAGI year s, people on Medicare) of each year whose premiums the
    plan's MAGI or a given prior return sets."""
    out = []
    for t in ctx.years:
        medicare = ctx.rules_by_year[t].medicare
        if medicare is None:
            continue
        people = medicare.on_medicare(ctx.ages(t))
        s = t - medicare.lookback_years
        if people and (s >= ctx.first_year or s in ctx.plan.prior_magi):
            out.append((t, s, people))
    return out


def declare_medicare(ctx: ModelContext) -> None:
    """Family `premium[year]`: IRMAA premiums paid in the year (empty unless modelled)."""
    premium = ctx.declare("premium", ("year",))
    if irmaa_in_model(ctx):
        for t, _s, _people in _premium_years(ctx):
            premium.add(t)


def add_medicare(ctx: ModelContext) -> None:
    """Rows irmaa_premium[year], irmaa_below and irmaa_above[year, tier] (module doc)."""
    ctx.declare_rows("irmaa_premium", dims=("year",))
    ctx.declare_rows("irmaa_below", "irmaa_above", dims=("year", "tier"))
    if not irmaa_in_model(ctx):
        return
    status = ctx.plan.filing_status
    premium = ctx.variables["premium"]
    for t, s, people in _premium_years(ctx):
        medicare = ctx.rules_by_year[t].medicare
        if s < ctx.first_year:  # a return before the plan: its premium is a constant
            known = medicare.irmaa(ctx.plan.prior_magi[s], status, people).annual_surcharge
            ctx.constrain("irmaa_premium", t, lin({premium[t]: 1.0}, -known) == 0)
            continue
        floors = medicare.tiers[status].thresholds
        annual = medicare.annual_per_person()
        magi = ctx.expressions["magi"][s]
        big = ctx.money_bound(s)
        last = len(floors) - 1
        cost: dict = {premium[t]: 1.0}
        constant = 0.0
        for k, floor in enumerate(floors):
            inclusive = k == last
            reached = ctx.binary(
                f"irmaa_{t}_tier{k + 1}",
                s,
                lambda _i, r, f=floor, inc=inclusive: int(r.magi >= f if inc else r.magi > f),
                cliff=(f"irmaa_{t}", k, 0),
            )
            ceiling = floor - (CENT if inclusive else 0.0)
            ctx.implies("irmaa_below", (t, k + 1), reached, 0, magi - ceiling, big)
            # MAGI >= 0, so floor - MAGI <= floor: a plan too small for MAGI to reach the
            # floor (big < floor) must still be able to stay below it.
            ctx.implies("irmaa_above", (t, k + 1), reached, 1, floor - magi, big + floor)
            step = people * (annual[k] - (annual[k - 1] if k else 0.0))
            if isinstance(reached, int):
                constant -= step * reached
            else:
                cost[reached] = -step
        ctx.constrain("irmaa_premium", t, lin(cost, constant) == 0)

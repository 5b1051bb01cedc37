"""Marketplace premiums net of the premium tax credit (IRC §36B), in the exact model.

In a year t of marketplace coverage (taxopt.marketplace) the net premium is a function of
the same year's household income m = A + B (`other_income` plus all Social Security: AGI
plus the benefits it leaves out, §36B(d)(2)(B)). The rule set's `Aca.regions` cut the
m-line into regions r = 0..K with lower edges e_r: below the eligibility floor, each band
of the applicable percentage while the credit lasts, from where the contribution reaches
the benchmark, and above the 400% cliff. Each edge r >= 1 has a regime binary
z[t,r] = "m reaches e_r" (strictly above it for the cliff, at least it otherwise), and
region r holds when d_r = z_r - z_{r+1} = 1 (z_0 = 1, z_{K+1} = 0):

- aca_below[t,r]:  z=0 => m - e_r <= 0  (less a cent when the edge is reached at it)
- aca_above[t,r]:  z=1 => e_r - m <= 0
- aca_line[t,r,j]: l_j(m) - P - M (1 - d_r) <= 0  (a band region: the chords l_j of the
  required contribution, convex within the band, through points close enough that no
  chord lies more than CHORD_TOLERANCE_DOLLARS above it: conservative by at most that)
- aca_full[t,r]:   b d_r - P <= 0  (a region without credit: the benchmark premium b)

P[t] (family `marketplace_premium`) is paid in cash_flow[t]; the objective pushes it down
to the largest of its bounds. The binaries are regime binaries fixed by the regime search
like the tax kinks; because a fixed regime holds m inside one region, they are also
`free_kinks`: the optimizer solves one MILP with them free and every other kink fixed
(taxopt.optimize), so the plan may stay under the cliff in some years and cross it in
others. Fast mode has no binaries: its model leaves the premiums out (the ledger still
charges them, and the reconciliation shows them).
"""

from __future__ import annotations

import math

from taxopt.marketplace import household_income, marketplace_years
from taxopt.model.context import ModelContext, lin

CENT = 0.01
CHORD_TOLERANCE_DOLLARS = 0.1  # the most a chord may lie above the required contribution
# A chord over width h of a function with second derivative c lies at most c h^2 / SAG above.
SAG = 8.0


def marketplace_in_model(ctx: ModelContext) -> bool:
    return bool(ctx.exact and ctx.plan.aca is not None and ctx.base_rules.aca is not None)


def declare_marketplace(ctx: ModelContext) -> None:
    """Family `marketplace_premium[year]` (empty unless modelled) and expression
    `aca_magi[year]` (household income for the credit)."""
    premium = ctx.declare("marketplace_premium", ("year",))
    ctx.expressions.declare("aca_magi", ("year",))
    if marketplace_in_model(ctx):
        for t in marketplace_years(ctx.plan, ctx.base_rules):
            premium.add(t)


def add_marketplace(ctx: ModelContext) -> None:
    """Rows aca_below, aca_above [year, edge], aca_line [year, region, chord], aca_full
    [year, region] (module doc)."""
    ctx.declare_rows("aca_below", "aca_above", dims=("year", "edge"))
    ctx.declare_rows("aca_line", dims=("year", "region", "chord"))
    ctx.declare_rows("aca_full", dims=("year", "region"))
    if not marketplace_in_model(ctx):
        return
    premium = ctx.variables["marketplace_premium"]
    for t, bought in marketplace_years(ctx.plan, ctx.base_rules).items():
        aca = ctx.rules_by_year[t].aca
        size, area, benchmark = bought.household_size, bought.area, bought.benchmark_premium
        magi = ctx.expressions["other_income"][t] + ctx.social_security[t]
        ctx.expressions["aca_magi"].set(t, magi)
        big = ctx.money_bound(t)
        regions = aca.regions(size, benchmark, area)
        reached: list = [1]  # z_0: every income reaches the first region
        for r, region in enumerate(regions[1:], start=1):
            reached.append(_edge_binary(ctx, t, r, region.low, region.low_strict, magi, big))
        reached.append(0)
        pay = premium[t]
        for r, region in enumerate(regions):
            inside = _difference(reached[r], reached[r + 1])
            if isinstance(inside, int) and inside == 0:
                continue
            if region.band is None:
                ctx.constrain("aca_full", (t, r), benchmark * inside - pay <= 0)
                continue
            for j, (slope, intercept) in enumerate(_chords(aca, region, size, area)):
                row = slope * magi + intercept - pay
                if not isinstance(inside, int):
                    row = row - big * (1 - inside)
                ctx.constrain("aca_line", (t, r, j), row <= 0)


def _edge_binary(ctx: ModelContext, t: int, r: int, edge: float, strict: bool, magi, big):
    """z[t,r] = "household income reaches `edge`" with its rows aca_below and aca_above
    (module doc)."""

    def rule(i, res, e=edge, s=strict) -> int:
        m = household_income(i, res)
        return int(m > e if s else m >= e)

    name = f"aca_{t}_edge{r}"
    reached = ctx.binary(name, t, rule)
    ctx.free_kinks.add(name)
    ctx.implies("aca_below", (t, r), reached, 0, magi - (edge if strict else edge - CENT), big)
    ctx.implies("aca_above", (t, r), reached, 1, edge - magi, big)
    return reached


def _difference(a, b):
    """z_r - z_{r+1}: a constant when both binaries are fixed, else an expression."""
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    terms, constant = {}, 0.0
    for value, sign in ((a, 1.0), (b, -1.0)):
        if isinstance(value, int):
            constant += sign * value
        else:
            terms[value] = sign
    return lin(terms, constant)


def _chords(aca, region, size: int, area: str) -> list[tuple[float, float]]:
    """(slope, intercept) of the chords of band `region.band`'s required contribution over
    the region, each at most CHORD_TOLERANCE_DOLLARS above it (SAG)."""
    low, high = region.low, region.high
    curvature = aca.band_curvature(region.band, size, area)
    pieces = 1
    if curvature > 0:
        widest = math.sqrt(SAG * CHORD_TOLERANCE_DOLLARS / curvature)
        pieces = max(1, math.ceil((high - low) / widest))
    points = [low + (high - low) * k / pieces for k in range(pieces + 1)]
    values = [aca.band_contribution(region.band, m, size, area) for m in points]
    out = []
    for k in range(pieces):
        slope = (values[k + 1] - values[k]) / (points[k + 1] - points[k])
        out.append((slope, values[k] - slope * points[k]))
    return out

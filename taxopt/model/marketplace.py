"""Marketplace premiums net of the premium tax credit (IRC §36B), in the exact model.

In a year t of marketplace coverage (taxopt.marketplace) the net premium is a function of
the same year's household income m = A + B (`other_income` plus all Social Security: AGI
plus the benefits it leaves out, §36B(d)(2)(B)). The rule set's `Aca.regions` cut the
m-line into regions r = 0..K from edges e_r: below the eligibility floor, each band of the
applicable percentage while the credit lasts, from where the contribution reaches the
benchmark, and above the 400% cliff. Each edge r >= 1 has a regime binary
z[t,r] = "m reaches e_r" (strictly above it for the cliff, at least it otherwise); region r
holds when d_r = z_r - z_{r+1} = 1 (z_0 = 1, z_{K+1} = 0). Income is split by region,
m_r = `aca_income`, each with its premium P_r = `aca_region_premium` (the disaggregated
form: its LP relaxation is the convex hull of each region's piece, no big-M):

- aca_order[t,r]:          z_{r+1} - z_r <= 0
- aca_split[t]:            sum_r m_r - m = 0
- aca_income_low[t,r]:     e_r d_r - m_r <= 0
- aca_income_high[t,r]:    m_r - u_r d_r <= 0  (u_r: the next edge, less a cent when that
  edge is reached at it; the last region: the year's money bound)
- aca_line[t,r,j]:         s_j m_r + c_j d_r - P_r <= 0  (a band region: the chords of
  the required contribution, convex within the band, through points close enough that no
  chord lies more than CHORD_TOLERANCE_DOLLARS above it: conservative by at most that)
- aca_full[t,r]:           b d_r - P_r <= 0  (a region without credit: benchmark b)
- aca_premium[t]:          P - sum_r P_r = 0

P[t] (family `marketplace_premium`) is paid in cash_flow[t]; the objective pushes it down
to the largest of its bounds. The binaries are regime binaries fixed by the regime search
like the tax kinks (then every d_r is a constant and the rows hold m inside one region);
because a fixed regime cannot leave its region, they are also `free_kinks`: the optimizer
solves one MILP with the binaries of their years free (taxopt.optimize), so the plan may
stay under the cliff in some years and cross it in others. Fast mode has no binaries: its
model leaves the premiums out (the ledger still charges them, and the reconciliation
shows them).
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
    """Families `marketplace_premium[year]`, `aca_income` and `aca_region_premium`
    [year, region] (empty unless modelled) and expression `aca_magi[year]`."""
    premium = ctx.declare("marketplace_premium", ("year",))
    income = ctx.declare("aca_income", ("year", "region"))
    region_premium = ctx.declare("aca_region_premium", ("year", "region"))
    ctx.expressions.declare("aca_magi", ("year",))
    if not marketplace_in_model(ctx):
        return
    for t, bought in marketplace_years(ctx.plan, ctx.base_rules).items():
        premium.add(t)
        aca = ctx.rules_by_year[t].aca
        regions = aca.regions(bought.household_size, bought.benchmark_premium, bought.area)
        for r in range(len(regions)):
            income.add((t, r))
            region_premium.add((t, r))


def add_marketplace(ctx: ModelContext) -> None:
    """Rows aca_order [year, edge], aca_split and aca_premium [year], aca_income_low,
    aca_income_high and aca_full [year, region], aca_line [year, region, chord] (module
    doc)."""
    ctx.declare_rows("aca_order", dims=("year", "edge"))
    ctx.declare_rows("aca_split", "aca_premium", dims=("year",))
    ctx.declare_rows("aca_income_low", "aca_income_high", "aca_full", dims=("year", "region"))
    ctx.declare_rows("aca_line", dims=("year", "region", "chord"))
    if not marketplace_in_model(ctx):
        return
    v = ctx.variables
    for t, bought in marketplace_years(ctx.plan, ctx.base_rules).items():
        aca = ctx.rules_by_year[t].aca
        size, area, benchmark = bought.household_size, bought.area, bought.benchmark_premium
        magi = ctx.expressions["other_income"][t] + ctx.social_security[t]
        ctx.expressions["aca_magi"].set(t, magi)
        regions = aca.regions(size, benchmark, area)
        reached: list = [1]  # z_0: every income reaches the first region
        for r, region in enumerate(regions[1:], start=1):
            reached.append(_edge_binary(ctx, t, r, region.low, region.low_strict))
            if not isinstance(reached[r], int) and not isinstance(reached[r - 1], int):
                ctx.constrain("aca_order", (t, r), reached[r] - reached[r - 1] <= 0)
        reached.append(0)
        income = [v["aca_income"][t, r] for r in range(len(regions))]
        paid = [v["aca_region_premium"][t, r] for r in range(len(regions))]
        ctx.constrain("aca_split", t, lin(dict.fromkeys(income, 1.0)) - magi == 0)
        premium = lin({v["marketplace_premium"][t]: 1.0, **dict.fromkeys(paid, -1.0)})
        ctx.constrain("aca_premium", t, premium == 0)
        for r, region in enumerate(regions):
            inside = _difference(reached[r], reached[r + 1])
            if r:
                ctx.constrain("aca_income_low", (t, r), region.low * inside - income[r] <= 0)
            top = _region_top(regions, r, ctx.money_bound(t))
            ctx.constrain("aca_income_high", (t, r), income[r] - top * inside <= 0)
            if region.band is None:
                ctx.constrain("aca_full", (t, r), benchmark * inside - paid[r] <= 0)
                continue
            for j, (slope, intercept) in enumerate(_chords(aca, region, size, area)):
                row = slope * income[r] + intercept * inside - paid[r]
                ctx.constrain("aca_line", (t, r, j), row <= 0)


def _region_top(regions: list, r: int, bound: float) -> float:
    """The most income region r holds: up to the next edge (a cent short of an edge reached
    at it), or `bound` for the last region."""
    if r + 1 == len(regions):
        return bound
    following = regions[r + 1]
    return following.low if following.low_strict else following.low - CENT


def _edge_binary(ctx: ModelContext, t: int, r: int, edge: float, strict: bool):
    """z[t,r] = "household income reaches `edge`" (module doc)."""

    def rule(i, res, e=edge, s=strict) -> int:
        m = household_income(i, res)
        return int(m > e if s else m >= e)

    name = f"aca_{t}_edge{r}"
    reached = ctx.binary(name, t, rule)
    ctx.free_kinks.add(name)
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

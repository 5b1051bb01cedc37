"""The portfolio mix: tier weights (with glide path) and the reserve band, every year.

Where each tier lives is free; only the whole portfolio's mix is held to the profile, within
the plan's tolerance. The mix is measured on pre-tax values, or tax-adjusted values where
tax-deferred balances count at (1 - assumed_tax_rate).

Symbols: V_k[t] = sum_a s_a h[t,a,k] the measured value of tier k (s_a = 1 - assumed tax
rate for tax-deferred accounts when the mix is tax-adjusted, else 1), V[t] = sum_k V_k[t],
R[t] = V_reserve[t] (0 without a reserve tier), w_k[t] the index weight of tier k
(Plan.index_weights, glide path included), tol the plan's tolerance.

Rows (constraint families; the plan's profile, no statute):
- mix_upper[t,k]:   V_k - w_k (V - R) - tol V <= 0
- mix_lower[t,k]:   V_k - w_k (V - R) + tol V >= 0
- reserve_min[t]:   R - reserve_min V >= 0
- reserve_max[t]:   R - reserve_max V <= 0
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin


def target_weights(ctx: ModelContext, year: int) -> dict[str, float]:
    """Index-tier weights in `year` (see Plan.index_weights)."""
    return ctx.plan.index_weights(year)


def add_mix(ctx: ModelContext) -> None:
    """Rows mix_upper, mix_lower, reserve_min and reserve_max (see the module docstring)."""
    ctx.declare_rows("mix_upper", "mix_lower", dims=("year", "tier"))
    ctx.declare_rows("reserve_min", "reserve_max", dims=("year",))
    profile = ctx.plan.profile
    hold = ctx.variables["hold"]
    scale = {
        a.name: (1.0 - profile.assumed_tax_rate)
        if profile.mix_measure == "tax_adjusted" and a.name in ctx.deferred
        else 1.0
        for a in ctx.accounts
    }
    tol = profile.tolerance
    for year in ctx.years:
        tier_value = {
            t.name: {hold[year, a.name, t.name]: scale[a.name] for a in ctx.accounts}
            for t in ctx.tiers
        }
        portfolio = {v: c for terms in tier_value.values() for v, c in terms.items()}
        reserve = profile.reserve_tier
        reserve_terms = tier_value[reserve] if reserve else {}
        for tier, weight in target_weights(ctx, year).items():
            deviation = _combine(
                (tier_value[tier], 1.0), (portfolio, -weight), (reserve_terms, weight)
            )
            upper = _combine((deviation, 1.0), (portfolio, -tol))
            lower = _combine((deviation, 1.0), (portfolio, tol))
            ctx.constrain("mix_upper", (year, tier), lin(upper) <= 0)
            ctx.constrain("mix_lower", (year, tier), lin(lower) >= 0)
        if reserve:
            ctx.constrain(
                "reserve_min",
                year,
                lin(_combine((reserve_terms, 1.0), (portfolio, -profile.reserve_min))) >= 0,
            )
            ctx.constrain(
                "reserve_max",
                year,
                lin(_combine((reserve_terms, 1.0), (portfolio, -profile.reserve_max))) <= 0,
            )


def _combine(*parts: tuple[dict, float]) -> dict:
    """_combine((terms_a, ca), (terms_b, cb), ...) -> ca*terms_a + cb*terms_b as one dict."""
    out: dict = {}
    for terms, coef in parts:
        for var, c in terms.items():
            out[var] = out.get(var, 0.0) + coef * c
    return out

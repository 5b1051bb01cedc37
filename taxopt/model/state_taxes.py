"""State income tax inside the model, from the same state rule objects as the calculator.

A plan with a `state` pays, each year, the tax of `taxopt.state_tax.compute_state_tax` on
the model's own income terms; the federal `tax_total` row adds it (taxes module), so the
cash flow, the objective and the optimizer's marginal rates carry the state's rate. The
rows are generic: each state is its rule file (rules/states/*.toml); a new state needs no
model code unless its law has a shape `StateRuleSet.optimizer_problems` refuses.

Symbols (nominal dollars of year t, the year index left out): I = state income before
subtractions, from the state's starting point (`StartingPoint`): federal AGI (the taxes
module's `magi`), federal taxable income (`taxable_income`) or the sum of the state's
income kinds, each a linear term of the model (wages, interest, IRA distributions,
pensions, qualified dividends, long-term gains, gross Social Security);
E_k = the income of subtraction k's kinds inside I (for a federal starting point the
taxable part of Social Security), f_k its fraction, c_k its cap (unit and per-person caps,
constants of the year's ages), q_k = `state_subtraction`; x[k, kind] = `state_take`, the
part of a kind subtraction k takes where several subtractions share the kind or a kind is
limited per person (Georgia's earned income); D = the deductions (constants of the year's
ages); s[i] = `state_segment` (bracket i of the state schedule, rates r_i);
l[j] = `state_local_segment` (bracket j of a local overlay, rates r'_j: New York City);
e_j = `state_surtax_excess` (rate rho_j above threshold h_j); C = `state_credit`;
R = `state_recapture` (New York's supplemental tax); Y = `state_tax`; z = a regime binary.

Rows (constraint families), each per year:
- state_take_limit:         sum_k x[k, kind] - (the kind inside I) <= 0, x <= the kind's
  limit per person x people (its bound): the subtractions sharing a kind take it at most
  once (`optimizer_problems` admits sharing only where earlier subtractions take all of
  it, so pooling is the calculator's order), a limited kind min(kind, limit) exactly;
- state_subtraction_share:  q_k - f_k E_k <= 0 with 0 <= q_k <= c_k (the variable's bound):
  a capped subtraction, which the tax pushes up to min(f_k E_k, c_k) exactly (an
  uncapped subtraction is the expression f_k E_k itself);
- income tests of a subtraction (New Jersey's tiers and cliff, Colorado's AGI limit):
  intervals (lo_p, hi_p] of its measure m (federal AGI or state income) with the
  calculator's tier p in each and none above the last (the cliff): exact mode picks the
  interval with regime binaries z_p (`_interval_regime`: state_interval_below,
  state_interval_above, state_interval_one), and per tier
  state_subtraction_tier:     z_p=1 => q_k - f_p E_k <= 0,
  state_subtraction_tier_cap: z_p=1 => q_k - c_p <= 0,
  state_subtraction_cliff:    z=1 (above the last tier) => q_k <= 0.
  Fast mode takes the first tier (the lowest incomes') at every income: it under-states
  tax above that tier's limit (the ledger reports the true tax);
- state_taxable:            sum_i s[i] - (I - sum_k q_k - D(z)) >= 0, 0 <= s[i] <= width_i:
  taxable income max(0, I - q - D) filled bottom up (the rates rise: the state's brackets);
- state_local_taxable:      sum_j l[j] - (I - sum_k q_k - D(z)) >= 0 (a local overlay's
  schedule on the same taxable income; its rates rise too);
- state_recapture_piece (exact): New York's recapture of the lower brackets' benefit is a
  piecewise-linear function of state AGI m = I - sum_k q_k (taxopt.state_tax.
  recapture_pieces, the calculator's own function, fixed deductions): z_p picks the piece
  (lo_p, hi_p] (`_interval_regime`) and z_p=1 => a_p m + b_p - R <= 0, with
  state_recapture_floor: R >= c_j m + d_j, the pieces' convex floor. Fast mode leaves
  the recapture out (under-states tax above its start; the ledger reports it);
- state_surtax:             e_j - sum_i s[i] >= -h_j, e_j >= 0 (rho_j on income above h_j);
- state_credit_cap:         C - (sum_i r_i s[i] + R) <= 0   (credits are nonrefundable);
- state_credit_allowed:     C - sum of the credits the regime allows <= 0;
- state_allowance_below, state_allowance_above (exact; per allowance with an income limit
  L or phase-out start L on federal AGI A): z=1 => A - L <= 0; z=0 => L - A <= 0.
  Below, the allowance is whole; above, an income limit allows none and a phase-out is
  taken as complete (the calculator phases it out in steps over the band: the model
  over-states the tax inside the band by at most the allowance). Fast mode keeps the
  whole allowance without binaries (under-states tax above L; the ledger reports it);
- state_tax_total:  Y - (sum_i r_i s[i] + R + sum_j rho_j e_j - C - sum_c v_c
                    + sum_j r'_j l[j]) = 0;
- tax caps at low income (Massachusetts' no-tax status and limited income credit: the tax
  is at most max(0, rho_c (m - h_c)) while the measure m is at most M_c), exact mode, with
  v_c = `state_relief` and two regime binaries, z_low = [m <= M_c] and z_bind = [v_c > 0]:
  state_cap_low:    z_low=1 => m - M_c <= 0;   state_cap_high: z_low=0 => M_c - m <= 0;
  state_cap_binds:  z_bind=1 => rho_c (m - h_c) - Y <= 0 (Y >= 0 by its bound: the tax
                    is max(0, rho_c (m - h_c)), never above the uncapped tax);
  state_cap_idle:   z_bind=0 => v_c <= 0;
  state_cap_order:  z_bind - z_low <= 0 (relief only at low income), and
  state_cap_room:   z_low=1 and z_bind=0 => T - rho_c (m - h_c) <= 0 (T the uncapped tax).
  Fast mode leaves the cap out (over-states tax at low income; the ledger reports it).

Every regime binary reads the ledger's own state result of the year (`StateRegimeRule`),
so the kinds of ordinary income (IRA distributions, pensions, wages) split as the
calculator splits them. `check_state_optimizer_support` refuses, before any work, what
these rows cannot express. Parts the model leaves out: short-term gains (the model
realizes none). `fast_mode_notes` says in a result's notes what fast mode approximated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from taxopt.model.context import ModelContext, lin
from taxopt.model.contributions import deductible_contributions
from taxopt.model.holdings import yield_income
from taxopt.model.tax_free import taxed_withdrawal_terms
from taxopt.state_rules import (
    Allowance,
    IncomeKind,
    Measure,
    StateRuleSet,
    Subtraction,
    TaxCap,
    state_rules_for,
)
from taxopt.state_tax import StateTaxResult, convex_floor, recapture_pieces, schedule_tax
from taxopt.tax import TaxResult

STATE_DIMS = ("year",)
# A tax cap's regime is "binding" when the calculator's relief exceeds this (dollars).
RELIEF_TIE_DOLLARS = 1e-6


@dataclass(frozen=True)
class StateRegimeRule:
    """A regime rule of a state kink: `read(federal result, state result)` of the ledger's
    year -> 0 | 1 (taxopt.optimize.regime_from calls it in place of the federal rules'
    `rule(tax_input, tax_result)`)."""

    read: Callable[[TaxResult, StateTaxResult], int]


@dataclass(frozen=True)
class Tier:
    """A subtraction's terms while its measure is at most `upper` (None: no limit)."""

    upper: float | None
    fraction: float
    cap: float | None


def subtraction_tiers(sub: Subtraction, status: str, ages: tuple[int, ...]) -> list[Tier]:
    """The subtraction's terms by interval of its measure, as the calculator reads them:
    its income tiers, or one tier up to its income limit; nothing above the last limit."""
    if sub.income_tiers:
        return [
            Tier(t.max_income[status], t.fraction[status], None if t.cap is None else t.cap[status])
            for t in sub.income_tiers
        ]
    limit = None if sub.income_limit is None else sub.income_limit[status]
    return [Tier(limit, sub.fraction, sub.fixed_cap(status, ages))]


def _needs_amount(tiers: list[Tier]) -> bool:
    """Whether the subtraction is a variable of the model (capped or income-tested)."""
    return len(tiers) > 1 or tiers[0].upper is not None or tiers[0].cap is not None


def _taken_kinds(rules: StateRuleSet, ages: tuple[int, ...]) -> set[IncomeKind]:
    """Kinds that two or more of the year's subtractions share."""
    seen: set[IncomeKind] = set()
    shared: set[IncomeKind] = set()
    for sub in rules.subtractions:
        if sub.ages.people(ages):
            shared |= seen & set(sub.kinds)
            seen |= set(sub.kinds)
    return shared


def declare_state_taxes(ctx: ModelContext) -> None:
    """Variable families state_tax, state_segment, state_local_segment, state_subtraction,
    state_take, state_surtax_excess, state_credit, state_relief, state_recapture (see the
    module docstring), for a plan with a state."""
    ctx.declare("state_tax", ("year",))
    ctx.declare("state_segment", ("year", "segment"), "state_{year}_{segment}")
    ctx.declare("state_local_segment", ("year", "segment"), "state_local_{year}_{segment}")
    ctx.declare("state_subtraction", ("year", "subtraction"), "state_sub_{year}_{subtraction}")
    ctx.declare(
        "state_take", ("year", "subtraction", "kind"), "state_take_{year}_{subtraction}_{kind}"
    )
    ctx.declare("state_surtax_excess", ("year", "surtax"), "state_{surtax}_{year}_excess")
    ctx.declare("state_credit", ("year",))
    ctx.declare("state_relief", ("year", "cap"), "state_{cap}_{year}_relief")
    ctx.declare("state_recapture", ("year",))
    ctx.expressions.declare("taxable_income", ("year",))
    if ctx.plan.state is None:
        return
    v = ctx.variables
    for year in ctx.years:
        rules = year_state_rules(ctx, year)
        status, ages = ctx.plan.filing_status, ctx.ages(year)
        v["state_tax"].add(year)
        for family, schedule in _schedules(rules, status):
            for i, (start, end, _rate) in enumerate(schedule.bands()):
                v[family].add((year, i), high=None if math.isinf(end) else end - start)
        _declare_subtractions(ctx, year, rules)
        for surtax in rules.surtaxes:
            v["state_surtax_excess"].add((year, surtax.name))
        if any(c.full_amount(status, ages) for c in rules.credits):
            v["state_credit"].add(year)
        if ctx.exact:
            for cap in rules.tax_caps:
                most = relief_bound(rules, cap, status, ages)
                v["state_relief"].add((year, cap.name), high=most)
            if rules.brackets.recapture is not None:
                v["state_recapture"].add(year)


def _declare_subtractions(ctx: ModelContext, year: int, rules: StateRuleSet) -> None:
    """The year's state_subtraction (capped or income-tested) and state_take columns."""
    v = ctx.variables
    status, ages = ctx.plan.filing_status, ctx.ages(year)
    shared = _taken_kinds(rules, ages)
    for sub in rules.subtractions:
        people = sub.ages.people(ages)
        if not people:
            continue
        tiers = subtraction_tiers(sub, status, ages)
        if _needs_amount(tiers):
            single = len(tiers) == 1 and tiers[0].upper is None
            v["state_subtraction"].add((year, sub.name), high=tiers[0].cap if single else None)
        for kind in sub.kinds:
            if kind in shared or kind in sub.kind_limits_per_person:
                limit = sub.kind_limits_per_person.get(kind)
                high = None if limit is None else limit * people
                v["state_take"].add((year, sub.name, kind.value), high=high)


def _schedules(rules: StateRuleSet, status: str) -> list:
    """(segment family, schedule): the state's brackets and a local overlay's."""
    out = [("state_segment", rules.brackets.schedules[status])]
    if rules.local is not None:
        out.append(("state_local_segment", rules.local.schedules[status]))
    return out


def year_state_rules(ctx: ModelContext, year: int) -> StateRuleSet:
    """The plan's state rules for `year`, indexed as the ledger indexes them."""
    assert ctx.plan.state is not None
    return state_rules_for(ctx.plan.state, year, ctx.plan.inflation)


def add_state_taxes(ctx: ModelContext) -> None:
    """State tax rows of every year (the state passed `check_state_optimizer_support`)."""
    ctx.declare_rows(
        "state_taxable",
        "state_local_taxable",
        "state_credit_cap",
        "state_credit_allowed",
        "state_tax_total",
        dims=STATE_DIMS,
    )
    ctx.declare_rows("state_take_limit", dims=("year", "kind"))
    ctx.declare_rows("state_subtraction_share", "state_subtraction_cliff", dims=("year", "name"))
    ctx.declare_rows(
        "state_subtraction_tier", "state_subtraction_tier_cap", dims=("year", "name", "tier")
    )
    ctx.declare_rows("state_interval_below", "state_interval_above", dims=("year", "name", "piece"))
    ctx.declare_rows("state_interval_one", dims=("year", "name"))
    ctx.declare_rows("state_recapture_piece", "state_recapture_floor", dims=("year", "piece"))
    ctx.declare_rows("state_surtax", dims=("year", "name"))
    ctx.declare_rows("state_allowance_below", "state_allowance_above", dims=("year", "name"))
    ctx.declare_rows(
        "state_cap_low",
        "state_cap_high",
        "state_cap_binds",
        "state_cap_idle",
        "state_cap_order",
        "state_cap_room",
        dims=("year", "name"),
    )
    if ctx.plan.state is None:
        return
    for year in ctx.years:
        _add_year_state_tax(ctx, year, year_state_rules(ctx, year))


def state_income_kinds(ctx: ModelContext, year: int) -> dict[IncomeKind, object]:
    """Each income kind of the state calculator as a linear expression of the model
    (`taxopt.state_tax.state_input` splits the ledger's figures the same way): IRA
    distributions are ordinary withdrawals and conversions, pensions the plan's pension
    streams, interest the ordinary yields, wages the rest of ordinary income."""
    v = ctx.variables
    distributions = taxed_withdrawal_terms(ctx, year)
    pensions = ctx.pensions[year]
    other = sum(ctx.earnings[year].values()) + ctx.other_income[year] - pensions
    wages = lin({var: -coef for var, coef in deductible_contributions(ctx, year).items()}, other)
    return {
        IncomeKind.WAGES: wages,
        IncomeKind.INTEREST: lin(yield_income(ctx, year, "ordinary")),
        IncomeKind.IRA_DISTRIBUTIONS: lin(distributions),
        IncomeKind.PENSION_INCOME: lin({}, pensions),
        IncomeKind.SHORT_TERM_GAINS: lin({}),
        IncomeKind.QUALIFIED_DIVIDENDS: lin(yield_income(ctx, year, "qualified_dividends")),
        IncomeKind.LTCG: lin({v["gain"][year]: 1.0}),
        IncomeKind.SOCIAL_SECURITY: lin({}, ctx.social_security[year]),
    }


def _add_year_state_tax(ctx: ModelContext, year: int, rules: StateRuleSet) -> None:
    """The rows of one year (module docstring):

    - state_taxable:       sum_i s[i] - (I - sum_k q_k - D) >= 0;
    - state_local_taxable: sum_j l[j] - (I - sum_k q_k - D) >= 0;
    - state_surtax:        e_j - sum_i s[i] >= -h_j;
    - state_credit_cap:    C - (sum_i r_i s[i] + R) <= 0;  state_credit_allowed: C - allowed <= 0;
    - state_tax_total:     Y - (sum_i r_i s[i] + R + sum_j rho_j e_j - C - sum_c v_c
                           + sum_j r'_j l[j]) = 0;

    and, through the helpers, the subtraction rows, state_recapture_piece, the interval
    rows, state_allowance_below, state_allowance_above and the tax-cap rows.
    """
    v, e = ctx.variables, ctx.expressions
    status = ctx.plan.filing_status
    federal_agi = e["magi"][year]
    income, included = _state_income(ctx, year, rules)
    measures = {Measure.FEDERAL_AGI: federal_agi, Measure.STATE_INCOME: income}
    subtracted = _add_subtractions(ctx, year, rules, included, measures)
    measures[Measure.STATE_AGI] = income - subtracted

    deductions = lin({})
    for table in rules.deductions:
        deductions += _allowance_regime(ctx, year, table, federal_agi)

    base = income - subtracted - deductions
    taxed = {}
    for family, schedule in _schedules(rules, status):
        segments = [(v[family][year, i], rate) for i, (_s, _e, rate) in enumerate(schedule.bands())]
        taxed[family] = (lin({seg: 1.0 for seg, _r in segments}), lin(dict(segments)))
    taxable, bracket_tax = taxed["state_segment"]
    ctx.constrain("state_taxable", year, taxable - base >= 0)
    if year in v["state_recapture"]:
        bracket_tax = bracket_tax + _add_recapture(ctx, year, rules, measures[Measure.STATE_AGI])
    tax = bracket_tax
    for surtax in rules.surtaxes:
        excess = v["state_surtax_excess"][year, surtax.name]
        ctx.constrain(
            "state_surtax", (year, surtax.name), excess - taxable >= -surtax.threshold[status]
        )
        tax = tax + surtax.rate * lin({excess: 1.0})
    if year in v["state_credit"]:
        credit = v["state_credit"][year]
        allowed = lin({})
        for table in rules.credits:
            allowed += _allowance_regime(ctx, year, table, federal_agi)
        ctx.constrain("state_credit_cap", year, credit - bracket_tax <= 0)
        ctx.constrain("state_credit_allowed", year, credit - allowed <= 0)
        tax = tax - lin({credit: 1.0})
    relief = lin({})
    for cap in rules.tax_caps:
        if (year, cap.name) in v["state_relief"]:
            relief += _add_tax_cap(ctx, year, rules, cap, measures[cap.measure], tax)
    tax = tax - relief
    if "state_local_segment" in taxed:
        local_taxable, local_tax = taxed["state_local_segment"]
        ctx.constrain("state_local_taxable", year, local_taxable - base >= 0)
        tax = tax + local_tax
    ctx.constrain("state_tax_total", year, v["state_tax"][year] - tax == 0)


def _state_income(ctx: ModelContext, year: int, rules: StateRuleSet) -> tuple:
    """(I, {kind: its part inside I}) from the state's starting point."""
    e = ctx.expressions
    kinds = state_income_kinds(ctx, year)
    if rules.start.base == "components":
        included = {k: kinds[k] if k in rules.start.kinds else lin({}) for k in IncomeKind}
        income = lin({})
        for kind in rules.start.kinds:
            income += kinds[kind]
        return income, included
    included = dict(kinds)
    # The federal return holds the taxable part of benefits (none in years without).
    included[IncomeKind.SOCIAL_SECURITY] = e["taxable_ss"].items.get(year, lin({}))
    if rules.start.base == "federal_agi":
        return e["magi"][year], included
    return e["taxable_income"][year], included


def _add_subtractions(
    ctx: ModelContext, year: int, rules: StateRuleSet, included: dict, measures: dict
):
    """sum_k q_k, with the rows

    - state_take_limit:        sum_k x[k, kind] - (the kind inside I) <= 0;
    - state_subtraction_share: q_k - f_k E_k <= 0 (a capped subtraction without tiers);

    and, through `_add_income_tests`, the rows of income-tested subtractions.
    """
    v = ctx.variables
    status, ages = ctx.plan.filing_status, ctx.ages(year)
    takes: dict[IncomeKind, list] = {}
    subtracted = lin({})
    for sub in rules.subtractions:
        if not sub.ages.people(ages):
            continue
        eligible = lin({})
        for kind in sub.kinds:
            key = (year, sub.name, kind.value)
            if key in v["state_take"]:
                take = v["state_take"][key]
                takes.setdefault(kind, []).append(take)
                eligible += lin({take: 1.0})
            else:
                eligible += included[kind]
        tiers = subtraction_tiers(sub, status, ages)
        if not _needs_amount(tiers):
            subtracted += sub.fraction * eligible
            continue
        amount = v["state_subtraction"][year, sub.name]
        if len(tiers) == 1 and tiers[0].upper is None:
            ctx.constrain(
                "state_subtraction_share", (year, sub.name), amount - sub.fraction * eligible <= 0
            )
        else:
            _add_income_tests(ctx, year, sub, tiers, amount, eligible, measures[sub.measure])
        subtracted += lin({amount: 1.0})
    for kind, parts in takes.items():
        ctx.constrain(
            "state_take_limit",
            (year, kind.value),
            lin({x: 1.0 for x in parts}) - included[kind] <= 0,
        )
    return subtracted


def _add_income_tests(ctx: ModelContext, year, sub: Subtraction, tiers, amount, eligible, measure):
    """An income-tested subtraction q (New Jersey's tiers, Colorado's AGI limit). Exact:
    the tier's interval picked by `_interval_regime`, and

    - state_subtraction_share:    q - max_p f_p E <= 0 (and, when every tier is capped,
      state_subtraction_tier_cap keyed past the last tier: q - max_p c_p <= 0), valid in
      every tier: the relaxation's bound;

    - state_subtraction_tier:     z_p=1 => q - f_p E <= 0;
    - state_subtraction_tier_cap: z_p=1 => q - c_p <= 0;
    - state_subtraction_cliff:    z=1 (above the last tier) => q <= 0.

    Fast: the first tier's state_subtraction_tier and state_subtraction_tier_cap at
    every income (no binaries; under-states tax above that tier's limit).
    """
    big = ctx.money_bound(year)
    if not ctx.exact:
        first = tiers[0]
        ctx.constrain(
            "state_subtraction_tier", (year, sub.name, 0), amount - first.fraction * eligible <= 0
        )
        if first.cap is not None:
            ctx.constrain("state_subtraction_tier_cap", (year, sub.name, 0), amount <= first.cap)
        return
    # Valid in every tier (the LP relaxation's bound needs it: relaxed binaries free q).
    most = max(t.fraction for t in tiers)
    ctx.constrain("state_subtraction_share", (year, sub.name), amount - most * eligible <= 0)
    caps = [t.cap for t in tiers]
    if None not in caps:
        ctx.constrain(
            "state_subtraction_tier_cap", (year, sub.name, len(tiers)), amount <= max(caps)
        )
    uppers = [t.upper for t in tiers]
    if uppers[-1] is not None:
        uppers.append(None)  # the cliff: nothing above the last tier
    read = _MEASURE_READERS[sub.measure]
    flags = _interval_regime(ctx, year, sub.name, measure, uppers, read)
    for p, (tier, flag) in enumerate(zip(tiers, flags, strict=False)):
        key = (year, sub.name, p)
        ctx.implies("state_subtraction_tier", key, flag, 1, amount - tier.fraction * eligible, big)
        if tier.cap is not None:
            ctx.implies("state_subtraction_tier_cap", key, flag, 1, amount - tier.cap, big)
    if len(flags) > len(tiers):
        ctx.implies("state_subtraction_cliff", (year, sub.name), flags[-1], 1, amount, big)


_MEASURE_READERS: dict[Measure, Callable[[TaxResult, StateTaxResult], float]] = {
    Measure.FEDERAL_AGI: lambda r, _s: float(r.agi),
    Measure.STATE_INCOME: lambda _r, s: float(s.state_income),
    Measure.STATE_AGI: lambda _r, s: float(s.state_agi),
}


def _interval_regime(ctx: ModelContext, year: int, name: str, measure, uppers, read) -> list:
    """Regime binaries z_p, one per interval (uppers[p-1], uppers[p]] of `measure` (the
    last upper None: no end; intervals beyond the money bound are left out, so there may
    be fewer binaries than intervals), set from the ledger's measure `read(federal, state)` as the
    calculator places it, with the rows

    - state_interval_below: z_p=1 => m - hi_p <= 0;
    - state_interval_above: z_p=1 => lo_p - m <= 0;
    - state_interval_one:   sum_p z_p = 1 (when the binaries are variables).
    """
    big = ctx.money_bound(year)
    # No measure exceeds the money bound: intervals beyond it are left out.
    reach = next(p for p, hi in enumerate(uppers) if hi is None or hi >= big)
    uppers = [*uppers[:reach], None]

    def interval_of(value: float) -> int:
        return next(p for p, hi in enumerate(uppers) if hi is None or value <= hi)

    flags = []
    for p, hi in enumerate(uppers):
        flag = ctx.binary(
            f"state_{name}_{p}_{year}",
            year,
            StateRegimeRule(lambda r, s, p=p: int(interval_of(read(r, s)) == p)),
        )
        key = (year, name, p)
        if hi is not None:
            ctx.implies("state_interval_below", key, flag, 1, measure - hi, big)
        if p > 0:
            ctx.implies("state_interval_above", key, flag, 1, uppers[p - 1] - measure, big)
        flags.append(flag)
    variables = {f: 1.0 for f in flags if not isinstance(f, int)}
    if variables:
        fixed = sum(f for f in flags if isinstance(f, int))
        ctx.constrain("state_interval_one", (year, name), lin(variables, fixed) == 1)
    return flags


def _add_recapture(ctx: ModelContext, year: int, rules: StateRuleSet, state_agi):
    """R, the benefit recapture on state AGI m (exact mode): the piece picked by
    `_interval_regime` and

    - state_recapture_piece: z_p=1 => a_p m + b_p - R <= 0 (R >= 0 by its bound);
    - state_recapture_floor: R - (c_j m + d_j) >= 0 for the lines of the pieces' convex
      floor up to the money bound (`convex_floor`), valid in every piece: without them
      the LP relaxation takes R = 0 and its bound stays far from any plan.
    """
    status, ages = ctx.plan.filing_status, ctx.ages(year)
    deductions = sum(d.full_amount(status, ages) for d in rules.deductions)
    pieces = recapture_pieces(rules, status, deductions)
    recapture = ctx.variables["state_recapture"][year]
    read = _MEASURE_READERS[Measure.STATE_AGI]
    flags = _interval_regime(ctx, year, "recapture", state_agi, [p.upper for p in pieces], read)
    for p, (piece, flag) in enumerate(zip(pieces, flags, strict=False)):
        line = piece.slope * state_agi + piece.intercept - lin({recapture: 1.0})
        big = ctx.money_bound(year) * max(1.0, piece.slope) + abs(piece.intercept)
        ctx.implies("state_recapture_piece", (year, p), flag, 1, line, big)
    for j, (slope, intercept) in enumerate(convex_floor(pieces, ctx.money_bound(year))):
        if slope > 0 or intercept > 0:
            floor = lin({recapture: 1.0}) - slope * state_agi
            ctx.constrain("state_recapture_floor", (year, j), floor >= intercept)
    return lin({recapture: 1.0})


def _add_tax_cap(ctx: ModelContext, year: int, rules: StateRuleSet, cap: TaxCap, measure, tax):
    """A tax cap's relief v (exact mode; the regimes of the module docstring):

    - state_cap_low:   z_low=1 => m - M <= 0
    - state_cap_high:  z_low=0 => M - m <= 0
    - state_cap_binds: z_bind=1 => rho (m - h) - Y <= 0
    - state_cap_idle:  z_bind=0 => v <= 0
    - state_cap_order: z_bind - z_low <= 0
    - state_cap_room:  z_low=1 and z_bind=0 => T - rho (m - h) <= 0

    The binaries' regime is the ledger's state result of the year (its measure, its relief).
    """
    status = ctx.plan.filing_status
    key = (year, cap.name)
    big = ctx.money_bound(year)
    relief = ctx.variables["state_relief"][year, cap.name]
    paid = ctx.variables["state_tax"][year]
    limit = cap.rate * (measure - cap.threshold[status])
    top = cap.max_income[status] if cap.max_income is not None else None
    measure_of = _MEASURE_READERS[cap.measure]
    low = 1
    if top is not None:
        low = ctx.binary(
            f"state_{cap.name}_low_{year}",
            year,
            StateRegimeRule(lambda r, s: int(measure_of(r, s) <= top)),
        )
        ctx.implies("state_cap_low", key, low, 1, measure - top, big)
        ctx.implies("state_cap_high", key, low, 0, top - measure, big)
    binds = ctx.binary(
        f"state_{cap.name}_binds_{year}",
        year,
        StateRegimeRule(lambda _r, s: int(float(s.reliefs[cap.name]) > RELIEF_TIE_DOLLARS)),
    )
    ctx.implies("state_cap_binds", key, binds, 1, limit - paid, big)
    most = relief_bound(rules, cap, status, ctx.ages(year))
    ctx.implies("state_cap_idle", key, binds, 0, lin({relief: 1.0}), big if most is None else most)
    room = tax - limit
    if isinstance(low, int) and isinstance(binds, int):
        if binds > low:
            ctx.constrain("state_cap_order", key, False)
        if low == 1 and binds == 0:
            ctx.constrain("state_cap_room", key, room <= 0)
    else:
        ctx.constrain("state_cap_order", key, binds - low <= 0)
        ctx.constrain("state_cap_room", key, room - big * (1 - low) - big * binds <= 0)
    return lin({relief: 1.0})


def relief_bound(
    rules: StateRuleSet, cap: TaxCap, status: str, ages: tuple[int, ...]
) -> float | None:
    """The most a tax cap can take off in a year (dollars), None when unbounded.

    Relief comes only while the measure m (state income or state AGI) is at most
    `max_income` M, and is then the uncapped tax T(m) less max(0, rho (m - h)). T is at
    most the schedule's tax on m less the fixed deductions (taxable income is no more; the
    model realizes no short-term gains, the only flat-rate kind `optimizer_problems` admits),
    rising and convex, so the relief rises to h and is convex above it: its largest value
    is at h or at M (the calculator's schedule evaluated there). A bound for the column
    and its big-M row: without it the LP relaxation spreads relief over every year and
    its bound stays far from any plan (a longer search)."""
    if cap.max_income is None or cap.measure == Measure.FEDERAL_AGI:
        return None
    schedule = rules.brackets.schedules[status]
    fixed = sum(
        d.full_amount(status, ages)
        for d in rules.deductions
        if d.phaseout is None and d.income_limit is None
    )

    def uncapped(m: float) -> float:
        taxable = max(0.0, m - fixed)
        surtaxes = sum(s.rate * max(0.0, taxable - s.threshold[status]) for s in rules.surtaxes)
        return float(schedule_tax(schedule, taxable)) + surtaxes

    h, top = cap.threshold[status], cap.max_income[status]
    at_top = uncapped(top) - max(0.0, cap.rate * (top - h))
    return max(0.0, uncapped(min(h, top)), at_top)


def _allowance_regime(ctx: ModelContext, year: int, table: Allowance, federal_agi):
    """A deduction's or credit's amount: a constant, or with an income limit or phase-out
    on federal AGI A at L (exact mode) z x amount with the rows

    - state_allowance_below: z=1 => A - L <= 0
    - state_allowance_above: z=0 => L - A <= 0
    """
    status, ages = ctx.plan.filing_status, ctx.ages(year)
    amount = table.full_amount(status, ages)
    limit = allowance_limit(table, status)
    if amount == 0 or limit is None or not ctx.exact:
        return lin({}, amount)
    name = f"state_{table.name}_below_{year}"
    below = ctx.binary(name, year, lambda _i, r: int(r.agi <= limit), cliff=(name, 0, 1))
    key = (year, table.name)
    big = ctx.money_bound(year)
    ctx.implies("state_allowance_below", key, below, 1, federal_agi - limit, big)
    ctx.implies("state_allowance_above", key, below, 0, limit - federal_agi, big)
    if isinstance(below, int):
        return lin({}, amount * below)
    return lin({below: amount})


def allowance_limit(table: Allowance, status: str) -> float | None:
    """The federal AGI above which the model takes an allowance as lost (None: never)."""
    if table.income_limit is not None:
        return table.income_limit[status]
    if table.phaseout is not None:
        return table.phaseout.start[status]
    return None


def fast_mode_notes(state: str | None, year: int, status: str) -> list[str]:
    """One note saying what fast mode approximates in the state's tax (none when it
    prices all of it exactly); the ledger's state tax, in the result, is the true one."""
    if state is None:
        return []
    rules = state_rules_for(state, year, 0.0)
    parts = []
    if rules.brackets.recapture is not None:
        parts.append("leaves out the benefit recapture (under-states tax above its start)")
    tested = [s.name for s in rules.subtractions if s.income_tiers or s.income_limit]
    if tested:
        parts.append(
            f"takes the income tests of {', '.join(tested)} at their first tier at every "
            "income (under-states tax above it)"
        )
    tables = (*rules.deductions, *rules.credits)
    limited = [a.name for a in tables if allowance_limit(a, status) is not None]
    if limited:
        parts.append(
            f"keeps {', '.join(limited)} whole above their income limit (under-states tax)"
        )
    if rules.tax_caps:
        caps = ", ".join(c.name for c in rules.tax_caps)
        parts.append(f"leaves out {caps} (over-states tax at low income)")
    if not parts:
        return []
    return [
        f"state: fast mode {'; '.join(parts)} of {rules.meta.title}; the ledger's state tax "
        "is the true one (exact mode prices these with regime binaries)"
    ]

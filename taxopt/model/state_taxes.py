"""State income tax inside the model, from the same state rule objects as the calculator.

A plan with a `state` pays, each year, the tax of `taxopt.state_tax.compute_state_tax` on
the model's own income terms; the federal `tax_total` row adds it (taxes module), so the
cash flow, the objective and the optimizer's marginal rates carry the state's rate.

Symbols (nominal dollars of year t, the year index left out): I = state income before
subtractions, from the state's starting point (`StartingPoint`): federal AGI (the taxes
module's `magi`), federal taxable income (`taxable_income`) or the sum of the state's
income kinds, each a linear term of the model (wages, interest, IRA distributions,
pensions, qualified dividends, long-term gains, gross Social Security);
E_k = the income of subtraction k's kinds inside I (for a federal starting point the
taxable part of Social Security), f_k its fraction, c_k its cap (unit and per-person caps,
constants of the year's ages), q_k = `state_subtraction`; D = the deductions (constants of
the year's ages); s[i] = `state_segment` (bracket i of the state schedule, rates r_i);
e_j = `state_surtax_excess` (rate rho_j above threshold h_j); C = `state_credit`;
Y = `state_tax`; z = the regime binary of an allowance with an income limit or phase-out
on federal AGI.

Rows (constraint families), each per year:
- state_subtraction_share:  q_k - f_k E_k <= 0 with 0 <= q_k <= c_k (the variable's bound):
  a capped subtraction, which the tax pushes up to min(f_k E_k, c_k) exactly (an
  uncapped subtraction is the expression f_k E_k itself);
- state_taxable:            sum_i s[i] - (I - sum_k q_k - D(z)) >= 0, 0 <= s[i] <= width_i:
  taxable income max(0, I - q - D) filled bottom up (the rates rise: the state's brackets);
- state_surtax:             e_j - sum_i s[i] >= -h_j, e_j >= 0 (rho_j on income above h_j);
- state_credit_cap:         C - sum_i r_i s[i] <= 0   (credits are nonrefundable);
- state_credit_allowed:     C - sum of the credits the regime allows <= 0;
- state_allowance_below, state_allowance_above (exact; per allowance with an income limit
  L or phase-out start L on federal AGI A): z=1 => A - L <= 0; z=0 => L - A <= 0.
  Below, the allowance is whole; above, an income limit allows none and a phase-out is
  taken as complete (the calculator phases it out in steps over the band: the model
  over-states the tax inside the band by at most the allowance). Fast mode keeps the
  whole allowance without binaries (under-states tax above L; the ledger reports it);
- state_tax_total:          Y - (sum_i r_i s[i] + sum_j rho_j e_j - C - sum_c v_c) = 0;
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

`check_state_optimizer_support` refuses, before any work, what these rows cannot express.
Parts the model leaves out: short-term gains (the model realizes none).
"""

from __future__ import annotations

import math

from taxopt.model.context import ModelContext, lin
from taxopt.model.contributions import deductible_contributions
from taxopt.model.holdings import yield_income
from taxopt.rules import WithdrawalTax
from taxopt.state_rules import (
    Allowance,
    IncomeKind,
    Measure,
    StateRuleSet,
    TaxCap,
    state_rules_for,
)
from taxopt.state_tax import OrdinaryParts, compute_state_tax, state_input

STATE_DIMS = ("year",)
# A tax cap's regime is "binding" when the calculator's relief exceeds this (dollars).
RELIEF_TIE_DOLLARS = 1e-6


def declare_state_taxes(ctx: ModelContext) -> None:
    """Variable families state_tax, state_segment, state_subtraction, state_surtax_excess,
    state_credit (see the module docstring), for a plan with a state."""
    ctx.declare("state_tax", ("year",))
    ctx.declare("state_segment", ("year", "segment"), "state_{year}_{segment}")
    ctx.declare("state_subtraction", ("year", "subtraction"), "state_sub_{year}_{subtraction}")
    ctx.declare("state_surtax_excess", ("year", "surtax"), "state_{surtax}_{year}_excess")
    ctx.declare("state_credit", ("year",))
    ctx.declare("state_relief", ("year", "cap"), "state_{cap}_{year}_relief")
    ctx.expressions.declare("taxable_income", ("year",))
    if ctx.plan.state is None:
        return
    v = ctx.variables
    for year in ctx.years:
        rules = year_state_rules(ctx, year)
        status, ages = ctx.plan.filing_status, ctx.ages(year)
        v["state_tax"].add(year)
        schedule = rules.brackets.schedules[status]
        for i, (start, end, _rate) in enumerate(schedule.bands()):
            v["state_segment"].add((year, i), high=None if math.isinf(end) else end - start)
        for sub in rules.subtractions:
            if sub.ages.people(ages) and sub.fixed_cap(status, ages) is not None:
                v["state_subtraction"].add((year, sub.name), high=sub.fixed_cap(status, ages))
        for surtax in rules.surtaxes:
            v["state_surtax_excess"].add((year, surtax.name))
        if any(c.full_amount(status, ages) for c in rules.credits):
            v["state_credit"].add(year)
        if ctx.exact:
            for cap in rules.tax_caps:
                v["state_relief"].add((year, cap.name))


def year_state_rules(ctx: ModelContext, year: int) -> StateRuleSet:
    """The plan's state rules for `year`, indexed as the ledger indexes them."""
    assert ctx.plan.state is not None
    return state_rules_for(ctx.plan.state, year, ctx.plan.inflation)


def add_state_taxes(ctx: ModelContext) -> None:
    """State tax rows of every year (the state passed `check_state_optimizer_support`)."""
    ctx.declare_rows(
        "state_taxable",
        "state_credit_cap",
        "state_credit_allowed",
        "state_tax_total",
        dims=STATE_DIMS,
    )
    ctx.declare_rows("state_subtraction_share", dims=("year", "name"))
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
    distributions: dict = {}
    for account in ctx.accounts:
        kind = ctx.kind[account.name]
        if kind.withdrawals == WithdrawalTax.ORDINARY:
            taxed = 1.0 - kind.tax_free_withdrawal_fraction
            distributions[v["withdraw"][year, account.name]] = taxed
    for (y, source, _target), var in v["convert"].items.items():
        if y == year:
            distributions[var] = 1.0 - ctx.kind[source].tax_free_withdrawal_fraction
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

    - state_taxable:    sum_i s[i] - (I - sum_k q_k - D) >= 0;
    - state_surtax:     e_j - sum_i s[i] >= -h_j;
    - state_credit_cap: C - sum_i r_i s[i] <= 0;  state_credit_allowed: C - allowed <= 0;
    - state_tax_total:  Y - (sum_i r_i s[i] + sum_j rho_j e_j - C - sum_c v_c) = 0;

    and, through the helpers, state_subtraction_share, state_allowance_below,
    state_allowance_above and the tax-cap rows.
    """
    v, e = ctx.variables, ctx.expressions
    status = ctx.plan.filing_status
    federal_agi = e["magi"][year]
    income, included = _state_income(ctx, year, rules)
    subtracted = _add_subtractions(ctx, year, rules, included)

    deductions = lin({})
    for table in rules.deductions:
        deductions += _allowance_regime(ctx, year, table, federal_agi)

    schedule = rules.brackets.schedules[status]
    segments = [
        (v["state_segment"][year, i], rate) for i, (_s, _e, rate) in enumerate(schedule.bands())
    ]
    taxable = lin({seg: 1.0 for seg, _rate in segments})
    ctx.constrain("state_taxable", year, taxable - (income - subtracted - deductions) >= 0)
    bracket_tax = lin({seg: rate for seg, rate in segments})
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
    measures = {
        Measure.FEDERAL_AGI: federal_agi,
        Measure.STATE_INCOME: income,
        Measure.STATE_AGI: income - subtracted,
    }
    relief = lin({})
    for cap in rules.tax_caps:
        if (year, cap.name) in v["state_relief"]:
            relief += _add_tax_cap(ctx, year, rules, cap, measures[cap.measure], tax)
    ctx.constrain("state_tax_total", year, v["state_tax"][year] - (tax - relief) == 0)


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


def _add_subtractions(ctx: ModelContext, year: int, rules: StateRuleSet, included: dict):
    """sum_k q_k, with the rows state_subtraction_share: q_k - f_k E_k <= 0 of capped ones."""
    v = ctx.variables
    subtracted = lin({})
    for sub in rules.subtractions:
        if not sub.ages.people(ctx.ages(year)):
            continue
        eligible = lin({})
        for kind in sub.kinds:
            eligible += included[kind]
        if (year, sub.name) in v["state_subtraction"]:
            amount = v["state_subtraction"][year, sub.name]
            ctx.constrain(
                "state_subtraction_share", (year, sub.name), amount - sub.fraction * eligible <= 0
            )
            subtracted += lin({amount: 1.0})
        else:
            subtracted += sub.fraction * eligible
    return subtracted


def _add_tax_cap(ctx: ModelContext, year: int, rules: StateRuleSet, cap: TaxCap, measure, tax):
    """A tax cap's relief v (exact mode; the regimes of the module docstring):

    - state_cap_low:   z_low=1 => m - M <= 0
    - state_cap_high:  z_low=0 => M - m <= 0
    - state_cap_binds: z_bind=1 => rho (m - h) - Y <= 0
    - state_cap_idle:  z_bind=0 => v <= 0
    - state_cap_order: z_bind - z_low <= 0
    - state_cap_room:  z_low=1 and z_bind=0 => T - rho (m - h) <= 0

    The binaries' regime comes from the ledger's figures through the state calculator
    (`check_optimizer_support` admits a cap only where the kinds of ordinary income do not
    change the state's tax, so the federal figures decide it).
    """
    status = ctx.plan.filing_status
    key = (year, cap.name)
    big = ctx.money_bound(year)
    relief = ctx.variables["state_relief"][year, cap.name]
    paid = ctx.variables["state_tax"][year]
    limit = cap.rate * (measure - cap.threshold[status])
    top = cap.max_income[status] if cap.max_income is not None else None

    def state_of(i, r):
        return compute_state_tax(rules, state_input(i, r, OrdinaryParts()))

    measure_of = {
        Measure.FEDERAL_AGI: lambda i, r: r.agi,
        Measure.STATE_INCOME: lambda i, r: float(state_of(i, r).state_income),
        Measure.STATE_AGI: lambda i, r: float(state_of(i, r).state_agi),
    }[cap.measure]
    low = 1
    if top is not None:
        low = ctx.binary(
            f"state_{cap.name}_low_{year}", year, lambda i, r: int(measure_of(i, r) <= top)
        )
        ctx.implies("state_cap_low", key, low, 1, measure - top, big)
        ctx.implies("state_cap_high", key, low, 0, top - measure, big)
    binds = ctx.binary(
        f"state_{cap.name}_binds_{year}",
        year,
        lambda i, r: int(float(state_of(i, r).reliefs[cap.name]) > RELIEF_TIE_DOLLARS),
    )
    ctx.implies("state_cap_binds", key, binds, 1, limit - paid, big)
    ctx.implies("state_cap_idle", key, binds, 0, lin({relief: 1.0}), big)
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

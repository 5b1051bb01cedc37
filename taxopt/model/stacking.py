"""Several preferential schedules stacked on ordinary taxable income, read from the rules.

The general form of preferential rates in the model: any number of schedules, each taxing
its income kinds on top of everything stacked below it, in the rule file's order (UK:
savings, dividends, then gains, ITA 2007 s.16 and TCGA 1992 s.1H), each with an optional
nil-rate part that is taxed at 0 but still uses up band: a fixed `allowance` (UK dividend
allowance, ITA 2007 s.13A), `allowance_steps` by income-tax taxable income (UK personal
savings allowance, s.12B: a cliff) and a `starting_band` (UK starting rate for savings,
s.12). Deductions left over from ordinary income reduce the schedules that take them in
file order (`add_offsets`). It mirrors the calculator's `taxopt.tax.preferential_slices` /
`stack_tops`, which the regime rules below read, so the model and the ledger stack alike.

For a third jurisdiction this is data: a schedule per income kind in statutory order, with
the allowance form its law uses. What still needs code: an income kind the calculator does
not know (`IncomeKind`), a gross-up of an income kind, refundable credits.

taxopt.model.taxes keeps its one-schedule form (IRC §1(h): bands filled by the LP, binaries
on ordinary income only) for rule sets that need no more (`needs_layers` is False): it is
this form's special case with fewer binaries.

Levels l = 0..L bottom up: level 0 is ordinary taxable income O (the `ordinary_segment`
columns of taxes.py); then, per schedule k, a nil-rate level when it has one
(A_k = `nil_rate`[t, k], capped by `_nil_rate_cap`) and its taxed level. S_l is where level
l ends (cumulative), cut into the segments s of `taxes._cut_points` (every schedule's
thresholds), c[l, s] = `stack_segment` (0 <= c <= width of s). Layer l occupies
c[l, s] - c[l-1, s] of segment s, at rate r_l(s) (0 on a nil-rate level), so

    preferential tax = sum_{l>=1} sum_s r_l(s) (c[l, s] - c[l-1, s]).

Rows (per year; l, s, h index levels, segments and cut points above 0):
- stack_fill[t, l]:       sum_s c[l, s] - (S_{l-1} + amount of layer l) = 0   (l >= 1)
- stack_layer[t, l, s]:   c[l, s] - c[l-1, s] >= 0     (a layer never has negative room)
- nil_rate_cap[t, k]:     A_k - P_k <= 0               (the allowance is at most the income)
- stack_below[t, l, h] (exact):  sum_{s below h} c[l, s] - h z >= 0
- stack_above[t, l, h] (exact):  z = 0 => sum_{s from h} c[l, s] <= 0
  with z = "S_l > h": each level fills its segments in order, so each layer sits where the
  statute stacks it. Fast mode leaves the order to the LP (it may stack a layer too low and
  under-state tax; the ledger reports the error). A_k = min(cap, P_k) needs no binary:
  a larger nil-rate part always lowers the tax.
- nil_rate_step, nil_rate_start, nil_rate_above, nil_rate_below: the nil-rate cap
  (`_nil_rate_cap`);
- preferential_nonneg, offset_split, offset_nonneg, offset_order_a, offset_order_b: left-over
  deductions (`add_offsets`).
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.rules import PreferentialSchedule, RuleSet
from taxopt.tax import preferential_slices, stack_tops


def declare_stacking_families(ctx: ModelContext) -> None:
    """Variable families: stack_segment, nil_rate, deduction_offset (taxopt.model.families)."""
    ctx.declare("stack_segment", ("year", "level", "segment"), "stack_{year}_{level}_{segment}")
    ctx.declare("nil_rate", ("year", "schedule"), "nil_rate_{year}_{schedule}")
    ctx.declare("deduction_offset", ("year", "schedule"), "offset_{year}_{schedule}")


def declare_stacking_rows(ctx: ModelContext) -> None:
    """Row families of this module (its docstring and the functions that add them)."""
    ctx.declare_rows("stack_fill", dims=("year", "level"))
    ctx.declare_rows("stack_layer", dims=("year", "level", "segment"))
    ctx.declare_rows("stack_below", "stack_above", dims=("year", "level", "threshold"))
    ctx.declare_rows("nil_rate_cap", "nil_rate_step", "nil_rate_start", dims=("year", "schedule"))
    ctx.declare_rows("nil_rate_above", "nil_rate_below", dims=("year", "schedule", "step"))
    ctx.declare_rows("offset_split", dims=("year",))
    ctx.declare_rows("offset_nonneg", "offset_order_a", "offset_order_b", dims=("year", "schedule"))


def needs_layers(rules: RuleSet) -> bool:
    """Whether the rule set needs this general form: more than one preferential schedule,
    a nil-rate allowance, or a schedule that takes no left-over deductions."""
    prefs = rules.preferential
    return len(prefs) > 1 or any(p.allowance or not p.deductions_offset for p in prefs)


def offsetting_schedule(rules: RuleSet) -> PreferentialSchedule | None:
    """The first schedule that deductions left over from ordinary income reduce."""
    return next((p for p in rules.preferential if p.deductions_offset), None)


def _levels(rules: RuleSet, status: str) -> list[tuple[PreferentialSchedule, bool]]:
    """(schedule, is its nil-rate level) of levels 1..L, bottom up (as `stack_tops`)."""
    levels = []
    for pref in rules.preferential:
        if pref.has_allowance(status):
            levels.append((pref, True))
        levels.append((pref, False))
    return levels


def declare_layers(ctx: ModelContext, year: int, rules: RuleSet, widths: list[float | None]):
    """The year's `stack_segment`, `nil_rate` and `deduction_offset` columns."""
    status = ctx.plan.filing_status
    for level, (pref, nil) in enumerate(_levels(rules, status), start=1):
        if nil:
            steps = pref.allowance_steps.get(status)
            most = max(steps.amounts) if steps else pref.allowance.get(status, 0.0)
            most += pref.starting_band.get(status, 0.0)
            ctx.variables["nil_rate"].add((year, pref.name), high=most)
        for s, width in enumerate(widths):
            ctx.variables["stack_segment"].add((year, level, s), high=width)
    offsetting = [p for p in rules.preferential if p.deductions_offset]
    if len(offsetting) > 1:
        for pref in offsetting:
            ctx.variables["deduction_offset"].add((year, pref.name))


def preferential_amounts(rules: RuleSet, tax_input, result) -> dict:
    """The calculator's preferential income kinds of a year's true taxes, 0 for a kind no
    schedule covers (as tax.calculate's `pref_amounts`)."""
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    amounts = {
        "qualified_dividends": tax_input.qualified_dividends,
        "ltcg": result.included_gains,
        "investment_ordinary_income": tax_input.investment_ordinary_income,
    }
    return {kind: amount if kind in covered else 0.0 for kind, amount in amounts.items()}


def add_offsets(ctx: ModelContext, year: int, rules: RuleSet, amounts: dict, unused, big: float):
    """Deductions beyond ordinary income, U (`unused_deduction`), reduce the schedules that
    take them in file order (as tax.preferential_slices); what is left beyond all of them,
    W (`deduction_beyond_income`), is wasted. `amounts` (schedule name -> expression) are
    reduced in place. One such schedule P (US, UK dividends): P - U + W, with row
    preferential_nonneg: P - U + W >= 0. Several, P_1..P_m with parts u_k
    (`deduction_offset`) of U:

    - offset_split:            sum_k u_k - U = 0
    - offset_nonneg[t, k]:     P_k - u_k (+ W for k = m) >= 0
    - offset_order_a (exact):  y_k = 0 => u_{k+1} <= 0
    - offset_order_b (exact):  y_k = 1 => P_k - u_k <= 0
      with y_k = "the deductions left over exceed P_1 + ... + P_k".
    """
    offsetting = [p for p in rules.preferential if p.deductions_offset]
    wasted = lin({ctx.variables["deduction_beyond_income"][year]: 1.0})
    if len(offsetting) == 1:
        name = offsetting[0].name
        amounts[name] += wasted - lin({unused: 1.0})
        ctx.constrain("preferential_nonneg", year, amounts[name] >= 0)
        return
    parts = [ctx.variables["deduction_offset"][year, p.name] for p in offsetting]
    ctx.constrain("offset_split", year, lin({u: 1.0 for u in parts}) - lin({unused: 1.0}) == 0)
    for k, (pref, part) in enumerate(zip(offsetting, parts, strict=True)):
        last = k == len(offsetting) - 1
        amounts[pref.name] += (wasted if last else lin({})) - lin({part: 1.0})
        ctx.constrain("offset_nonneg", (year, pref.name), amounts[pref.name] >= 0)
        if ctx.exact and not last:
            names = [p.name for p in offsetting[: k + 1]]
            beyond = ctx.binary(
                f"deduction_beyond_{year}_{pref.name}",
                year,
                lambda i, r, rs=rules, n=names: int(_left_over(rs, i, r) > _raw(rs, i, r, n)),
            )
            ctx.implies(
                "offset_order_a", (year, pref.name), beyond, 0, lin({parts[k + 1]: 1.0}), big
            )
            ctx.implies("offset_order_b", (year, pref.name), beyond, 1, amounts[pref.name], big)


def _left_over(rules: RuleSet, tax_input, result) -> float:
    """The calculator's deductions beyond ordinary income (preferential_slices' reduction)."""
    amounts = preferential_amounts(rules, tax_input, result)
    return sum(amounts.values()) - result.preferential_taxable_income


def _raw(rules: RuleSet, tax_input, result, names: list[str]) -> float:
    """The income of the named schedules before deductions."""
    amounts = preferential_amounts(rules, tax_input, result)
    return sum(amounts[k] for p in rules.preferential if p.name in names for k in p.applies_to)


def add_layers(
    ctx: ModelContext, year: int, rules: RuleSet, segments, amounts: dict, ordinary, big: float
):
    """Rows stack_fill, stack_layer and nil_rate_cap of the module docstring for one year,
    with those of `_nil_rate_cap` and `_fill_in_order`. `segments` are level 0's (start, end,
    column) from taxes.ordinary_segments; `amounts` maps each schedule's name to the
    expression of its income after deductions; `ordinary` is ordinary taxable income.
    Returns the preferential tax {column: coef}."""
    status = ctx.plan.filing_status
    column = ctx.variables["stack_segment"]
    starts = [start for start, _end, _col in segments]
    columns = [[col for _s, _e, col in segments]]
    terms: dict = {}
    below_level = lin({col: 1.0 for col in columns[0]})
    # Income-tax taxable income: the base of stepped allowances (AllowanceSteps).
    base = ordinary + lin({})
    for pref in rules.preferential:
        if pref.deductions_offset:
            base += amounts[pref.name]
    for level, (pref, nil) in enumerate(_levels(rules, status), start=1):
        cols = [column[year, level, s] for s in range(len(segments))]
        if nil:
            allowance = ctx.variables["nil_rate"][year, pref.name]
            ctx.constrain("nil_rate_cap", (year, pref.name), allowance - amounts[pref.name] <= 0)
            _nil_rate_cap(ctx, year, rules, pref, allowance, base, below_level, big)
            layer = lin({allowance: 1.0})
        elif pref.has_allowance(status):
            layer = amounts[pref.name] - ctx.variables["nil_rate"][year, pref.name]
        else:
            layer = amounts[pref.name]
        filled = lin({c: 1.0 for c in cols})
        ctx.constrain("stack_fill", (year, level), filled - below_level - layer == 0)
        schedule = pref.brackets[status]
        for s, (col, under) in enumerate(zip(cols, columns[-1], strict=True)):
            ctx.constrain("stack_layer", (year, level, s), col - under >= 0)
            rate = 0.0 if nil else schedule.rate_at(starts[s])
            if rate:
                terms[col] = terms.get(col, 0.0) + rate
                terms[under] = terms.get(under, 0.0) - rate
        columns.append(cols)
        below_level = lin({c: 1.0 for c in cols})
    if ctx.exact:
        for level, cols in enumerate(columns):
            _fill_in_order(ctx, year, rules, level, list(zip(starts, cols, strict=True)), big)
    return terms


def _fill_in_order(ctx: ModelContext, year: int, rules: RuleSet, level: int, cols, big: float):
    """Rows stack_below and stack_above of one level: its segments fill bottom up."""
    status = ctx.plan.filing_status
    for h in sorted({start for start, _col in cols if start > 0}):
        below = lin({col: 1.0 for start, col in cols if start < h})
        above = lin({col: 1.0 for start, col in cols if start >= h})
        over = ctx.binary(
            f"stack_above_{year}_{level}_{int(h)}",
            year,
            lambda i, r, t=h, lv=level: int(_tops(rules, status, i, r)[lv] > t),
        )
        ctx.implies("stack_above", (year, level, h), over, 0, above, big)
        ctx.constrain("stack_below", (year, level, h), below - h * over >= 0)


def _nil_rate_cap(ctx: ModelContext, year: int, rules: RuleSet, pref, nil, base, below, big):
    """Rows capping a schedule's nil-rate part A (`nil_rate`, bounded by its largest
    value) by C + R: C its allowance, R the room left in its starting band b below it
    (tax.preferential_slices). B is the income-tax base (ordinary taxable income plus the
    schedules that take deductions), S the top of the level below.

    A stepped allowance C = a_0 - sum_i (a_{i-1} - a_i) z_i, steps a_i at thresholds h_i:
    - nil_rate_above[t, k, i] (exact):  z_i = 0 => B - h_i <= 0
    - nil_rate_below[t, k, i] (exact):  z_i = 1 => h_i - B <= 0
      with z_i = "B is above h_i" (a cliff: the regime search picks the side).
    With a starting band, w = "S >= b" (exact):
    - nil_rate_step:        w = 0 => A - C - (b - S) <= 0
    - nil_rate_start:       w = 1 => A - C <= 0
    and without one, nil_rate_step: A - C <= 0. Fast mode takes the smallest step and no
    starting band (it over-states tax)."""
    status = ctx.plan.filing_status
    key = (year, pref.name)
    steps = pref.allowance_steps.get(status)
    cap = lin({}, pref.allowance.get(status, 0.0))
    if steps is not None and not ctx.exact:
        cap = lin({}, min(steps.amounts))
    elif steps is not None:
        cap = lin({}, steps.amounts[0])
        for i in range(1, len(steps.thresholds)):
            h = steps.thresholds[i]
            above = ctx.binary(
                f"nil_rate_above_{year}_{pref.name}_{i}",
                year,
                lambda ti, r, t=h: int(_income_tax_base(rules, ti, r) > t),
            )
            cap -= (steps.amounts[i - 1] - steps.amounts[i]) * above
            ctx.implies("nil_rate_above", (year, pref.name, i), above, 0, base - h, big)
            ctx.implies("nil_rate_below", (year, pref.name, i), above, 1, h - base, big)
    band = pref.starting_band.get(status, 0.0)
    excess = lin({nil: 1.0}) - cap
    if band <= 0 or not ctx.exact:
        ctx.constrain("nil_rate_step", key, excess <= 0)
        return
    level = _levels(rules, status).index((pref, True))  # the level below is `level`
    full = ctx.binary(
        f"starting_band_used_{year}_{pref.name}",
        year,
        lambda ti, r, b=band, lv=level: int(_tops(rules, status, ti, r)[lv] >= b),
    )
    ctx.implies("nil_rate_step", key, full, 0, excess - band + below, big)
    ctx.implies("nil_rate_start", key, full, 1, excess, big)


def _income_tax_base(rules: RuleSet, tax_input, result) -> float:
    """Taxable income without the kinds of schedules that take no deductions (UK gains):
    the calculator's `taxable_base`."""
    amounts = preferential_amounts(rules, tax_input, result)
    shielded = [k for p in rules.preferential if not p.deductions_offset for k in p.applies_to]
    return result.taxable_income - sum(amounts[k] for k in shielded)


def _tops(rules: RuleSet, status: str, tax_input, result) -> list[float]:
    """The calculator's level tops for a year's true taxes (the regime of each binary)."""
    slices = preferential_slices(
        rules,
        status,
        result.ordinary_taxable_income,
        preferential_amounts(rules, tax_input, result),
        result.preferential_taxable_income,
        _income_tax_base(rules, tax_input, result),
    )
    return stack_tops(status, result.ordinary_taxable_income, slices)

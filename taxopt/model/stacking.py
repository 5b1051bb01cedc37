"""Several preferential schedules stacked on ordinary taxable income, read from the rules.

The general form of preferential rates in the model: any number of schedules, each taxing
its income kinds on top of everything stacked below it, in the rule file's order (UK:
dividends then gains, ITA 2007 s.16 and TCGA 1992 s.1H), each with an optional nil-rate
`allowance` that is taxed at 0 but still uses up band (UK dividend allowance, ITA 2007
s.13A). It mirrors the calculator's `taxopt.tax.preferential_slices` / `stack_tops`, which
the regime rules below read, so the model and the ledger stack the same way.

taxopt.model.taxes keeps its one-schedule form (IRC §1(h): bands filled by the LP, binaries
on ordinary income only) for rule sets that need no more (`needs_layers` is False): it is
this form's special case with fewer binaries.

Levels l = 0..L bottom up: level 0 is ordinary taxable income O (the `ordinary_segment`
columns of taxes.py); then, per schedule k, a nil-rate level when it has an allowance
(A_k = `nil_rate`[t, k], 0 <= A_k <= allowance) and its taxed level. S_l is where level l
ends (cumulative), cut into the segments s of `taxes._cut_points` (every schedule's
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
  under-state tax; the ledger reports the error). A_k = min(allowance, P_k) needs no binary:
  a larger nil-rate part always lowers the tax.
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.rules import PreferentialSchedule, RuleSet
from taxopt.tax import stack_tops


def needs_layers(rules: RuleSet) -> bool:
    """Whether the rule set needs this general form: more than one preferential schedule,
    a nil-rate allowance, or a schedule that takes no left-over deductions."""
    prefs = rules.preferential
    return len(prefs) > 1 or any(p.allowance or not p.deductions_offset for p in prefs)


def offsetting_schedule(rules: RuleSet) -> PreferentialSchedule | None:
    """The schedule that deductions left over from ordinary income reduce (the model
    supports at most one; RuleSet.optimizer_support_problems refuses more)."""
    return next((p for p in rules.preferential if p.deductions_offset), None)


def _levels(rules: RuleSet, status: str) -> list[tuple[PreferentialSchedule, bool]]:
    """(schedule, is its nil-rate level) of levels 1..L, bottom up (as `stack_tops`)."""
    levels = []
    for pref in rules.preferential:
        if pref.allowance.get(status, 0.0) > 0:
            levels.append((pref, True))
        levels.append((pref, False))
    return levels


def declare_layers(ctx: ModelContext, year: int, rules: RuleSet, widths: list[float | None]):
    """The year's `stack_segment` and `nil_rate` columns."""
    status = ctx.plan.filing_status
    for level, (pref, nil) in enumerate(_levels(rules, status), start=1):
        if nil:
            ctx.variables["nil_rate"].add((year, pref.name), high=pref.allowance[status])
        for s, width in enumerate(widths):
            ctx.variables["stack_segment"].add((year, level, s), high=width)


def covered_amounts(rules: RuleSet, qualified_dividends: float, included_gains: float) -> dict:
    """The calculator's preferential income kinds, 0 for a kind no schedule covers."""
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    return {
        "qualified_dividends": qualified_dividends if "qualified_dividends" in covered else 0.0,
        "ltcg": included_gains if "ltcg" in covered else 0.0,
    }


def add_layers(ctx: ModelContext, year: int, rules: RuleSet, segments, amounts: dict, big: float):
    """Rows of the module docstring for one year. `segments` are level 0's (start, end,
    column) from taxes.ordinary_segments; `amounts` maps each schedule's name to the
    expression of its income after deductions. Returns the preferential tax {column: coef}."""
    status = ctx.plan.filing_status
    column = ctx.variables["stack_segment"]
    starts = [start for start, _end, _col in segments]
    columns = [[col for _s, _e, col in segments]]
    terms: dict = {}
    below_level = lin({col: 1.0 for col in columns[0]})
    for level, (pref, nil) in enumerate(_levels(rules, status), start=1):
        cols = [column[year, level, s] for s in range(len(segments))]
        if nil:
            allowance = ctx.variables["nil_rate"][year, pref.name]
            ctx.constrain("nil_rate_cap", (year, pref.name), allowance - amounts[pref.name] <= 0)
            layer = lin({allowance: 1.0})
        elif pref.allowance.get(status, 0.0) > 0:
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


def _tops(rules: RuleSet, status: str, tax_input, result) -> list[float]:
    """The calculator's level tops for a year's true taxes (the regime of each binary)."""
    amounts = covered_amounts(rules, tax_input.qualified_dividends, result.included_gains)
    return stack_tops(
        rules,
        status,
        result.ordinary_taxable_income,
        amounts,
        result.preferential_taxable_income,
    )

"""The pure US state income tax calculator: one year's income -> state tax by kind.

Reads a `StateRuleSet` (data; no per-state code) and the federal figures a state starts
from. Written with numpy operations, so every amount may be a float or an array (one
element per simulated path); filing status and ages are shared by all elements.

Order of computation:
1. state income: federal AGI, federal taxable income, or the sum of the state's kinds;
2. subtractions in file order (Social Security, retirement income by age, caps, tiers
   and income cliffs), each from what earlier ones left of its kinds -> state AGI;
3. deductions and exemptions (per person or per unit, phase-outs, cliffs) -> taxable
   income; deductions fall on bracket-taxed income before flat-rate kinds;
4. brackets on the rest (with any benefit recapture), flat rates on their kinds (MA
   short-term gains), non-refundable credits against bracket and flat tax, surtaxes on
   taxable income above a threshold;
5. tax caps at low incomes (MA no-tax status and limited income credit);
6. a local overlay's schedule on the state taxable income (New York City).

Amounts are nominal dollars of the tax year; rates are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from taxopt.rules import RuleSet, Schedule
from taxopt.state_rules import (
    Allowance,
    IncomeKind,
    Measure,
    Phaseout,
    StateRuleSet,
    Subtraction,
    state_rules_for,
)
from taxopt.tax import TaxInput, TaxResult, compute_tax, schedule_tax_between

Amount = float | np.ndarray


@dataclass(frozen=True)
class StateTaxInput:
    """One year's income of one filing unit, with the federal figures the state reads.

    The ordinary kinds (wages, interest, IRA distributions, pensions, short-term gains)
    add up to the federal ordinary income.
    """

    filing_status: str
    ages: tuple[int, ...]  # age at the end of the year of each person in the unit
    wages: Amount = 0.0
    interest: Amount = 0.0
    ira_distributions: Amount = 0.0
    pension_income: Amount = 0.0
    short_term_gains: Amount = 0.0
    qualified_dividends: Amount = 0.0
    ltcg: Amount = 0.0
    social_security: Amount = 0.0  # gross benefits
    federal_agi: Amount = 0.0
    federal_taxable_income: Amount = 0.0
    federal_taxable_social_security: Amount = 0.0

    def amount(self, kind: IncomeKind) -> np.ndarray:
        return np.asarray(getattr(self, kind.value), dtype=float)


@dataclass(frozen=True)
class StateTaxResult:
    """State tax by kind and the quantities it was computed from (nominal dollars)."""

    state: str  # the rule file's name
    state_income: Amount  # before subtractions
    subtractions: dict[str, Amount]
    state_agi: Amount  # after subtractions
    deductions: dict[str, Amount]
    taxable_income: Amount
    bracket_tax: Amount
    flat_rate_taxes: dict[str, Amount]
    surtaxes: dict[str, Amount]
    credits: dict[str, Amount]  # as allowed: never more than bracket and flat-rate tax
    reliefs: dict[str, Amount]  # tax taken off by a tax cap (MA no-tax status, LIC)
    local_tax: Amount  # a local overlay's tax on the state taxable income (NYC)
    total_tax: Amount  # state and local

    def as_dict(self) -> dict:
        def plain(value: object) -> object:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            array = np.asarray(value)
            return float(array) if array.ndim == 0 else array.tolist()

        return {
            name: (value if name == "state" else plain(value))
            for name, value in self.__dict__.items()
        }


def compute_state_tax(rules: StateRuleSet, income: StateTaxInput) -> StateTaxResult:
    """State income tax of one filing unit (rules already indexed to the tax year)."""
    status = income.filing_status
    if status not in rules.meta.filing_statuses:
        raise ValueError(
            f"filing status '{status}' is not defined by state rules {rules.name} "
            f"(choose from {', '.join(rules.meta.filing_statuses)})"
        )
    included = _included_kinds(rules, income)
    state_income = _starting_income(rules, income, included)
    measures = {
        Measure.FEDERAL_AGI: np.asarray(income.federal_agi, dtype=float),
        Measure.STATE_INCOME: state_income,
    }

    remaining = dict(included)
    subtractions = {
        sub.name: _subtract(sub, status, income.ages, remaining, measures)
        for sub in rules.subtractions
    }
    state_agi = np.maximum(0.0, state_income - sum(subtractions.values(), np.zeros(())))
    measures[Measure.STATE_AGI] = state_agi

    deductions = {d.name: _allowance(d, status, income.ages, measures) for d in rules.deductions}
    taxable = np.maximum(0.0, state_agi - sum(deductions.values(), np.zeros(())))

    # Flat-rate kinds keep their own rate; deductions reach them only after bracket income.
    flat_taxes: dict[str, np.ndarray] = {}
    left = taxable
    flat_parts = []
    for flat in rules.flat_rates:
        part = np.minimum(left, sum((remaining[k] for k in flat.kinds), np.zeros(())))
        flat_parts.append(part)
        left = left - part
    bracket_income = left
    for flat, part in zip(rules.flat_rates, flat_parts, strict=True):
        flat_taxes[flat.name] = flat.rate * part
    schedule = rules.brackets.schedules[status]
    bracket_tax = schedule_tax(schedule, bracket_income)
    if rules.brackets.recapture is not None:
        recapture = rules.brackets.recapture
        bracket_tax = bracket_tax + recaptured_benefit(
            schedule, bracket_income, measures[recapture.measure], recapture.start[status],
            recapture.phase_in,
        )  # fmt: skip
    before_credits = bracket_tax + sum(flat_taxes.values(), np.zeros(()))

    wanted = {c.name: _allowance(c, status, income.ages, measures) for c in rules.credits}
    credits = {}
    room = before_credits
    for name, amount in wanted.items():
        credits[name] = np.minimum(amount, room)
        room = room - credits[name]

    surtaxes = {
        s.name: s.rate * np.maximum(0.0, taxable - s.threshold[status]) for s in rules.surtaxes
    }
    total = room + sum(surtaxes.values(), np.zeros(()))
    reliefs = {}
    for cap in rules.tax_caps:
        measure = measures[cap.measure]
        limit = np.maximum(0.0, cap.rate * (measure - cap.threshold[status]))
        if cap.max_income is not None:
            limit = np.where(measure <= cap.max_income[status], limit, np.inf)
        reliefs[cap.name] = np.maximum(0.0, total - limit)
        total = total - reliefs[cap.name]
    local_tax = np.zeros(())
    if rules.local is not None:
        local_tax = schedule_tax(rules.local.schedules[status], taxable)
        total = total + local_tax
    return StateTaxResult(
        state=rules.name,
        state_income=state_income,
        subtractions=subtractions,
        state_agi=state_agi,
        deductions=deductions,
        taxable_income=taxable,
        bracket_tax=bracket_tax,
        flat_rate_taxes=flat_taxes,
        surtaxes=surtaxes,
        credits=credits,
        reliefs=reliefs,
        local_tax=local_tax,
        total_tax=total,
    )


def schedule_tax(schedule: Schedule, income: Amount) -> np.ndarray:
    """Tax on `income` (float or array) under a marginal-rate schedule."""
    return schedule_tax_between(schedule, 0.0, np.asarray(income, dtype=float))


def recaptured_benefit(
    schedule: Schedule, taxable: Amount, measure: Amount, start: float, phase_in: float
) -> np.ndarray:
    """Tax added by a benefit recapture (see `state_rules.Recapture`) on top of the schedule.

    `taxable` is the income the schedule taxes; `measure` the income the recapture reads
    (New York AGI). Both may be arrays.
    """
    taxable = np.asarray(taxable, dtype=float)
    measure = np.asarray(measure, dtype=float)
    starts = np.asarray(schedule.thresholds, dtype=float)
    rates = np.asarray(schedule.rates, dtype=float)
    tax_at_starts = schedule_tax(schedule, starts)
    plain = schedule_tax(schedule, taxable)
    first = max(0, int(np.searchsorted(starts, start, side="right")) - 1)
    # The bracket taxable income falls in ("over t_k"): income equal to t_k stays below.
    bracket = np.clip(np.searchsorted(starts, taxable, side="left") - 1, 0, len(starts) - 1)

    def phase(excess: np.ndarray) -> np.ndarray:
        return np.clip(excess / phase_in, 0.0, 1.0)

    low = (rates[first] * taxable - plain) * phase(measure - start)
    lower = np.maximum(bracket - 1, 0)
    base = rates[lower] * starts[bracket] - tax_at_starts[bracket]
    step = (rates[bracket] - rates[lower]) * starts[bracket]
    high = base + step * phase(measure - starts[bracket])
    extra = np.where(bracket <= first, low, high)
    extra = np.where(measure > start, extra, 0.0)
    top = rates[-1] * taxable - plain
    return np.where(measure > starts[-1], top, extra)


# The recapture's pieces: probe spacing on the last (unbounded) piece, dollars, and the
# tolerance of the linearity check, dollars per dollar of tax.
PIECE_PROBE_DOLLARS = 1000.0
PIECE_LINEAR_TOLERANCE = 1e-6


@dataclass(frozen=True)
class LinearPiece:
    """slope x m + intercept for m in (the previous piece's upper, upper] (None: no end)."""

    upper: float | None
    slope: float
    intercept: float


def recapture_pieces(rules: StateRuleSet, status: str, deductions: float) -> list[LinearPiece]:
    """The benefit recapture (`brackets.recapture`, on state AGI m) as a piecewise-linear
    function of m, with taxable income max(0, m - deductions) (fixed deductions): the
    pieces (lo, hi] between the points where a bracket, a phase-in or the top rate starts,
    each fitted from `recaptured_benefit` itself and checked linear, equal neighbours
    merged. ValueError where it is not linear (a lower bracket still phasing in)."""
    recapture = rules.brackets.recapture
    assert recapture is not None
    schedule = rules.brackets.schedules[status]
    start = recapture.start[status]

    points = {deductions, start, start + recapture.phase_in}
    for threshold in schedule.thresholds:
        points |= {deductions + threshold, threshold, threshold + recapture.phase_in}
    uppers: list[float | None] = [p for p in sorted(points) if p > 0]
    # Each piece's probes (a, b, the midpoint checked), evaluated in one array call.
    probes: list[tuple[float, float, float]] = []
    low = 0.0
    for upper in [*uppers, None]:
        if upper is None:
            step = PIECE_PROBE_DOLLARS
            probes.append((low + step, low + 2 * step, low + 3 * step))
        else:
            probes.append((low + (upper - low) / 4, upper, low + (upper - low) / 2))
            low = upper
    measure = np.array(probes, dtype=float)
    taxable = np.maximum(0.0, measure - deductions)
    values = recaptured_benefit(schedule, taxable, measure, start, recapture.phase_in)
    pieces: list[LinearPiece] = []
    low = 0.0
    for upper, (a, b, probe), (at_a, at_b, at_probe) in zip(
        [*uppers, None], probes, values.tolist(), strict=True
    ):
        slope = (at_b - at_a) / (b - a)
        intercept = at_a - slope * a
        if abs(slope * probe + intercept - at_probe) > PIECE_LINEAR_TOLERANCE * max(
            1.0, at_probe
        ):
            raise ValueError(f"{rules.name}: the recapture is not linear from {low:,.0f}")
        last = pieces[-1] if pieces else None
        if (
            last is not None
            and abs(last.slope - slope) <= PIECE_LINEAR_TOLERANCE
            and abs(last.intercept - intercept) <= PIECE_LINEAR_TOLERANCE * max(1.0, abs(intercept))
        ):
            pieces[-1] = LinearPiece(upper, slope, intercept)
        else:
            pieces.append(LinearPiece(upper, slope, intercept))
        if upper is not None:
            low = upper
    return pieces


def convex_floor(pieces: list[LinearPiece], upto: float) -> list[tuple[float, float]]:
    """Lines (slope, intercept) whose maximum is the largest convex function below the
    pieces' function on [0, upto]: the lower convex hull of the pieces' end points (the
    value at each upper end and the limit just above each lower end). Each line is below
    the function everywhere on [0, upto]."""
    points: list[tuple[float, float]] = []
    low = 0.0
    for piece in pieces:
        high = upto if piece.upper is None else min(piece.upper, upto)
        if low <= upto:
            points.append((low, piece.slope * low + piece.intercept))
            points.append((high, piece.slope * high + piece.intercept))
        if piece.upper is None or piece.upper >= upto:
            break
        low = piece.upper
    hull: list[tuple[float, float]] = []
    for point in sorted(points):
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) <= 0:
                hull.pop()  # hull[-1] is on or above the chord: not on the lower hull
            else:
                break
        hull.append(point)
    lines = []
    for (x1, y1), (x2, y2) in zip(hull, hull[1:], strict=False):
        if x2 > x1:
            slope = (y2 - y1) / (x2 - x1)
            lines.append((slope, y1 - slope * x1))
    return lines


# ---------------------------------------------------------------------------------------
# Steps


def _included_kinds(rules: StateRuleSet, income: StateTaxInput) -> dict[IncomeKind, np.ndarray]:
    """How much of each income kind is inside state income before subtractions."""
    if rules.start.base == "components":
        listed = set(rules.start.kinds)
        return {k: income.amount(k) if k in listed else np.zeros(()) for k in IncomeKind}
    out = {k: income.amount(k) for k in IncomeKind}
    # The federal return holds only the taxable part of Social Security.
    out[IncomeKind.SOCIAL_SECURITY] = np.asarray(
        income.federal_taxable_social_security, dtype=float
    )
    return out


def _starting_income(
    rules: StateRuleSet, income: StateTaxInput, included: dict[IncomeKind, np.ndarray]
) -> np.ndarray:
    if rules.start.base == "federal_agi":
        return np.asarray(income.federal_agi, dtype=float)
    if rules.start.base == "federal_taxable_income":
        return np.asarray(income.federal_taxable_income, dtype=float)
    return sum(included.values(), np.zeros(()))


def _subtract(
    sub: Subtraction,
    status: str,
    ages: tuple[int, ...],
    remaining: dict[IncomeKind, np.ndarray],
    measures: dict[Measure, np.ndarray],
) -> np.ndarray:
    """The subtraction's amount; takes it from `remaining`, kind by kind in listed order."""
    people = sub.ages.people(ages)
    if people == 0:
        return np.zeros(())
    available = {
        k: np.minimum(remaining[k], sub.kind_limits_per_person[k] * people)
        if k in sub.kind_limits_per_person
        else remaining[k]
        for k in sub.kinds
    }
    eligible = sum(available.values(), np.zeros(()))
    measure = measures[sub.measure]
    if sub.income_tiers:
        amount = np.zeros_like(measure * eligible)
        decided = np.zeros(np.shape(amount), dtype=bool)
        for tier in sub.income_tiers:
            inside = ~decided & (measure <= tier.max_income[status])
            share = tier.fraction[status] * eligible
            if tier.cap is not None:
                share = np.minimum(share, tier.cap[status])
            amount = np.where(inside, share, amount)
            decided |= inside
    else:
        amount = sub.fraction * eligible
        cap = sub.fixed_cap(status, ages)
        if cap is not None:
            amount = np.minimum(amount, cap)
        if sub.income_limit is not None:
            amount = np.where(measure <= sub.income_limit[status], amount, 0.0)
    left = amount
    for kind in sub.kinds:
        take = np.minimum(available[kind], left)
        remaining[kind] = remaining[kind] - take
        left = left - take
    return amount


def _allowance(
    table: Allowance, status: str, ages: tuple[int, ...], measures: dict[Measure, np.ndarray]
) -> np.ndarray:
    """A deduction's or credit's amount for the unit after phase-out and income cliff."""
    people = table.ages.people(ages)
    count = people if table.per_person else min(people, 1)
    amount = np.asarray(float(table.amount[status]))
    if table.phaseout is not None:
        amount = np.maximum(0.0, amount - _phaseout_cut(table.phaseout, status, measures))
    amount = amount * count
    if table.income_limit is not None:
        measure = measures[table.limit_measure]
        amount = np.where(measure <= table.income_limit[status], amount, 0.0)
    return amount


def _phaseout_cut(phaseout: Phaseout, status: str, measures: dict[Measure, np.ndarray]):
    excess = np.maximum(0.0, measures[phaseout.measure] - phaseout.start[status])
    if phaseout.step is not None:
        excess = np.ceil(excess / phaseout.step) * phaseout.step
    return phaseout.rate * excess


# ---------------------------------------------------------------------------------------
# From the federal calculator's input and result


@dataclass(frozen=True)
class OrdinaryParts:
    """Parts of federal ordinary income that a state may treat differently (dollars, or
    arrays with one element per simulated path).

    Interest is the federal investment income less short-term gains (both count for
    NIIT); wages are the rest of ordinary income.
    """

    ira_distributions: Amount = 0.0
    pension_income: Amount = 0.0
    short_term_gains: Amount = 0.0

    def total(self) -> Amount:
        return self.ira_distributions + self.pension_income + self.short_term_gains


def state_input(federal: TaxInput, result: TaxResult, parts: OrdinaryParts) -> StateTaxInput:
    """The state calculator's input from the federal input, its result and the parts."""
    income = {name: getattr(federal, name) for name in _FEDERAL_INCOME}
    return _state_input_of(federal.filing_status, federal.ages, income, result, parts)


# The federal income fields a state input is split from (TaxInput's names).
_FEDERAL_INCOME = (
    "ordinary_income",
    "investment_ordinary_income",
    "qualified_dividends",
    "ltcg",
    "social_security",
)


def _state_input_of(
    status: str, ages: tuple[int, ...], income: dict, result, parts: OrdinaryParts
) -> StateTaxInput:
    """The state input from the federal income fields (`_FEDERAL_INCOME`, floats or
    arrays), the federal result (AGI, taxable income, taxable benefits) and the parts."""
    interest = np.maximum(0.0, income["investment_ordinary_income"] - parts.short_term_gains)
    wages = np.maximum(0.0, income["ordinary_income"] - parts.total() - interest)
    return StateTaxInput(
        filing_status=status,
        ages=ages,
        wages=wages,
        interest=interest,
        ira_distributions=parts.ira_distributions,
        pension_income=parts.pension_income,
        short_term_gains=parts.short_term_gains,
        qualified_dividends=income["qualified_dividends"],
        ltcg=income["ltcg"],
        social_security=income["social_security"],
        federal_agi=result.agi,
        federal_taxable_income=result.taxable_income,
        federal_taxable_social_security=result.taxable_social_security,
    )


def plan_state_tax_arrays(
    state: str | None,
    year: int,
    inflation: float,
    status: str,
    ages: tuple[int, ...],
    income: dict,
    result,
    parts: OrdinaryParts,
) -> Amount:
    """`plan_state_tax` over arrays (the simulator's paths): `income` holds the federal
    income fields (`_FEDERAL_INCOME`) and `result` is the federal calculator's result on
    them; 0 without a state."""
    if state is None:
        return 0.0
    rules = state_rules_for(state, year, inflation)
    return compute_state_tax(rules, _state_input_of(status, ages, income, result, parts)).total_tax


def plan_state_result(
    state: str | None,
    year: int,
    inflation: float,
    federal: TaxInput,
    result: TaxResult,
    parts: OrdinaryParts,
) -> StateTaxResult | None:
    """A plan's state tax result for one year (None without a state): the rules of the
    state code for `year` indexed at `inflation`, on the federal calculation's figures."""
    if state is None:
        return None
    rules = state_rules_for(state, year, inflation)
    return compute_state_tax(rules, state_input(federal, result, parts))


def plan_state_tax(
    state: str | None,
    year: int,
    inflation: float,
    federal: TaxInput,
    result: TaxResult,
    parts: OrdinaryParts,
) -> float:
    """A plan's state tax for one year (0 without a state), see `plan_state_result`."""
    state_result = plan_state_result(state, year, inflation, federal, result, parts)
    return 0.0 if state_result is None else float(state_result.total_tax)


def state_tax_of(
    federal_rules: RuleSet, state_rules: StateRuleSet, federal: TaxInput, parts: OrdinaryParts
) -> StateTaxResult:
    """State tax of a household given as the federal calculator's input plus parts."""
    result = compute_tax(federal_rules, federal)
    return compute_state_tax(state_rules, state_input(federal, result, parts))


# How one more dollar of each kind enters the federal input and the parts.
_BUMPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wages": (("ordinary_income",), ()),
    "interest": (("ordinary_income", "investment_ordinary_income"), ()),
    "ira_distributions": (("ordinary_income",), ("ira_distributions",)),
    "pension_income": (("ordinary_income",), ("pension_income",)),
    "qualified_dividends": (("qualified_dividends",), ()),
    "ltcg": (("ltcg",), ()),
    "social_security": (("social_security",), ()),
}


def state_marginal_rates(
    federal_rules: RuleSet,
    state_rules: StateRuleSet,
    federal: TaxInput,
    parts: OrdinaryParts,
    step: float = 100.0,
) -> dict[str, float]:
    """State tax on one more dollar of each income kind, by finite difference.

    The federal figures move with the income (AGI, taxable Social Security), so the rate
    includes every interaction; across a cliff it is the cliff's jump over `step`.
    """
    base = float(state_tax_of(federal_rules, state_rules, federal, parts).total_tax)
    out = {}
    for kind, (federal_fields, part_fields) in _BUMPS.items():
        bumped = replace(federal, **{f: getattr(federal, f) + step for f in federal_fields})
        bumped_parts = replace(parts, **{f: getattr(parts, f) + step for f in part_fields})
        tax = float(state_tax_of(federal_rules, state_rules, bumped, bumped_parts).total_tax)
        out[kind] = (tax - base) / step
    return out

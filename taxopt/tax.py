"""The pure tax calculator: one year's income of one filing unit -> taxes by kind.

The only place in taxopt where tax arithmetic lives. The ledger, the simulator, the CLI
and the tests call it; the optimizer encodes the same schedules as constraints from the
same rule objects, and the ledger checks the two agree.

Pass rules already indexed to the tax year (`RuleSet.for_year`). Amounts are nominal
currency units of that year; rates are fractions.

Order of computation (US federal, generalised by the rule data):
1. taxable part of public-pension benefits from provisional income (IRC §86);
2. gains after the annual exemption and inclusion rate;
3. AGI = ordinary + taxable benefits + qualified dividends + included gains (= MAGI here);
4. deductions, each possibly per person aged `min_age`+ and phased out by MAGI;
5. taxable income; preferential income is the part of it that is dividends and gains
   (deductions fall on ordinary income first);
6. ordinary schedule on the ordinary part; preferential schedules stacked on top, capped
   at the tax the same income would bear as ordinary income;
7. non-refundable credits; surtaxes (NIIT); early-withdrawal penalty.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from taxopt.rules import Deduction, RuleSet, Schedule


@dataclass(frozen=True)
class TaxInput:
    """One year's income of one filing unit, in nominal currency of that year."""

    filing_status: str
    ages: tuple[int, ...]  # age at the end of the year of each person in the filing unit
    ordinary_income: float = 0.0  # wages, pensions, IRA distributions, interest, staking
    investment_ordinary_income: float = 0.0  # the part of ordinary_income that is investment income
    qualified_dividends: float = 0.0
    ltcg: float = 0.0  # net long-term capital gain realized (>= 0)
    social_security: float = 0.0  # gross public-pension benefits
    early_distributions: float = 0.0  # withdrawals subject to the early-withdrawal penalty
    year: int | None = None  # tax year, for deductions that apply only in some years

    def __post_init__(self) -> None:
        for name in (
            "ordinary_income",
            "investment_ordinary_income",
            "qualified_dividends",
            "ltcg",
            "social_security",
            "early_distributions",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative (got {getattr(self, name)})")


@dataclass(frozen=True)
class TaxResult:
    """Taxes by kind and the quantities they were computed from (nominal currency)."""

    taxable_social_security: float
    included_gains: float
    agi: float
    magi: float
    deductions: dict[str, float]
    total_deductions: float
    taxable_income: float
    ordinary_taxable_income: float
    preferential_taxable_income: float
    ordinary_tax: float
    capital_gains_tax: float
    credits: float
    niit: float
    surtaxes: dict[str, float]
    early_withdrawal_penalty: float
    total_tax: float
    bracket_fill: list[float] = field(default_factory=list)  # ordinary income in each bracket

    @property
    def effective_rate(self) -> float:
        """Total tax over AGI (0 when AGI is 0)."""
        return self.total_tax / self.agi if self.agi > 0 else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["effective_rate"] = self.effective_rate
        return out


def schedule_tax(schedule: Schedule, income: float) -> float:
    """Tax on `income` under a marginal-rate schedule."""
    return schedule_tax_between(schedule, 0.0, income)


def schedule_tax_between(schedule: Schedule, low: float, high: float) -> float:
    """Tax on the slice of income from `low` to `high` under the schedule's rates."""
    if high <= low:
        return 0.0
    tax = 0.0
    bounds = [*schedule.thresholds[1:], float("inf")]
    for start, end, rate in zip(schedule.thresholds, bounds, schedule.rates, strict=True):
        overlap = min(high, end) - max(low, start)
        if overlap > 0:
            tax += overlap * rate
    return tax


def bracket_fill(schedule: Schedule, income: float) -> list[float]:
    """Amount of `income` that falls in each bracket of the schedule."""
    bounds = [*schedule.thresholds[1:], float("inf")]
    return [
        max(0.0, min(income, end) - start)
        for start, end in zip(schedule.thresholds, bounds, strict=True)
    ]


def marginal_schedule_rate(schedule: Schedule, income: float) -> float:
    """Rate of the bracket that the next unit of income falls in."""
    rate = schedule.rates[0]
    for threshold, bracket_rate in zip(schedule.thresholds, schedule.rates, strict=True):
        if income >= threshold:
            rate = bracket_rate
    return rate


def taxable_benefits(rules: RuleSet, status: str, benefits: float, other_income: float) -> float:
    """Taxable part of public-pension benefits (IRC §86 worksheet when the table exists)."""
    table = rules.benefit_taxation
    if benefits <= 0:
        return 0.0
    if table is None:
        return benefits
    provisional = other_income + table.benefit_fraction * benefits
    base1, base2 = table.base1[status], table.base2[status]
    if provisional <= base1:
        return 0.0
    if provisional <= base2:
        return min(table.rate1 * benefits, table.rate1 * (provisional - base1))
    first_tier = min(table.rate1 * benefits, table.rate1 * (base2 - base1))
    return min(table.max_fraction * benefits, table.rate2 * (provisional - base2) + first_tier)


def deduction_amount(
    deduction: Deduction, status: str, ages: tuple[int, ...], magi: float
) -> float:
    """One deduction's amount for the filing unit, after any phase-out."""
    base = deduction.amount[status]
    if deduction.per_qualifying_person:
        minimum = deduction.min_age if deduction.min_age is not None else 0
        people = sum(1 for age in ages if age >= minimum)
    else:
        people = 1
    if people == 0:
        return 0.0
    if deduction.phaseout is not None:
        excess = max(0.0, magi - deduction.phaseout.start[status])
        base = max(0.0, base - deduction.phaseout.rate * excess)
    return base * people


def _measure(deduction: Deduction, measures: dict):
    """The income a deduction's phase-out is measured on (MAGI when it has none)."""
    if deduction.phaseout is None:
        return measures["magi"]
    return measures[deduction.phaseout.measure]


def included_gains(rules: RuleSet, status: str, ltcg: float) -> float:
    """Realized long-term gains that enter income, after exemption and inclusion rate."""
    exemption = rules.capital_gains.annual_exemption.get(status, 0.0)
    return max(0.0, ltcg - exemption) * rules.capital_gains.inclusion_rate


def compute_tax(rules: RuleSet, income: TaxInput) -> TaxResult:
    """All taxes of one filing unit for one year under `rules` (already indexed to the year)."""
    status = income.filing_status
    if status not in rules.meta.filing_statuses:
        raise ValueError(
            f"filing status '{status}' is not defined by rule set {rules.name} "
            f"(choose from {', '.join(rules.meta.filing_statuses)})"
        )
    year = income.year if income.year is not None else rules.year
    gains = included_gains(rules, status, income.ltcg)
    other_income = income.ordinary_income + income.qualified_dividends + gains
    taxable_ss = taxable_benefits(rules, status, income.social_security, other_income)
    agi = other_income + taxable_ss
    magi = agi

    # A phase-out measures MAGI (US) or total income without capital gains (UK adjusted
    # net income, ITA 2007 s.58).
    measures = {"magi": magi, "total_income": agi - gains}
    deductions = {
        d.name: deduction_amount(d, status, income.ages, _measure(d, measures))
        for d in rules.deductions
        if d.applies_in(year)
    }
    total_deductions = sum(deductions.values())

    # Income kinds that a preferential schedule covers; the rest is ordinary. Deductions
    # fall on ordinary income first, then on preferential income whose schedule allows it.
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    pref_amounts = {
        "qualified_dividends": (
            income.qualified_dividends if "qualified_dividends" in covered else 0.0
        ),
        "ltcg": gains if "ltcg" in covered else 0.0,
    }
    shielded = sum(pref_amounts[k] for k in _kinds_without_offset(rules))
    taxable_base = max(0.0, agi - shielded - total_deductions)
    taxable_income = taxable_base + shielded
    pref_in_base = min(taxable_base, sum(pref_amounts.values()) - shielded)
    preferential_income = pref_in_base + shielded
    ordinary_taxable = taxable_base - pref_in_base

    schedule = rules.ordinary.brackets[status]
    ordinary_tax = schedule_tax(schedule, ordinary_taxable)
    stacked = _stacked_preferential_tax(
        rules, status, ordinary_taxable, pref_amounts, preferential_income
    )
    # A preferential schedule is relief: the tax with it never exceeds the tax on all
    # taxable income as ordinary (IRC §1(h)(1) "shall not exceed"; Form 1040 Qualified
    # Dividends and Capital Gain Tax Worksheet, "smaller of" line). It binds where a 15%
    # band starts inside the 12% bracket (2026 single: 49,450 vs 50,400).
    all_ordinary_extra = schedule_tax(schedule, taxable_income) - ordinary_tax
    capital_gains_tax = max(0.0, min(stacked, all_ordinary_extra))

    credit_total = sum((c.rate * c.amount[status] for c in rules.credits), 0.0)
    credits = min(credit_total, ordinary_tax + capital_gains_tax)

    nii = income.investment_ordinary_income + income.qualified_dividends + gains
    surtaxes = {
        s.name: s.rate * min(nii, max(0.0, magi - s.threshold[status])) for s in rules.surtaxes
    }
    niit = sum(surtaxes.values())

    penalty = 0.0
    if rules.early_withdrawal is not None:
        penalty = rules.early_withdrawal.penalty_rate * income.early_distributions

    total = ordinary_tax + capital_gains_tax - credits + niit + penalty
    return TaxResult(
        taxable_social_security=taxable_ss,
        included_gains=gains,
        agi=agi,
        magi=magi,
        deductions=deductions,
        total_deductions=total_deductions,
        taxable_income=taxable_income,
        ordinary_taxable_income=ordinary_taxable,
        preferential_taxable_income=preferential_income,
        ordinary_tax=ordinary_tax,
        capital_gains_tax=capital_gains_tax,
        credits=credits,
        niit=niit,
        surtaxes=surtaxes,
        early_withdrawal_penalty=penalty,
        total_tax=total,
        bracket_fill=bracket_fill(schedule, ordinary_taxable),
    )


def _kinds_without_offset(rules: RuleSet) -> list[str]:
    """Income kinds whose schedule takes no left-over deductions (UK gains)."""
    return [k for p in rules.preferential if not p.deductions_offset for k in p.applies_to]


def _stacked_preferential_tax(
    rules: RuleSet,
    status: str,
    ordinary_taxable: float,
    amounts: dict[str, float],
    preferential_income: float,
) -> float:
    """Tax each preferential schedule's income on top of what is already stacked below it.

    When deductions exceed ordinary income, the shortfall reduces preferential income;
    it is taken from the schedules in file order.
    """
    reduction = sum(amounts.values()) - preferential_income
    base = ordinary_taxable
    tax = 0.0
    for pref in rules.preferential:
        slice_amount = sum(amounts[kind] for kind in pref.applies_to)
        cut = min(reduction, slice_amount) if pref.deductions_offset else 0.0
        slice_amount -= cut
        reduction -= cut
        allowance = min(slice_amount, pref.allowance.get(status, 0.0))
        tax += schedule_tax_between(pref.brackets[status], base + allowance, base + slice_amount)
        base += slice_amount
    return tax


def marginal_rates(rules: RuleSet, income: TaxInput, step: float = 100.0) -> dict[str, float]:
    """Marginal total-tax rate of one more unit of each income kind, by finite difference.

    Captures every interaction (benefit taxation, phase-outs, stacking), so it can differ
    from the bracket rate.
    """
    base = compute_tax(rules, income).total_tax
    out = {}
    for kind in ("ordinary_income", "qualified_dividends", "ltcg"):
        bumped = _bump(income, kind, step)
        out[kind] = (compute_tax(rules, bumped).total_tax - base) / step
    return out


def _bump(income: TaxInput, kind: str, step: float) -> TaxInput:
    values = asdict(income)
    values[kind] += step
    values["ages"] = tuple(values["ages"])
    return TaxInput(**values)


# ---------------------------------------------------------------------------------------
# The same calculator over numpy arrays: one element per simulated path.


@dataclass(frozen=True)
class TaxArrays:
    """Taxes of many filing units that share a status, ages and year (nominal currency).

    Each field is an array with one element per unit (a simulated path); the values are
    those `compute_tax` gives for that unit, computed in the same order.
    """

    taxable_social_security: np.ndarray
    included_gains: np.ndarray
    agi: np.ndarray
    total_deductions: np.ndarray
    taxable_income: np.ndarray
    ordinary_taxable_income: np.ndarray
    preferential_taxable_income: np.ndarray
    ordinary_tax: np.ndarray
    capital_gains_tax: np.ndarray
    credits: np.ndarray
    niit: np.ndarray
    early_withdrawal_penalty: np.ndarray
    total_tax: np.ndarray


def compute_tax_arrays(
    rules: RuleSet,
    filing_status: str,
    ages: tuple[int, ...],
    *,
    ordinary_income: np.ndarray,
    investment_ordinary_income: np.ndarray | float = 0.0,
    qualified_dividends: np.ndarray | float = 0.0,
    ltcg: np.ndarray | float = 0.0,
    social_security: np.ndarray | float = 0.0,
    early_distributions: np.ndarray | float = 0.0,
    year: int | None = None,
) -> TaxArrays:
    """`compute_tax` for arrays of incomes (one element per path), same rules and order.

    Status, ages and year are shared by all elements (they do not vary across simulated
    return paths). Incomes must be non-negative, as in `TaxInput`.
    """
    if filing_status not in rules.meta.filing_statuses:
        raise ValueError(
            f"filing status '{filing_status}' is not defined by rule set {rules.name} "
            f"(choose from {', '.join(rules.meta.filing_statuses)})"
        )
    status = filing_status
    ordinary = np.asarray(ordinary_income, dtype=float)
    shape = ordinary.shape

    def arr(value: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), shape)

    qualified, benefits = arr(qualified_dividends), arr(social_security)
    year = year if year is not None else rules.year
    exemption = rules.capital_gains.annual_exemption.get(status, 0.0)
    gains = np.maximum(0.0, arr(ltcg) - exemption) * rules.capital_gains.inclusion_rate
    other_income = ordinary + qualified + gains
    taxable_ss = _taxable_benefits_arrays(rules, status, benefits, other_income)
    agi = other_income + taxable_ss
    magi = agi

    measures = {"magi": magi, "total_income": agi - gains}
    total_deductions = np.zeros(shape)
    for d in rules.deductions:
        if d.applies_in(year):
            measure = _measure(d, measures)
            total_deductions = total_deductions + _deduction_arrays(d, status, ages, measure)
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    zero = np.zeros(shape)
    pref_amounts = {
        "qualified_dividends": qualified if "qualified_dividends" in covered else zero,
        "ltcg": gains if "ltcg" in covered else zero,
    }
    shielded = zero + sum((pref_amounts[k] for k in _kinds_without_offset(rules)), zero)
    taxable_base = np.maximum(0.0, agi - shielded - total_deductions)
    taxable_income = taxable_base + shielded
    pref_in_base = np.minimum(
        taxable_base, pref_amounts["qualified_dividends"] + pref_amounts["ltcg"] - shielded
    )
    preferential_income = pref_in_base + shielded
    ordinary_taxable = taxable_base - pref_in_base

    schedule = rules.ordinary.brackets[status]
    ordinary_tax = schedule_tax_arrays(schedule, 0.0, ordinary_taxable)
    stacked = _stacked_preferential_arrays(
        rules, status, ordinary_taxable, pref_amounts, preferential_income
    )
    # Preferential rates are relief: never more than the same income taxed as ordinary.
    all_ordinary_extra = schedule_tax_arrays(schedule, 0.0, taxable_income) - ordinary_tax
    capital_gains_tax = np.maximum(0.0, np.minimum(stacked, all_ordinary_extra))

    credit_total = sum((c.rate * c.amount[status] for c in rules.credits), 0.0)
    credits = np.minimum(credit_total, ordinary_tax + capital_gains_tax)

    nii = arr(investment_ordinary_income) + qualified + gains
    niit = zero
    for s in rules.surtaxes:
        niit = niit + s.rate * np.minimum(nii, np.maximum(0.0, magi - s.threshold[status]))

    penalty = zero
    if rules.early_withdrawal is not None:
        penalty = rules.early_withdrawal.penalty_rate * arr(early_distributions)

    total = ordinary_tax + capital_gains_tax - credits + niit + penalty
    return TaxArrays(
        taxable_social_security=taxable_ss,
        included_gains=gains,
        agi=agi,
        total_deductions=total_deductions,
        taxable_income=taxable_income,
        ordinary_taxable_income=ordinary_taxable,
        preferential_taxable_income=preferential_income,
        ordinary_tax=ordinary_tax,
        capital_gains_tax=capital_gains_tax,
        credits=credits,
        niit=niit,
        early_withdrawal_penalty=penalty,
        total_tax=total,
    )


def schedule_tax_arrays(
    schedule: Schedule, low: np.ndarray | float, high: np.ndarray
) -> np.ndarray:
    """`schedule_tax_between` element-wise: tax on the slice from `low` to `high`.

    Brackets that start above every `high` add nothing and are skipped; where
    `high <= low` every overlap is non-positive, so the tax is 0 as in the scalar version.
    """
    tax = np.zeros(np.shape(high))
    top = float(np.max(high)) if np.size(high) else 0.0
    bounds = [*schedule.thresholds[1:], float("inf")]
    for start, end, rate in zip(schedule.thresholds, bounds, schedule.rates, strict=True):
        if start >= top:
            break
        overlap = np.minimum(high, end) - np.maximum(low, start)
        tax += np.maximum(overlap, 0.0) * rate
    return tax


def _taxable_benefits_arrays(
    rules: RuleSet, status: str, benefits: np.ndarray, other_income: np.ndarray
) -> np.ndarray:
    """`taxable_benefits` element-wise (IRC §86 worksheet when the table exists)."""
    table = rules.benefit_taxation
    if table is None:
        return np.where(benefits <= 0, 0.0, benefits)
    provisional = other_income + table.benefit_fraction * benefits
    base1, base2 = table.base1[status], table.base2[status]
    middle = np.minimum(table.rate1 * benefits, table.rate1 * (provisional - base1))
    first_tier = np.minimum(table.rate1 * benefits, table.rate1 * (base2 - base1))
    upper = np.minimum(
        table.max_fraction * benefits, table.rate2 * (provisional - base2) + first_tier
    )
    out = np.where(provisional <= base2, middle, upper)
    out = np.where(provisional <= base1, 0.0, out)
    return np.where(benefits <= 0, 0.0, out)


def _deduction_arrays(
    deduction: Deduction, status: str, ages: tuple[int, ...], magi: np.ndarray
) -> np.ndarray:
    """`deduction_amount` element-wise (people counted from the shared ages)."""
    if deduction.per_qualifying_person:
        minimum = deduction.min_age if deduction.min_age is not None else 0
        people = sum(1 for age in ages if age >= minimum)
    else:
        people = 1
    if people == 0:
        return np.zeros(magi.shape)
    base = np.full(magi.shape, deduction.amount[status])
    if deduction.phaseout is not None:
        excess = np.maximum(0.0, magi - deduction.phaseout.start[status])
        base = np.maximum(0.0, base - deduction.phaseout.rate * excess)
    return base * people


def _stacked_preferential_arrays(
    rules: RuleSet,
    status: str,
    ordinary_taxable: np.ndarray,
    amounts: dict[str, np.ndarray],
    preferential_income: np.ndarray,
) -> np.ndarray:
    """`_stacked_preferential_tax` element-wise."""
    reduction = (amounts["qualified_dividends"] + amounts["ltcg"]) - preferential_income
    base = ordinary_taxable
    tax = np.zeros(ordinary_taxable.shape)
    zero_cut = np.zeros(ordinary_taxable.shape)
    for pref in rules.preferential:
        slice_amount = np.zeros(ordinary_taxable.shape)
        for kind in pref.applies_to:
            slice_amount = slice_amount + amounts[kind]
        cut = np.minimum(reduction, slice_amount) if pref.deductions_offset else zero_cut
        slice_amount = slice_amount - cut
        reduction = reduction - cut
        allowance = np.minimum(slice_amount, pref.allowance.get(status, 0.0))
        tax = tax + schedule_tax_arrays(
            pref.brackets[status], base + allowance, base + slice_amount
        )
        base = base + slice_amount
    return tax

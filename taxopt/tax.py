"""The pure tax calculator: one year's income of one filing unit -> taxes by kind.

The only place in taxopt where tax arithmetic lives, written once with numpy operations
so that the same code taxes one household (floats) or many simulated paths at once
(arrays, one element per path). The ledger, the CLI and the tests call `compute_tax`
(floats in, a `TaxResult` of floats out); the simulator calls `compute_tax_arrays`. The
optimizer encodes the same schedules as constraints from the same rule objects, and the
ledger checks the two agree.

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

Rule data may add (Canada): a gross-up of an income kind before step 3 (eligible
dividends at 138%); benefit clawbacks (a recovery tax on a benefit above an income
threshold, deducted in computing net and taxable income); credits with ages, income
limits, phase-outs and the schedule's lowest rate; income credits (dividend tax credit);
and further levels (a province) taxing the same taxable income with their own brackets,
credits, surtax on tax and premiums.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from types import SimpleNamespace
from typing import Any

import numpy as np

from taxopt.rules import Credit, Deduction, PreferentialSchedule, RuleSet, Schedule, TaxLevel

Amount = float | np.ndarray  # one filing unit's amount, or one element per simulated path


def _largest(amount: float) -> float:
    return amount


def _zero_like(_amount: float) -> float:
    return 0.0


# The few numpy functions the calculator uses, for plain floats. On one number numpy's
# ufuncs cost several times Python's built-ins, and a household is taxed once a year per
# ledger replay; so the calculator calls them through a namespace `xp` (the array-API
# pattern): numpy for arrays, this one for floats. `max` is numpy's largest element.
_Floats = SimpleNamespace(maximum=max, minimum=min, max=_largest, zeros_like=_zero_like)

Namespace = Any  # numpy, or _Floats


def _namespace(*amounts: Amount) -> Namespace:
    """numpy when any amount is an array, else the float namespace."""
    for amount in amounts:
        if isinstance(amount, np.ndarray):
            return np
    return _Floats


INCOME_FIELDS = (
    "ordinary_income",
    "investment_ordinary_income",
    "qualified_dividends",
    "ltcg",
    "social_security",
    "early_distributions",
    "pension_income",
)


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
    # The part of ordinary_income that is eligible pension income, for a credit limited to it
    # (Canada's pension income amount, ITA s.118(3), (7): RRIF and annuity payments from 65).
    pension_income: float = 0.0

    def __post_init__(self) -> None:
        for name in INCOME_FIELDS:
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must not be negative (got {value})")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite amount (got {value})")


@dataclass
class TaxAmounts:
    """Taxes by kind and the quantities they were computed from (nominal currency).

    Each amount is a float for one filing unit, or an array with one element per unit (a
    simulated path) when the incomes were arrays. Not frozen: it is built for every
    household-year, and a frozen dataclass's constructor costs twice as much.
    """

    taxable_social_security: Amount
    included_gains: Amount
    agi: Amount
    magi: Amount
    deductions: dict[str, Amount]
    total_deductions: Amount
    taxable_income: Amount
    ordinary_taxable_income: Amount
    preferential_taxable_income: Amount
    ordinary_tax: Amount
    capital_gains_tax: Amount
    credits: Amount
    niit: Amount
    surtaxes: dict[str, Amount]
    early_withdrawal_penalty: Amount
    total_tax: Amount
    gross_up: Amount = 0.0  # added to income by the rule set's gross-ups
    net_income: Amount = 0.0  # AGI less deductible benefit repayments
    clawbacks: dict[str, Amount] = field(default_factory=dict)  # recovery taxes on benefits
    credit_details: dict[str, Amount] = field(default_factory=dict)  # each credit, before limit
    levels: dict[str, dict[str, Amount]] = field(default_factory=dict)  # see level_tax


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
    gross_up: float = 0.0
    net_income: float = 0.0
    clawbacks: dict[str, float] = field(default_factory=dict)
    credit_details: dict[str, float] = field(default_factory=dict)
    levels: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def levels_tax(self) -> float:
        """The further levels' tax (provinces), included in total_tax."""
        return sum(float(level["total"]) for level in self.levels.values())

    @property
    def effective_rate(self) -> float:
        """Total tax over AGI (0 when AGI is 0)."""
        return self.total_tax / self.agi if self.agi > 0 else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["effective_rate"] = self.effective_rate
        return out


def compute_tax(rules: RuleSet, income: TaxInput) -> TaxResult:
    """All taxes of one filing unit for one year under `rules` (already indexed to the year)."""
    amounts = calculate(
        rules,
        income.filing_status,
        income.ages,
        ordinary_income=income.ordinary_income,
        investment_ordinary_income=income.investment_ordinary_income,
        qualified_dividends=income.qualified_dividends,
        ltcg=income.ltcg,
        social_security=income.social_security,
        early_distributions=income.early_distributions,
        year=income.year,
        pension_income=income.pension_income,
    )
    # Float incomes give float amounts (the float namespace never makes numpy scalars).
    schedule = rules.ordinary.brackets[income.filing_status]
    fill = bracket_fill(schedule, amounts.ordinary_taxable_income, _Floats)
    return TaxResult(**amounts.__dict__, bracket_fill=fill)


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
    pension_income: np.ndarray | float = 0.0,
) -> TaxAmounts:
    """Taxes of many filing units that share a status, ages and year: one element per path.

    Every income is broadcast to the shape of `ordinary_income`, and so is every result.
    Incomes must be non-negative, as in `TaxInput`.
    """
    ordinary = np.asarray(ordinary_income, dtype=float)
    amounts = calculate(
        rules,
        filing_status,
        ages,
        ordinary_income=ordinary,  # an array: numpy broadcasts the other incomes to it
        investment_ordinary_income=investment_ordinary_income,
        qualified_dividends=qualified_dividends,
        ltcg=ltcg,
        social_security=social_security,
        early_distributions=early_distributions,
        year=year,
        pension_income=pension_income,
    )
    shape = ordinary.shape
    values = {item.name: _full(getattr(amounts, item.name), shape) for item in fields(TaxAmounts)}
    return TaxAmounts(**values)


def _full(value: Any, shape: tuple[int, ...]) -> Any:
    """Every amount (in nested maps too) as an array of `shape`."""
    if isinstance(value, dict):
        return {k: _full(v, shape) for k, v in value.items()}
    return _full_amount(value, shape)


def _full_amount(value: Amount, shape: tuple[int, ...]) -> np.ndarray:
    """An amount as an array of `shape` (a part that no income reaches is a constant)."""
    if isinstance(value, np.ndarray) and value.shape == shape and value.dtype == float:
        return value
    return np.broadcast_to(np.asarray(value, dtype=float), shape)


def calculate(
    rules: RuleSet,
    filing_status: str,
    ages: tuple[int, ...],
    *,
    ordinary_income: Amount,
    investment_ordinary_income: Amount = 0.0,
    qualified_dividends: Amount = 0.0,
    ltcg: Amount = 0.0,
    social_security: Amount = 0.0,
    early_distributions: Amount = 0.0,
    year: int | None = None,
    pension_income: Amount = 0.0,
) -> TaxAmounts:
    """The calculator: floats for one filing unit, or arrays (one element per path).

    Status, ages and year are shared by all elements. Incomes must be non-negative.
    """
    status = filing_status
    xp = _namespace(
        ordinary_income,
        investment_ordinary_income,
        qualified_dividends,
        ltcg,
        social_security,
        early_distributions,
        pension_income,
    )
    if status not in rules.meta.filing_statuses:
        raise ValueError(
            f"filing status '{status}' is not defined by rule set {rules.name} "
            f"(choose from {', '.join(rules.meta.filing_statuses)})"
        )
    year = year if year is not None else rules.year
    gains = included_gains(rules, status, ltcg, xp)
    dividends = grossed_up(rules, "qualified_dividends", qualified_dividends)
    other_income = ordinary_income + dividends + gains
    taxable_ss = taxable_benefits(rules, status, social_security, other_income, xp)
    agi = other_income + taxable_ss
    magi = agi
    clawbacks = {
        c.name: xp.minimum(social_security, c.rate * xp.maximum(0.0, agi - c.threshold[status]))
        for c in rules.benefit_clawbacks
    }
    net_income = agi - sum(
        (clawbacks[c.name] for c in rules.benefit_clawbacks if c.deductible), 0.0
    )

    # A phase-out measures MAGI (US), total income without capital gains (UK adjusted
    # net income, ITA 2007 s.58) or net income after benefit repayments (Canada line 23600).
    measures = {"magi": magi, "total_income": agi - gains, "net_income": net_income}
    deductions = {
        d.name: deduction_amount(d, status, ages, _measure(d, measures), xp)
        for d in rules.deductions
        if d.applies_in(year)
    }
    total_deductions = sum(deductions.values())

    # Income kinds that a preferential schedule covers; the rest is ordinary. Deductions
    # fall on ordinary income first, then on preferential income whose schedule allows it.
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    pref_amounts = {
        "qualified_dividends": dividends if "qualified_dividends" in covered else 0.0,
        "ltcg": gains if "ltcg" in covered else 0.0,
        "investment_ordinary_income": (
            investment_ordinary_income if "investment_ordinary_income" in covered else 0.0
        ),
    }
    shielded = sum(pref_amounts[k] for k in _kinds_without_offset(rules))
    taxable_base = xp.maximum(0.0, net_income - shielded - total_deductions)
    taxable_income = taxable_base + shielded
    pref_in_base = xp.minimum(taxable_base, sum(pref_amounts.values()) - shielded)
    preferential_income = pref_in_base + shielded
    ordinary_taxable = taxable_base - pref_in_base

    schedule = rules.ordinary.brackets[status]
    ordinary_tax = schedule_tax(schedule, ordinary_taxable, xp)
    slices = preferential_slices(
        rules, status, ordinary_taxable, pref_amounts, preferential_income, taxable_base, xp
    )
    stacked = _stacked_preferential_tax(status, ordinary_taxable, slices, xp)
    # With [preferential_cap] (US) the schedules are relief: the tax with them never
    # exceeds the tax on all taxable income as ordinary (IRC §1(h)(1) "shall not exceed";
    # Form 1040 Qualified Dividends and Capital Gain Tax Worksheet, "smaller of" line). It
    # binds where a 15% band starts inside the 12% bracket (2026 single: 49,450 vs 50,400).
    # Without it (UK) the preferential rates stand on their own.
    if rules.preferential_cap is not None:
        all_ordinary_extra = schedule_tax(schedule, taxable_income, xp) - ordinary_tax
        stacked = xp.minimum(stacked, all_ordinary_extra)
    capital_gains_tax = xp.maximum(0.0, stacked)

    credit_details = credit_values(
        rules.credits, schedule, status, ages, measures, pension_income, xp
    )
    credit_details |= {
        c.name: c.rate * grossed_up(rules, c.applies_to, qualified_dividends)
        for c in rules.income_credits
    }
    credits = xp.minimum(sum(credit_details.values(), 0.0), ordinary_tax + capital_gains_tax)
    incomes = {"qualified_dividends": qualified_dividends}
    levels = {
        level.name: level_tax(
            rules, level, status, ages, taxable_income, measures, pension_income, incomes, xp
        )
        for level in rules.levels
    }

    nii = investment_ordinary_income + dividends + gains
    surtaxes = {
        s.name: s.rate * xp.minimum(nii, xp.maximum(0.0, magi - s.threshold[status]))
        for s in rules.surtaxes
    }
    niit = sum(surtaxes.values())

    penalty = rules.early_withdrawal_penalty_rate() * early_distributions

    total = ordinary_tax + capital_gains_tax - credits + niit + penalty
    total = total + sum(clawbacks.values(), 0.0) + sum((lv["total"] for lv in levels.values()), 0.0)
    return TaxAmounts(
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
        gross_up=dividends - qualified_dividends,
        net_income=net_income,
        clawbacks=clawbacks,
        credit_details=credit_details,
        levels=levels,
    )


# Each helper takes the namespace from its caller, or finds it from its amounts.


def schedule_tax(schedule: Schedule, income: Amount, xp: Namespace = None) -> Amount:
    """Tax on `income` under a marginal-rate schedule."""
    return schedule_tax_between(schedule, 0.0, income, xp)


def schedule_tax_between(
    schedule: Schedule, low: Amount, high: Amount, xp: Namespace = None
) -> Amount:
    """Tax on the slice of income from `low` to `high` under the schedule's rates.

    Where `high <= low` every overlap is non-positive, so the tax is 0. Brackets that start
    above every `high` add nothing and are skipped.
    """
    xp = xp or _namespace(low, high)
    tax = xp.zeros_like(high)  # of `high`'s shape even when no bracket is reached
    top = xp.max(high)
    for start, end, rate in schedule.bands():
        if start >= top:
            break
        tax = tax + xp.maximum(xp.minimum(high, end) - xp.maximum(low, start), 0.0) * rate
    return tax


def bracket_fill(schedule: Schedule, income: Amount, xp: Namespace = None) -> list[Amount]:
    """Amount of `income` that falls in each bracket of the schedule."""
    xp = xp or _namespace(income)
    return [xp.maximum(0.0, xp.minimum(income, end) - start) for start, end, _ in schedule.bands()]


def taxable_benefits(
    rules: RuleSet, status: str, benefits: Amount, other_income: Amount, xp: Namespace = None
) -> Amount:
    """Taxable part of public-pension benefits: the rule set's [benefit_taxation] table
    (BenefitTaxation.taxable_part, IRC §86 in the US); without it every benefit is taxable."""
    table = rules.benefit_taxation
    if table is None:
        return benefits
    xp = xp or _namespace(benefits, other_income)
    return table.taxable_part(status, benefits, other_income, xp)


def deduction_amount(
    deduction: Deduction, status: str, ages: tuple[int, ...], magi: Amount, xp: Namespace = None
) -> Amount:
    """One deduction's amount for the filing unit, after any phase-out."""
    people = deduction.qualifying_people(ages)
    if people == 0:
        return 0.0
    base = deduction.amount[status]
    if deduction.phaseout is not None:
        base = deduction.phaseout.remaining(base, status, magi, xp or _namespace(magi))
    return base * people


def _measure(deduction: Deduction, measures: dict[str, Amount]) -> Amount:
    """The income a deduction's phase-out is measured on (MAGI when it has none)."""
    if deduction.phaseout is None:
        return measures["magi"]
    return measures[deduction.phaseout.measure]


def grossed_up(rules: RuleSet, kind: str, amount: Amount) -> Amount:
    """`amount` of income `kind` as it enters income: times (1 + rate) of its gross-up."""
    for gross_up in rules.gross_ups:
        if gross_up.applies_to == kind:
            return amount * (1.0 + gross_up.rate)
    return amount


def credit_values(
    credits: list[Credit],
    schedule: Schedule,
    status: str,
    ages: tuple[int, ...],
    measures: dict[str, Amount],
    pension_income: Amount,
    xp: Namespace,
) -> dict[str, Amount]:
    """Each personal credit's value off the tax (before the limit to the tax): the amount
    for each qualifying person, at most the income it is limited to, after its phase-out,
    times its rate (the schedule's lowest rate when it states none)."""
    values: dict[str, Amount] = {}
    for credit in credits:
        amount: Amount = credit.amount[status]
        if credit.phaseout is not None:
            measured = measures[credit.phaseout.measure]
            amount = credit.phaseout.remaining(amount, status, measured, xp)
        amount = amount * credit.qualifying_people(ages)
        if credit.limited_to == "pension_income":
            amount = xp.minimum(amount, pension_income)
        values[credit.name] = credit.rate_under(schedule) * amount
    return values


def level_tax(
    rules: RuleSet,
    level: TaxLevel,
    status: str,
    ages: tuple[int, ...],
    taxable_income: Amount,
    measures: dict[str, Amount],
    pension_income: Amount,
    incomes: dict[str, Amount],
    xp: Namespace,
) -> dict[str, Amount]:
    """One further level's tax on the filing unit's taxable income, in the order of Form
    ON428 Part C: brackets; less personal credits (not below 0); plus surtaxes on that;
    less income credits (not below 0); plus premiums on taxable income.

    Returns {"tax_on_income", "credits", "surtax", "income_credits", "premiums", "total"}
    and each credit, surtax and premium by name ("credit:NAME", ...); `credits` and
    `income_credits` are what was subtracted (at most the tax)."""
    schedule = level.ordinary.brackets[status]
    on_income = schedule_tax(schedule, taxable_income, xp)
    personal = credit_values(level.credits, schedule, status, ages, measures, pension_income, xp)
    after_credits = xp.maximum(0.0, on_income - sum(personal.values(), 0.0))
    surtaxes = {t.name: t.on(after_credits, xp) for t in level.surtaxes_on_tax}
    before_income_credits = after_credits + sum(surtaxes.values(), 0.0)
    by_income = {
        c.name: c.rate * grossed_up(rules, c.applies_to, incomes[c.applies_to])
        for c in level.income_credits
    }
    after_income_credits = xp.maximum(0.0, before_income_credits - sum(by_income.values(), 0.0))
    premiums = {p.name: p.on(taxable_income, xp) for p in level.premiums}
    out: dict[str, Amount] = {
        "tax_on_income": on_income,
        "credits": on_income - after_credits,
        "surtax": before_income_credits - after_credits,
        "income_credits": before_income_credits - after_income_credits,
        "premiums": sum(premiums.values(), 0.0),
        "total": after_income_credits + sum(premiums.values(), 0.0),
    }
    out |= {f"credit:{name}": v for name, v in (personal | by_income).items()}
    out |= {f"surtax:{name}": v for name, v in surtaxes.items()}
    out |= {f"premium:{name}": v for name, v in premiums.items()}
    return out


def included_gains(rules: RuleSet, status: str, ltcg: Amount, xp: Namespace = None) -> Amount:
    """Realized long-term gains that enter income, after exemption and inclusion rate."""
    xp = xp or _namespace(ltcg)
    exemption = rules.capital_gains.annual_exemption.get(status, 0.0)
    return xp.maximum(0.0, ltcg - exemption) * rules.capital_gains.inclusion_rate


def _kinds_without_offset(rules: RuleSet) -> list[str]:
    """Income kinds whose schedule takes no left-over deductions (UK gains)."""
    return [k for p in rules.preferential if not p.deductions_offset for k in p.applies_to]


def preferential_slices(
    rules: RuleSet,
    status: str,
    ordinary_taxable: Amount,
    amounts: dict[str, Amount],
    preferential_income: Amount,
    income_tax_base: Amount,
    xp: Namespace = None,
) -> list[tuple[PreferentialSchedule, Amount, Amount]]:
    """(schedule, nil-rate part, taxed part) of each preferential schedule, in the rule
    file's order, which is the order they stack on ordinary taxable income (UK: dividends
    then gains, ITA 2007 s.16; US: one schedule).

    `amounts` are the covered income kinds before deductions; `preferential_income` is
    what is left of them after deductions (TaxAmounts.preferential_taxable_income). The
    shortfall (deductions beyond ordinary income) is taken from the schedules that allow it
    (`deductions_offset`), in file order. A schedule's `allowance` is the bottom of its
    slice, taxed at 0 but using up band (UK dividend allowance, ITA 2007 s.13A); with
    `allowance_steps` its size depends on `income_tax_base`, taxable income without the
    kinds of schedules that take no deductions (UK savings allowance, ITA 2007 s.12B). A
    `starting_band` adds the room left below it when the slice starts (UK starting rate
    for savings): that room comes first, then the allowance, then the schedule's rates.
    """
    xp = xp or _namespace(ordinary_taxable, preferential_income, *amounts.values())
    reduction = sum(amounts.values()) - preferential_income
    base = ordinary_taxable
    slices = []
    for pref in rules.preferential:
        slice_amount = sum(amounts[kind] for kind in pref.applies_to)
        cut = xp.minimum(reduction, slice_amount) if pref.deductions_offset else 0.0
        slice_amount = slice_amount - cut
        reduction = reduction - cut
        room = xp.maximum(0.0, pref.starting_band.get(status, 0.0) - base)
        nil = xp.minimum(slice_amount, pref.allowance_for(status, income_tax_base) + room)
        slices.append((pref, nil, slice_amount - nil))
        base = base + slice_amount
    return slices


def stack_tops(status: str, ordinary_taxable: Amount, slices: list) -> list[Amount]:
    """Where each layer of taxable income ends, bottom up: ordinary taxable income, then
    for each preferential schedule its nil-rate part (only when it has an allowance) and
    its taxed part (`slices` from `preferential_slices`). The optimizer's stacking levels
    are these."""
    tops = [ordinary_taxable]
    for pref, nil_rate, taxed in slices:
        if pref.has_allowance(status):
            tops.append(tops[-1] + nil_rate)
        tops.append(tops[-1] + taxed)
    return tops


def _stacked_preferential_tax(
    status: str, ordinary_taxable: Amount, slices: list, xp: Namespace
) -> Amount:
    """Tax each preferential schedule's income on top of what is already stacked below it
    (`slices` from `preferential_slices`: its nil-rate part first, then its taxed part)."""
    base = ordinary_taxable
    tax = 0.0
    for pref, nil_rate, taxed in slices:
        start = base + nil_rate
        tax = tax + schedule_tax_between(pref.brackets[status], start, start + taxed, xp)
        base = start + taxed
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

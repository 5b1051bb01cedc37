"""Rule sets: a jurisdiction-year's tax law as data, with a source for every table.

A rule file is TOML under `rules/`. It may `extends` another rule set and override only
what changes (a reform). Code here knows *kinds* of rules (bracket schedules, stacked
preferential schedules, deductions with phase-outs, surtaxes, benefit taxation,
contribution limits, distribution tables, account tax treatment), never a country.

Conventions: amounts are nominal currency units of the rule set's `year`; rates are
fractions. Tables marked `indexed = true` grow with the plan's inflation after `year`
(see `RuleSet.for_year`).
"""

from __future__ import annotations

import copy
import math
import tomllib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from taxopt.errors import InputError, explain_validation_error
from taxopt.io import read_text


def _bundled_rules_dir() -> Path:
    """The registry of rule sets: `taxopt/rules_data/` in an installed wheel, the
    checkout's `rules/` folder otherwise (setup.py maps one onto the other)."""
    package = Path(__file__).resolve().parent
    installed = package / "rules_data"
    return installed if installed.is_dir() else package.parent / "rules"


RULES_DIR = _bundled_rules_dir()
# An increase that is a whole multiple up to float error (805 as 804.9999999) counts whole.
ROUNDING_SLACK = 1e-9

FilingStatus = str  # one of RuleSet.meta.filing_statuses, e.g. "single", "mfj"
Source = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3),
    Field(description="Legal source of the values"),
]


# Amounts in a rule file are at most this (nominal currency units): a larger figure is a
# typo or an attempt to say "never", which a rule file says by leaving the table out.
MAX_AMOUNT = 1e12
MIN_YEAR, MAX_YEAR = 1900, 2300
MAX_AGE = 130
MONTHS_PER_YEAR = 12  # Medicare premiums are monthly
BISECTION_STEPS = 80  # halvings of a dollar range: far below a cent
SMALLEST_REGION_DOLLARS = 0.01  # narrower income regions of the premium tax credit are merged


class Strict(BaseModel):
    # NaN and infinities are refused everywhere: "nan" in a rule file is never law.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def indexed_amount(amount: float, factor: float, round_down_to: float | None = None) -> float:
    """`amount` grown by the inflation `factor`; with `round_down_to`, the increase is rounded
    down to a multiple of it, as statutes word it ("If any increase ... is not a multiple of
    $50, such increase shall be rounded to the next lowest multiple of $50", IRC §1(f)(7)).
    For an amount that is itself such a multiple this is rounding the amount down."""
    if round_down_to is None:
        return amount * factor
    steps = math.floor(amount * (factor - 1.0) / round_down_to + ROUNDING_SLACK)
    return amount + steps * round_down_to


def _check_unit(value: Any) -> Any:
    """A rounding unit: a positive amount, or one per filing status."""
    units = value.values() if isinstance(value, dict) else [value]
    for unit in units:
        if isinstance(unit, bool) or not isinstance(unit, int | float) or unit <= 0:
            raise ValueError(
                f"{unit!r} is not a rounding unit; give a positive amount (50) or one per "
                "filing status ({ single = 25, mfj = 50 })"
            )
    return value


Unit = Annotated[float, BeforeValidator(_check_unit)]
RoundDownTo = Annotated[float | dict[FilingStatus, float], BeforeValidator(_check_unit)] | None
ROUND_DOWN_TO_HELP = (
    "indexing rounds each amount's increase since the rule set's year down to a multiple "
    "of this (one number, or one per filing status), as statutes do (IRC §1(f)(7)); "
    "without it the amount grows continuously"
)


class Cited(Strict):
    """A table of law. `source` names the law (statute section, revenue procedure, official
    page) without restating its figures, so a reform that changes a figure cannot inherit a
    citation that names the old one; `url` links the cited texts, for a check in one click."""

    source: Source
    url: list[str] = Field(default_factory=list, description="links to the cited texts")

    @field_validator("url")
    @classmethod
    def _links(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
                raise ValueError(f"'{url}' is not a link; give the full address, starting https://")
        return urls


class Schedule(Strict):
    """Marginal rates: `rates[i]` applies from `thresholds[i]` up to `thresholds[i+1]`."""

    thresholds: list[float]
    rates: list[float]

    @model_validator(mode="after")
    def _check(self) -> Schedule:
        if len(self.thresholds) != len(self.rates):
            raise ValueError(
                f"thresholds has {len(self.thresholds)} entries but rates has "
                f"{len(self.rates)}; give one rate per threshold"
            )
        if not self.thresholds or self.thresholds[0] != 0:
            raise ValueError("the first threshold must be 0")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValueError("thresholds must strictly increase")
        if any(not 0 <= r <= 1 for r in self.rates):
            raise ValueError("rates are fractions between 0 and 1 (0.22, not 22)")
        return self

    def scaled(self, factor: float, round_down_to: float | None = None) -> Schedule:
        """The schedule with its thresholds indexed by `factor` (see `indexed_amount`)."""
        thresholds = [indexed_amount(t, factor, round_down_to) for t in self.thresholds]
        return Schedule(thresholds=thresholds, rates=list(self.rates))

    def bands(self) -> Iterator[tuple[float, float, float]]:
        """(start, end, rate) of each bracket; the last ends at infinity."""
        return zip(self.thresholds, [*self.thresholds[1:], math.inf], self.rates, strict=True)

    def rate_at(self, income: float) -> float:
        """The marginal rate at `income`: the rate of the last bracket starting at or below
        it (the first bracket's rate below the first threshold)."""
        rate = self.rates[0]
        for threshold, bracket_rate in zip(self.thresholds, self.rates, strict=True):
            if income >= threshold:
                rate = bracket_rate
        return rate


class OrdinarySchedule(Cited):
    """Tax on ordinary taxable income, one schedule per filing status."""

    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)
    brackets: dict[FilingStatus, Schedule]


class Phaseout(Strict):
    """Reduce an amount by `rate` x (measure - start), not below zero.

    `measure`: "magi" (US modified AGI) or "total_income" (income without capital gains,
    as UK adjusted net income); a rule file names it, no country's choice is the default.
    """

    start: dict[FilingStatus, float]
    rate: float = Field(gt=0, le=1)
    measure: Literal["magi", "total_income"]
    indexed: bool = False
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)

    def remaining(self, amount: Any, status: FilingStatus, measured: Any, xp: Any) -> Any:
        """`amount` after the phase-out for a filing unit whose income on `measure` is
        `measured`: amount - rate x (measured - start), not below zero. Amounts are floats
        or arrays; `xp` supplies maximum for them (numpy, or taxopt.tax's float one)."""
        excess = xp.maximum(0.0, measured - self.start[status])
        return xp.maximum(0.0, amount - self.rate * excess)


class Deduction(Cited):
    """An amount subtracted from income before the ordinary schedule.

    `per_qualifying_person` deductions count each person at least `min_age` in the year;
    otherwise the amount is per filing unit. A phase-out applies to each person's amount.
    """

    name: str
    description: str = ""
    amount: dict[FilingStatus, float]
    per_qualifying_person: bool = False
    min_age: int | None = None
    first_year: int | None = None
    last_year: int | None = None
    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)
    phaseout: Phaseout | None = None

    def applies_in(self, year: int) -> bool:
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )

    def qualifying_people(self, ages: tuple[int, ...]) -> int:
        """How many times the filing unit gets the amount: each person at least `min_age`
        (ages at the end of the year) for a per-person deduction, else once."""
        if not self.per_qualifying_person:
            return 1
        minimum = self.min_age if self.min_age is not None else 0
        return sum(1 for age in ages if age >= minimum)


CreditMeasure = Literal["net_income", "magi", "total_income"]


class CreditPhaseout(Strict):
    """A credit amount that shrinks as income rises: by `rate` per unit of `measure` above
    `start` (Canada's age amount, ITA s.118(2): 15% of net income over the threshold), or
    linearly from the full amount at `start` to nothing at `end` (the federal enhanced basic
    personal amount between the 29% and 33% bracket thresholds, ITA s.118(1)(c)).

    `measure`: "net_income" is income less deductible benefit repayments (Canada line
    23600); "magi" and "total_income" as for deductions."""

    start: dict[FilingStatus, float]
    rate: float | None = Field(None, gt=0, le=1, description="reduction per unit above start")
    end: dict[FilingStatus, float] | None = Field(
        None, description="income at which the amount is gone (instead of a rate)"
    )
    measure: CreditMeasure
    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)

    @model_validator(mode="after")
    def _one_shape(self) -> CreditPhaseout:
        if (self.rate is None) == (self.end is None):
            raise ValueError(
                "give either rate (reduction per unit of income above start) or end (the "
                "income at which the amount is gone), not both or neither"
            )
        return self

    def remaining(self, amount: float, status: FilingStatus, measured: Any, xp: Any) -> Any:
        """`amount` after the phase-out at income `measured` (floats or arrays)."""
        excess = xp.maximum(0.0, measured - self.start[status])
        if self.end is not None:
            span = self.end[status] - self.start[status]
            return amount * xp.maximum(0.0, 1.0 - excess / span)
        assert self.rate is not None
        return xp.maximum(0.0, amount - self.rate * excess)


CreditLimit = Literal["pension_income"]


class Credit(Cited):
    """A non-refundable credit: `rate` x `amount` off the tax (Canada's basic personal amount).

    `rate` omitted: the lowest rate of the schedule the credit reduces (ITA s.118: the
    "appropriate percentage"). With `min_age`, each person at least that age at the end
    of the year gets the amount; with `limited_to`, the amount is at most the filing unit's
    income of that kind (the pension income amount, ITA s.118(3)); with `phaseout`, it
    shrinks as income rises. The credit never makes the tax negative."""

    name: str
    description: str = ""
    amount: dict[FilingStatus, float]
    rate: float | None = Field(None, ge=0, le=1)
    min_age: int | None = Field(None, ge=0, le=MAX_AGE)
    limited_to: CreditLimit | None = None
    phaseout: CreditPhaseout | None = None
    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)

    def rate_under(self, schedule: Schedule) -> float:
        """The credit's rate: its own, or the lowest rate of `schedule`."""
        return self.rate if self.rate is not None else min(schedule.rates)

    def qualifying_people(self, ages: tuple[int, ...]) -> int:
        """How many times the filing unit gets the amount: each person at least `min_age`
        when the credit has one, else once."""
        if self.min_age is None:
            return 1
        return sum(1 for age in ages if age >= self.min_age)


IncomeCreditKind = Literal["qualified_dividends"]


class GrossUp(Cited):
    """An income kind included in income at (1 + `rate`) x the amount received (Canada's
    eligible dividends, ITA s.82(1)(b): 38%)."""

    name: str
    applies_to: IncomeCreditKind
    rate: float = Field(ge=0, le=1)


class IncomeCredit(Cited):
    """A non-refundable credit of `rate` x the taxable (grossed-up) amount of an income kind
    (the dividend tax credit, ITA s.121; Ontario Taxation Act 2007 s.19)."""

    name: str
    applies_to: IncomeCreditKind
    rate: float = Field(ge=0, le=1)


class BenefitClawback(Cited):
    """A recovery tax on a public benefit: `rate` x (income before the repayment - threshold),
    at most the benefit (Canada's OAS recovery tax, ITA Part I.2 s.180.2). With
    `deductible`, the repayment is deducted in computing net and taxable income (ITA
    s.60(w)). The benefit is the calculator's public-benefit input (`social_security`)."""

    name: str
    rate: float = Field(gt=0, le=1)
    threshold: dict[FilingStatus, float]
    deductible: bool = True
    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)


def _ascending_thresholds(values: list[float], what: str) -> list[float]:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError(f"{what} must strictly increase")
    if any(not 0 <= v <= MAX_AMOUNT for v in values):
        raise ValueError(f"{what} are amounts from 0 to {MAX_AMOUNT:g}")
    return values


class SurtaxOnTax(Cited):
    """A surtax on a level's tax after its personal credits: rates[i] x (tax - thresholds[i])
    for each threshold the tax exceeds, added up (the Ontario surtax, Taxation Act 2007
    s.48: 20% over the first threshold plus 36% over the second)."""

    name: str
    thresholds: list[float] = Field(min_length=1)
    rates: list[float]
    indexed: bool = True
    round_down_to: Unit | None = Field(None, description=ROUND_DOWN_TO_HELP)

    @model_validator(mode="after")
    def _check(self) -> SurtaxOnTax:
        if len(self.thresholds) != len(self.rates):
            raise ValueError("give one rate per threshold")
        _ascending_thresholds(self.thresholds, "thresholds")
        if any(not 0 <= r <= 1 for r in self.rates):
            raise ValueError("rates are fractions between 0 and 1 (0.20, not 20)")
        return self

    def on(self, tax: Any, xp: Any) -> Any:
        """The surtax on `tax` (floats or arrays)."""
        total = xp.zeros_like(tax)
        for threshold, rate in zip(self.thresholds, self.rates, strict=True):
            total = total + rate * xp.maximum(0.0, tax - threshold)
        return total

    def scaled(self, factor: float) -> SurtaxOnTax:
        thresholds = [indexed_amount(t, factor, self.round_down_to) for t in self.thresholds]
        return self.model_copy(update={"thresholds": thresholds})


class PremiumStep(Strict):
    """`rate` x (income - `start`), at most `cap`: one ramp of a premium table."""

    start: float = Field(ge=0, le=MAX_AMOUNT)
    rate: float = Field(gt=0, le=1)
    cap: float = Field(ge=0, le=MAX_AMOUNT)


class Premium(Cited):
    """A premium charged with the tax, a step table on taxable income: the sum of capped ramps
    (the Ontario Health Premium, Taxation Act 2007 s.33.1: 6% of income over $20,000 up to
    $300, and so on). Not reduced by credits."""

    name: str
    steps: list[PremiumStep] = Field(min_length=1)
    indexed: bool = False

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[PremiumStep]) -> list[PremiumStep]:
        _ascending_thresholds([s.start for s in steps], "steps' starts")
        return steps

    def on(self, income: Any, xp: Any) -> Any:
        """The premium at taxable income `income` (floats or arrays)."""
        total = xp.zeros_like(income)
        for step in self.steps:
            total = total + xp.minimum(step.cap, step.rate * xp.maximum(0.0, income - step.start))
        return total

    def scaled(self, factor: float) -> Premium:
        steps = [s.model_copy(update={"start": s.start * factor}) for s in self.steps]
        return self.model_copy(update={"steps": steps})


class TaxLevel(Cited):
    """A further income tax on the same taxable income with its own brackets, credits,
    surtax and premiums (a Canadian province: Ontario's tax, Form ON428). Order: brackets,
    less personal credits (not below 0), plus surtaxes on that, less income credits (not
    below 0), plus premiums."""

    name: str
    label: str
    ordinary: OrdinarySchedule
    indexed_thresholds: int | None = Field(
        None,
        ge=0,
        description="when the brackets are indexed, only this many of the lowest thresholds "
        "above 0 grow (Ontario's $150,000 and $220,000 thresholds are fixed); all when absent",
    )
    credits: list[Credit] = Field(default_factory=list)
    income_credits: list[IncomeCredit] = Field(default_factory=list)
    surtaxes_on_tax: list[SurtaxOnTax] = Field(default_factory=list)
    premiums: list[Premium] = Field(default_factory=list)


# Income kinds a preferential schedule may cover: dividends, included gains, and the
# investment part of ordinary income (interest and other yields: UK savings income).
IncomeKind = Literal["qualified_dividends", "ltcg", "investment_ordinary_income"]


class AllowanceSteps(Strict):
    """A nil-rate allowance that steps down as income-tax taxable income (taxable income
    without the kinds of schedules that take no deductions, i.e. without UK gains) passes
    thresholds: `amounts[i]` once that income is above `thresholds[i]` (UK personal savings
    allowance: 1,000, 500 once any income is above the basic rate limit, 0 above the
    higher rate limit; ITA 2007 s.12B). A cliff: one pound over a threshold loses the step."""

    thresholds: list[float]
    amounts: list[float]

    @model_validator(mode="after")
    def _check(self) -> AllowanceSteps:
        if len(self.thresholds) != len(self.amounts) or not self.thresholds:
            raise ValueError("give one amount per threshold")
        if self.thresholds[0] != 0:
            raise ValueError("the first threshold must be 0")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValueError("thresholds must strictly increase")
        if any(not 0 <= a <= MAX_AMOUNT for a in self.amounts):
            raise ValueError(f"amounts are from 0 to {MAX_AMOUNT:g}")
        return self

    def amount_at(self, measured: Any) -> Any:
        """The allowance for income `measured` (a float or an array)."""
        out = self.amounts[0] + 0.0 * measured
        for i in range(1, len(self.thresholds)):
            out = out + (self.amounts[i] - self.amounts[i - 1]) * (measured > self.thresholds[i])
        return out

    def scaled(self, factor: float, round_down_to: float | None = None) -> AllowanceSteps:
        return AllowanceSteps(
            thresholds=[indexed_amount(t, factor, round_down_to) for t in self.thresholds],
            amounts=[indexed_amount(a, factor, round_down_to) for a in self.amounts],
        )


class PreferentialSchedule(Cited):
    """Rates on some income kinds, stacked on top of ordinary taxable income.

    The schedule's thresholds are positions in *total* taxable income: the slice of
    preferential income between thresholds[i] and thresholds[i+1] (after ordinary income
    has filled the bottom) is taxed at rates[i]. Listed schedules stack in file order.
    """

    name: str
    applies_to: list[IncomeKind]
    indexed: bool = True
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)
    allowance: dict[FilingStatus, float] = Field(default_factory=dict)
    allowance_steps: dict[FilingStatus, AllowanceSteps] = Field(
        default_factory=dict,
        description="a nil-rate allowance by income-tax taxable income, instead of `allowance`",
    )
    starting_band: dict[FilingStatus, float] = Field(
        default_factory=dict,
        description="a 0% band on this income below this position in taxable income (UK "
        "starting rate for savings, ITA 2007 s.12), used before the allowance: the nil-rate "
        "part is the room left below it plus the allowance",
    )
    deductions_offset: bool = Field(
        True,
        description="deductions left over from other income may reduce this income (the "
        "general rule that allowances reduce total income; UK gains are the exception: the "
        "personal allowance is not set against them)",
    )
    brackets: dict[FilingStatus, Schedule]

    @model_validator(mode="after")
    def _one_allowance(self) -> PreferentialSchedule:
        both = sorted(set(self.allowance) & set(self.allowance_steps))
        if both:
            raise ValueError(f"give allowance or allowance_steps for {both}, not both")
        return self

    def has_allowance(self, status: FilingStatus) -> bool:
        """Whether the schedule has a nil-rate part for `status` (fixed, stepped or a
        starting band)."""
        return (
            self.allowance.get(status, 0.0) > 0
            or status in self.allowance_steps
            or self.starting_band.get(status, 0.0) > 0
        )

    def allowance_for(self, status: FilingStatus, measured: Any) -> Any:
        """The nil-rate allowance of a filing unit whose income-tax taxable income is
        `measured` (see AllowanceSteps)."""
        steps = self.allowance_steps.get(status)
        if steps is not None:
            return steps.amount_at(measured)
        return self.allowance.get(status, 0.0)


class PreferentialCap(Cited):
    """The tax with the preferential schedules never exceeds the tax on all taxable income
    at the ordinary rates (US: IRC §1(h)(1), "a tax equal to the lesser of"). A rule set
    without this table taxes its preferential income at its own rates alone (UK)."""


class CapitalGains(Cited):
    inclusion_rate: float = Field(1.0, gt=0, le=1, description="fraction of a gain that is taxable")
    annual_exemption: dict[FilingStatus, float] = Field(default_factory=dict)
    indexed: bool = Field(True, description="grow annual_exemption with inflation (UK: frozen)")
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)


class Surtax(Cited):
    """rate x min(base, max(0, measure - threshold)): e.g. the US net investment income tax."""

    name: str
    rate: float = Field(gt=0, le=1)
    # The only kinds the calculator knows; a rule file names them (no country's is a default).
    base: Literal["net_investment_income"]
    measure: Literal["magi"]
    threshold: dict[FilingStatus, float]
    indexed: bool = False
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)


class BenefitTaxation(Cited):
    """Taxable part of a public pension benefit by provisional income (US Social Security).

    provisional income = other income + `benefit_fraction` x benefits; `rate1` of it
    between `base1` and `base2` (at most `rate1` x benefits), plus `rate2` of it above
    `base2`, at most `max_fraction` x benefits. Every figure is the law's, so the file
    states each one. Without this table every benefit is fully taxable as ordinary income.
    """

    benefit_fraction: float = Field(ge=0, le=1)
    base1: dict[FilingStatus, float]
    base2: dict[FilingStatus, float]
    rate1: float = Field(ge=0, le=1)
    rate2: float = Field(ge=0, le=1)
    max_fraction: float = Field(ge=0, le=1)
    indexed: bool = False
    round_down_to: RoundDownTo = Field(None, description=ROUND_DOWN_TO_HELP)

    def taxable_part(self, status: FilingStatus, benefits: Any, other_income: Any, xp: Any) -> Any:
        """The taxable part of `benefits` for a filing unit with `other_income` (IRC §86(a),
        (b), (c); Pub. 915 Worksheet 1): `rate1` of provisional income between the bases, at
        most `rate1` x benefits, plus `rate2` of it above `base2`, all at most
        `max_fraction` x benefits. Floats or arrays; `xp` supplies minimum and maximum."""
        provisional = other_income + self.benefit_fraction * benefits
        base1, base2 = self.base1[status], self.base2[status]
        in_first_band = xp.minimum(xp.maximum(provisional - base1, 0.0), base2 - base1)
        first_tier = xp.minimum(self.rate1 * benefits, self.rate1 * in_first_band)
        second_tier = self.rate2 * xp.maximum(0.0, provisional - base2)
        return xp.minimum(self.max_fraction * benefits, second_tier + first_tier)


class AgeFromYear(Strict):
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description="first tax year the age applies")
    age: float = Field(ge=0, le=MAX_AGE)


class EarlyWithdrawal(Cited):
    """An additional tax on distributions taken before `age` (US: IRC §72(t)); `later_ages`
    raise the age from a year on (UK: normal minimum pension age 55, 57 from 2028-29)."""

    age: float
    later_ages: list[AgeFromYear] = Field(default_factory=list)
    penalty_rate: float = Field(ge=0, le=1)

    def age_in(self, year: int | None) -> float:
        """The age that applies to withdrawals in `year`; without a year, the highest age
        that ever applies (the cautious answer for a withdrawal of unknown date)."""
        if year is None:
            return max([self.age, *(a.age for a in self.later_ages)])
        return max(
            ((a.year, a.age) for a in self.later_ages if a.year <= year),
            default=(0, self.age),
        )[1]

    def applies(self, age: int, year: int | None = None) -> bool:
        """Is a withdrawal in `year` early for a person whose age at the end of the year is
        `age`?

        Safe from the year in which that age exceeds the rule's age (59.5 -> from 60): a
        conservative reading of "attained age 59 1/2"; everything asks it through
        RuleSet.withdrawal_is_early or RuleSet.roth_withdrawal_phase.
        """
        return age <= math.floor(self.age_in(year))


class RothPhase(StrEnum):
    """What a Roth distribution costs in a year, by the owner's age and 5-year clock.

    EARLY: before the early-withdrawal age. Regular contributions and conversions whose
    5-year period has ended come out free; a conversion still in its period costs the
    additional tax on its taxable part; earnings are income and cost the additional tax.
    UNQUALIFIED: past that age but not a qualified distribution (the 5-year period since
    the first Roth contribution is not over): contributions and conversions come out free,
    earnings are income. QUALIFIED: nothing is income.
    """

    EARLY = "early"
    UNQUALIFIED = "unqualified"
    QUALIFIED = "qualified"


class RothDistributions(Cited):
    """Ordering and 5-year rules for distributions from Roth accounts.

    US: IRC §408A(d). A qualified distribution (§408A(d)(2)) is excluded from income; it
    must come after the 5-taxable-year period that begins with the first year a
    contribution was made to any Roth IRA of the person, and on or after age 59 1/2 (or
    death or disability, not modelled). Any other distribution comes out in the order of
    §408A(d)(4) and Treas. Reg. §1.408A-6 Q&A-8 (Pub. 590-B, "Ordering Rules for
    Distributions"): regular contributions, then conversions first-in first-out (each
    year's taxable part before its nontaxable part), then earnings. Earnings are income
    (§408A(d)(1), §72) and, before 59 1/2, cost the §72(t) additional tax; a conversion's
    taxable part taken within the 5-taxable-year period beginning with the conversion
    year, before 59 1/2, costs that tax too (§408A(d)(3)(F)). The additional tax is the
    rule set's `early_withdrawal` one, at its rate and age.
    """

    seasoning_years: int = Field(
        ge=0,
        le=50,
        description="length of the 5-taxable-year periods: conversions made in year c are "
        "seasoned from year c + seasoning_years, earnings qualify from the first "
        "contribution year + seasoning_years",
    )
    qualified_age: float = Field(ge=0, le=120, description="age for a qualified distribution")

    def age_reached(self, age: int) -> bool:
        """Has a person whose age at the end of the year is `age` reached the qualified
        age? Same conservative reading as EarlyWithdrawal.applies (59.5 -> from 60)."""
        return age > math.floor(self.qualified_age)

    def conversion_seasoned(self, conversion_year: int, year: int) -> bool:
        """Has the 5-taxable-year period of a conversion made in `conversion_year` ended
        by `year`? (A 2024 conversion runs 2024-2028 and is seasoned from 2029.)"""
        return year >= conversion_year + self.seasoning_years


class BornIn(Strict):
    """A row of a table by year of birth: from `born_from` through `born_through`
    (inclusive; None: open-ended)."""

    born_from: int | None = None
    born_through: int | None = None

    def covers(self, birth_year: int) -> bool:
        return (self.born_from is None or birth_year >= self.born_from) and (
            self.born_through is None or birth_year <= self.born_through
        )


class RmdStartAge(BornIn):
    age: int


class Rmd(Cited):
    """Required minimum distributions: a divisor (US Uniform Lifetime Table) or a minimum
    fraction (Canada's RRIF prescribed factors, ITR 7308(4)) of the opening balance, by age.

    `age_basis`: the age the table and `start_ages` are read at: at the end of the year
    (US) or at the start of the year (Canada: the annuitant's age on January 1)."""

    start_ages: list[RmdStartAge]
    uniform_lifetime_table: dict[int, float] = Field(default_factory=dict)
    minimum_fractions: dict[int, float] = Field(
        default_factory=dict, description="fraction of the balance to withdraw, by age"
    )
    age_basis: Literal["end_of_year", "start_of_year"] = "end_of_year"

    def table_age(self, age: int) -> int:
        """The table's age for a person whose age at the end of the year is `age`."""
        return age - 1 if self.age_basis == "start_of_year" else age

    def start_age(self, birth_year: int) -> int:
        for rule in self.start_ages:
            if rule.covers(birth_year):
                return rule.age
        raise InputError(f"rmd.start_ages: no start age covers birth year {birth_year}")

    def divisor_if_due(self, age: int, birth_year: int) -> float | None:
        """The divisor for an owner of `age` (at the end of the year) born in `birth_year`;
        None before the start age."""
        table_age = self.table_age(age)
        if table_age < self.start_age(birth_year):
            return None
        return self.divisor(table_age)

    def divisor(self, age: int) -> float:
        """Divisor at the table's `age` (a minimum fraction f is the divisor 1/f); ages
        outside the table take its nearest end."""
        table = self.uniform_lifetime_table or {
            a: 1.0 / f for a, f in self.minimum_fractions.items()
        }
        if age in table:
            return table[age]
        return table[max(table)] if age > max(table) else table[min(table)]


class FullRetirementAge(BornIn):
    years: int = Field(ge=0, le=MAX_AGE)
    months: int = Field(0, ge=0, lt=MONTHS_PER_YEAR)

    @property
    def in_months(self) -> int:
        return MONTHS_PER_YEAR * self.years + self.months


class DelayedCredit(BornIn):
    per_month: float = Field(
        ge=0,
        le=1,
        description="increase of the benefit per month of delay past full "
        "retirement age, a fraction of the benefit at that age (2/3 of 1%: 0.00667)",
    )


class SocialSecurity(Cited):
    """The old-age benefit as a fraction of the benefit at full retirement age (the PIA),
    by the age it is claimed (US: 42 USC §416(l), §402(q), §402(w)).

    Claimed `m` months before full retirement age, the benefit is reduced by
    `reduction_per_month` for each of the first `reduction_months` months and
    `further_reduction_per_month` for each month beyond; claimed after it, it grows by the
    birth year's `delayed_credits` rate for each month up to `credits_end_age`. Ages are
    whole years here: a claim at age a means from the month the person turns a.
    """

    earliest_claim_age: int = Field(ge=0, le=MAX_AGE)
    credits_end_age: int = Field(
        ge=0, le=MAX_AGE, description="no delayed credit accrues past this age"
    )
    full_retirement_ages: list[FullRetirementAge]
    reduction_per_month: float = Field(ge=0, le=1)
    reduction_months: int = Field(ge=0, le=MAX_AGE * MONTHS_PER_YEAR)
    further_reduction_per_month: float = Field(ge=0, le=1)
    delayed_credits: list[DelayedCredit]
    spousal_fraction: float | None = Field(
        None,
        ge=0,
        le=1,
        description="a spouse's benefit at full retirement age, a fraction "
        "of the other spouse's (0.5); none: no spousal benefit",
    )
    spousal_reduction_per_month: float | None = Field(
        None,
        ge=0,
        le=1,
        description="a spouse's benefit: reduction for each of the first "
        "reduction_months months before full retirement age (25/36 of 1%); "
        "further_reduction_per_month beyond",
    )

    def claim_ages(self) -> range:
        """The whole ages at which a benefit may be claimed and still change its amount."""
        return range(self.earliest_claim_age, self.credits_end_age + 1)

    def birth_year_problem(self, birth_year: int) -> str | None:
        """Why this table cannot give a factor for `birth_year`, or None."""
        for field, rows in (
            ("full_retirement_ages", self.full_retirement_ages),
            ("delayed_credits", self.delayed_credits),
        ):
            if not any(row.covers(birth_year) for row in rows):
                return f"social_security.{field} has no row for birth year {birth_year}"
        return None

    def full_retirement_age_months(self, birth_year: int) -> int:
        """Full retirement age of a person born in `birth_year`, in months."""
        return next(r for r in self.full_retirement_ages if r.covers(birth_year)).in_months

    def benefit_factor(self, birth_year: int, claim_age: int) -> float:
        """The benefit claimed at whole age `claim_age` by a person born in `birth_year`,
        as a fraction of the benefit at full retirement age (1960+, FRA 67: 0.70 at 62,
        1.24 at 70; SSA Handbook §724, §720)."""
        if claim_age not in self.claim_ages():
            first, last = self.earliest_claim_age, self.credits_end_age
            raise ValueError(f"claim age {claim_age} is outside {first} to {last}")
        months = MONTHS_PER_YEAR * claim_age - self.full_retirement_age_months(birth_year)
        if months >= 0:
            credit = next(c for c in self.delayed_credits if c.covers(birth_year))
            return 1.0 + months * credit.per_month
        return self._reduced(-months, self.reduction_per_month)

    def spousal_factor(self, birth_year: int, age: int) -> float:
        """A spouse's benefit that starts at whole age `age` (from the earliest claiming
        age), as a fraction of its amount at full retirement age: reduced like a retirement
        benefit but at spousal_reduction_per_month for the first months, and no delayed
        credit (FRA 67: 0.65 at 62, so 32.5% of the other's PIA; SSA Handbook §724)."""
        months = MONTHS_PER_YEAR * age - self.full_retirement_age_months(birth_year)
        return 1.0 if months >= 0 else self._reduced(-months, self.spousal_reduction_per_month)

    def _reduced(self, early_months: int, first_rate: float) -> float:
        """1 less `first_rate` for each of the first reduction_months months early and
        further_reduction_per_month for each month beyond."""
        first = min(early_months, self.reduction_months)
        return 1.0 - first * first_rate - (early_months - first) * self.further_reduction_per_month


class CatchUp(Strict):
    min_age: int
    max_age: int | None = None
    amount: float = Field(ge=0)
    round_down_to: Unit | None = Field(None, description=ROUND_DOWN_TO_HELP)


class ContributionLimit(Cited):
    """One annual limit per person, shared by the listed account kinds."""

    name: str
    label: str | None = None  # what a client calls it ("IRA"); the name when absent
    account_kinds: list[str]
    annual: float = Field(ge=0)
    catch_up: list[CatchUp] = Field(default_factory=list)
    indexed: bool = True  # the catch-up amounts too, each rounded by its own round_down_to
    round_down_to: Unit | None = Field(None, description=ROUND_DOWN_TO_HELP)
    earned_income_fraction: float | None = Field(
        None,
        gt=0,
        le=1,
        description="the limit is also at most this fraction of the person's earned income "
        "of the year before (Canada's RRSP deduction limit, ITA s.146(1): 18%)",
    )
    after_withdrawal: float | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="the annual limit from the year a person first withdraws from an account "
        "of these kinds (UK money purchase annual allowance); the result warns where a plan "
        "contributes more",
    )

    def for_earned_income(self, age: int, earned_income: float) -> float:
        """The limit for a person of `age` whose earned income the year before was
        `earned_income`: `for_age`, capped by `earned_income_fraction` of it when given."""
        limit = self.for_age(age)
        if self.earned_income_fraction is None:
            return limit
        return min(limit, self.earned_income_fraction * max(0.0, earned_income))

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def for_age(self, age: int) -> float:
        """Annual limit for a person of `age` (the largest catch-up that applies)."""
        extra = [
            c.amount
            for c in self.catch_up
            if age >= c.min_age and (c.max_age is None or age <= c.max_age)
        ]
        return self.annual + max(extra, default=0.0)


class Growth(StrEnum):
    TAXED = "taxed"  # yields taxed each year by their character; gains taxed when realized
    DEFERRED = "deferred"  # nothing taxed until withdrawn
    EXEMPT = "exempt"  # never taxed


class WithdrawalTax(StrEnum):
    ORDINARY = "ordinary"  # whole withdrawal is ordinary income
    EXEMPT = "exempt"
    BASIS_AND_GAINS = "basis_and_gains"  # sale: gain over basis is a capital gain


class AccountKind(Cited):
    """Tax treatment of an account kind; the model reads only this, never the kind's name."""

    label: str
    short_label: str | None = Field(
        None,
        description="the kind's name in a heading (UK: 'ISA'); the report says 'Roth', "
        "'traditional' or 'taxable' for its growth where a kind of that growth has none",
    )
    contributions: Literal["deductible", "after_tax"]
    growth: Growth
    withdrawals: WithdrawalTax
    tax_free_withdrawal_fraction: float = Field(
        0.0, ge=0, le=1, description="share of each withdrawal that is tax free (UK SIPP: 0.25)"
    )
    tax_free_lifetime_limit: float | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="most one person may take tax free over a lifetime from accounts of this "
        "kind (UK lump sum allowance), nominal, not indexed; the model and the ledger take at "
        "most the fraction of each withdrawal tax free and at most this in all",
    )
    rmd: bool = False
    early_withdrawal_penalty: bool = False
    convertible_to: str | None = Field(None, description="kind a conversion moves money into")

    def tax_free_part(self, drawn: Any, taken: Any = 0.0) -> Any:
        """The tax-free part of `drawn` (nominal; float or numpy array) when the owner has
        taken `taken` tax free from this kind before: the fraction of it, at most what is
        left of the lifetime limit (UK: a quarter of each UFPLS until the lump sum
        allowance is used, FA 2004 Sch.29 para.4A, ITEPA 2003 s.637Q)."""
        share = self.tax_free_withdrawal_fraction * drawn
        if self.tax_free_lifetime_limit is None:
            return share
        return np.minimum(share, np.maximum(0.0, self.tax_free_lifetime_limit - taken))

    contribution_limit: str | None = None
    roth_distribution_rules: bool = Field(
        False,
        description="distributions follow the Roth ordering and 5-year rules of the rule "
        "set's [roth_distributions] table, pooled over all such accounts of one owner",
    )
    pension_income_from_age: int | None = Field(
        None,
        ge=0,
        le=MAX_AGE,
        description="withdrawals are eligible pension income (for a credit limited to "
        "pension income) from this owner age, at the end of the year (Canada: RRIF "
        "payments from 65, ITA s.118(7))",
    )


class MedicareTiers(Strict):
    """One filing status's MAGI tiers: tier k (from 1) applies above `thresholds[k-1]`."""

    thresholds: list[float] = Field(description="MAGI floors of the surcharge tiers, ascending")

    @field_validator("thresholds")
    @classmethod
    def _ascending(cls, values: list[float]) -> list[float]:
        if not values or any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError("give the tiers' MAGI floors, strictly increasing")
        if values[0] <= 0:
            raise ValueError("the first tier starts above 0")
        return values


@dataclass(frozen=True)
class Irmaa:
    """The income-related premium adjustment a year's MAGI sets (nominal dollars a year for
    all people on Medicare; `room`: extra MAGI before the next tier, None above the last)."""

    tier: Any  # 0 = no surcharge
    annual_surcharge: Any
    room: Any


class Medicare(Cited):
    """Income-related monthly adjustment amounts (IRMAA) of Medicare Parts B and D: a
    surcharge per person on Medicare, a step function of the MAGI of the return filed
    `lookback_years` before the premium year (42 USC §1395r(i)(1), (4)). A tier's floor is
    exceeded by MAGI strictly above it, except the last, reached at its floor (the statute's
    "more than" / "at least"). Premiums, not tax."""

    age: int = Field(65, ge=0, le=MAX_AGE, description="age from which a person is on Medicare")
    lookback_years: int = Field(2, ge=0, le=10)
    tiers: dict[FilingStatus, MedicareTiers]
    part_b_monthly: list[float] = Field(description="Part B, per person per month, by tier")
    part_d_monthly: list[float] = Field(description="Part D, per person per month, by tier")
    indexed_tiers: int = Field(
        0, ge=0, description="how many of the lowest tier floors are indexed (CPI-U)"
    )
    indexed: bool = False  # the monthly amounts follow the premium cost; see for_year
    round_down_to: Unit | None = Field(None, description=ROUND_DOWN_TO_HELP)

    @model_validator(mode="after")
    def _check(self) -> Medicare:
        counts = {len(t.thresholds) for t in self.tiers.values()}
        counts |= {len(self.part_b_monthly), len(self.part_d_monthly)}
        if len(counts) != 1:
            raise ValueError(
                "give as many part_b_monthly and part_d_monthly amounts as tier thresholds "
                "for every filing status"
            )
        if any(a < 0 for a in [*self.part_b_monthly, *self.part_d_monthly]):
            raise ValueError("monthly adjustments are amounts of 0 or more")
        return self

    def annual_per_person(self) -> list[float]:
        """Each tier's Part B + Part D adjustment per person for a year (dollars)."""
        return [
            MONTHS_PER_YEAR * (b + d)
            for b, d in zip(self.part_b_monthly, self.part_d_monthly, strict=True)
        ]

    def on_medicare(self, ages: tuple[int, ...]) -> int:
        """How many of the people (ages at the end of the year) are on Medicare."""
        return sum(1 for a in ages if a >= self.age)

    def irmaa(self, magi: Any, status: str, people_on_medicare: int) -> Irmaa:
        """The surcharge a MAGI sets, for `people_on_medicare` people. `magi` may be a float
        or a numpy array (then every field is an array)."""
        floors = self.tiers[status].thresholds
        annual = self.annual_per_person()
        last = len(floors) - 1
        if isinstance(magi, np.ndarray):
            reached = [(magi >= f) if k == last else (magi > f) for k, f in enumerate(floors)]
            tier = np.sum(reached, axis=0)
            per_person = np.concatenate(([0.0], annual))[tier]
            next_floor = np.concatenate((floors, [np.inf]))[tier]
            # Strict floors are passed at floor + 1 cent; the last is reached at its floor.
            gap = next_floor - magi - np.where(tier < last, 0.0, 0.01)
            room = np.where(tier <= last, np.maximum(0.0, gap), np.nan)
        else:
            tier = sum(1 for k, f in enumerate(floors) if (magi >= f if k == last else magi > f))
            per_person = ([0.0, *annual])[tier]
            cent = 0.01 if tier == last else 0.0
            room = None if tier > last else max(0.0, floors[tier] - magi - cent)
        return Irmaa(tier, per_person * people_on_medicare, room)


class PovertyLine(Strict):
    """One area's HHS poverty guideline: dollars for a household of one, plus each extra
    person."""

    first_person: float = Field(gt=0)
    each_additional: float = Field(ge=0)

    def for_household(self, size: int) -> float:
        return self.first_person + self.each_additional * (size - 1)


class AcaBand(Strict):
    """Household income from `start` to `end` times the poverty line (at least `start`, less
    than `end`): the applicable percentage rises linearly from `initial` to `final`."""

    start: float = Field(ge=0)
    end: float
    initial: float = Field(ge=0, le=1, description="fraction of household income")
    final: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> AcaBand:
        if self.end <= self.start or self.final < self.initial:
            raise ValueError(
                "a band runs from a lower to a higher multiple of the poverty "
                "line, its percentage from initial up to final"
            )
        return self

    def percentage(self, ratio: float) -> float:
        """The applicable percentage at `ratio` (household income / poverty line)."""
        share = (ratio - self.start) / (self.end - self.start)
        return self.initial + (self.final - self.initial) * share


@dataclass(frozen=True)
class PremiumTaxCredit:
    """What a year's household income (MAGI, nominal dollars) makes of the benchmark
    premium. `applicable_percentage` is None when the household is not eligible (below the
    floor or above the cliff); `band_room` / `cliff_room`: extra MAGI before the next band
    (the percentage's next rise) / before the credit is lost at the cliff, None above it."""

    fpl_ratio: float
    applicable_percentage: float | None
    contribution: float
    credit: float
    net_premium: float
    band_room: float | None
    cliff_room: float | None


@dataclass(frozen=True)
class AcaRegion:
    """MAGI from `low` to `high` (None: no end) where the net premium follows one formula:
    the required contribution of band `band` (convex in MAGI), or the whole benchmark
    premium when `band` is None. `low_strict`: the region starts just above `low`."""

    low: float
    high: float | None
    band: int | None
    low_strict: bool = False


class Aca(Cited):
    """The premium tax credit (IRC §36B) for marketplace coverage: the benchmark premium less
    the household's required contribution (the applicable percentage of household income),
    for household income of at least `eligible_from` and not more than `eligible_to` times
    the poverty line (§36B(c)(1)(A)); the percentages are the bands' (§36B(b)(3)(A)).
    Premiums, not tax; people are covered until Medicare (`until_age`)."""

    until_age: int = Field(65, ge=0, le=MAX_AGE, description="age from which Medicare covers")
    eligible_from: float = Field(ge=0, description="lowest household income, x poverty line")
    eligible_to: float = Field(description="highest household income (the cliff), x poverty line")
    bands: list[AcaBand] = Field(min_length=1)
    poverty_line_by_area: dict[str, PovertyLine]
    indexed: bool = False  # the poverty lines follow inflation; see for_year

    @model_validator(mode="after")
    def _check(self) -> Aca:
        edges = [b.start for b in self.bands] + [self.bands[-1].end]
        if any(b.start != a.end for a, b in zip(self.bands, self.bands[1:], strict=False)):
            raise ValueError("bands must follow each other: each starts where the last ends")
        if edges[0] > self.eligible_from or edges[-1] < self.eligible_to:
            raise ValueError("the bands must cover eligible_from to eligible_to")
        if "contiguous" not in self.poverty_line_by_area:
            raise ValueError("give the poverty line of the contiguous states ('contiguous')")
        return self

    def covered(self, ages: tuple[int, ...]) -> int:
        """How many of the people (ages at the end of the year) are before Medicare."""
        return sum(1 for a in ages if a < self.until_age)

    def poverty_line(self, household_size: int, area: str = "contiguous") -> float:
        return self.poverty_line_by_area[area].for_household(household_size)

    def applicable_percentage(self, ratio: float) -> float | None:
        """The fraction of household income the household pays toward the benchmark at
        `ratio` x the poverty line; None outside eligibility (no credit)."""
        if ratio < self.eligible_from or ratio > self.eligible_to:
            return None
        return self.bands[self._band_index(ratio)].percentage(ratio)

    def _applicable_percentages(self, ratio: np.ndarray) -> np.ndarray:
        """`applicable_percentage` of each element (NaN outside eligibility): the same band
        (the first whose end is above the ratio, else the last) and the same formula."""
        k = np.minimum(
            np.searchsorted([b.end for b in self.bands], ratio, side="right"), len(self.bands) - 1
        )
        start = np.array([b.start for b in self.bands])[k]
        end = np.array([b.end for b in self.bands])[k]
        initial = np.array([b.initial for b in self.bands])[k]
        final = np.array([b.final for b in self.bands])[k]
        share = initial + (final - initial) * ((ratio - start) / (end - start))
        eligible = (ratio >= self.eligible_from) & (ratio <= self.eligible_to)
        return np.where(eligible, share, np.nan)

    def net_premium(
        self, magi: Any, household_size: int, benchmark_premium: float, area: str = "contiguous"
    ) -> Any:
        """The benchmark premium less the credit (nominal dollars) at household income
        `magi`, a float (premium_tax_credit's net_premium) or a numpy array (one per path)."""
        if not isinstance(magi, np.ndarray):
            credit = self.premium_tax_credit(magi, household_size, benchmark_premium, area)
            return credit.net_premium
        share = self._applicable_percentages(magi / self.poverty_line(household_size, area))
        eligible = ~np.isnan(share)
        contribution = np.where(eligible, share, 0.0) * magi
        credit = np.where(eligible, np.maximum(0.0, benchmark_premium - contribution), 0.0)
        return benchmark_premium - credit

    def _band_index(self, ratio: float) -> int:
        for k, band in enumerate(self.bands):
            if ratio < band.end:
                return k
        return len(self.bands) - 1  # at the cliff itself (not more than eligible_to)

    def contribution(self, magi: float, household_size: int, area: str = "contiguous") -> float:
        """The required contribution: applicable percentage x household income (nominal
        dollars); infinite outside eligibility."""
        line = self.poverty_line(household_size, area)
        share = self.applicable_percentage(magi / line)
        return math.inf if share is None else share * magi

    def band_contribution(
        self, band: int, magi: float, household_size: int, area: str = "contiguous"
    ) -> float:
        """Band `band`'s required contribution at `magi`, by its own formula (also at its
        upper end, where the next band's percentage takes over)."""
        line = self.poverty_line(household_size, area)
        return self.bands[band].percentage(magi / line) * magi

    def band_curvature(self, band: int, household_size: int, area: str = "contiguous") -> float:
        """Second derivative of band `band`'s contribution in MAGI (per dollar): twice its
        percentage's rise per dollar of income."""
        b = self.bands[band]
        line = self.poverty_line(household_size, area)
        return 2.0 * (b.final - b.initial) / ((b.end - b.start) * line)

    def premium_tax_credit(
        self, magi: float, household_size: int, benchmark_premium: float, area: str = "contiguous"
    ) -> PremiumTaxCredit:
        """The credit and net premium of a year: benchmark less the contribution, not below
        0 (the household buys the benchmark plan, so the credit is all of it that applies)."""
        line = self.poverty_line(household_size, area)
        ratio = magi / line
        share = self.applicable_percentage(ratio)
        contribution = math.inf if share is None else share * magi
        credit = max(0.0, benchmark_premium - contribution) if share is not None else 0.0
        cliff = self.eligible_to * line
        band_room = cliff_room = None
        if magi <= cliff:
            cliff_room = cliff - magi
            if ratio < self.eligible_from:
                band_room = self.eligible_from * line - magi
            else:
                upper = self.bands[self._band_index(ratio)].end * line
                band_room = min(upper, cliff) - magi if upper < cliff else cliff_room
        return PremiumTaxCredit(
            ratio,
            share,
            contribution if share is not None else 0.0,
            credit,
            benchmark_premium - credit,
            band_room,
            cliff_room,
        )

    def regions(
        self, household_size: int, benchmark_premium: float, area: str = "contiguous"
    ) -> list[AcaRegion]:
        """The MAGI line cut where the net premium changes formula, in order: below the
        floor (benchmark), each band while the credit lasts (contribution), from where the
        contribution reaches the benchmark (benchmark), above the cliff (benchmark)."""
        line = self.poverty_line(household_size, area)
        floor, cliff = self.eligible_from * line, self.eligible_to * line
        ends = self._credit_end(household_size, benchmark_premium, area, floor, cliff)
        out = [AcaRegion(0.0, floor, None)]
        for k, band in enumerate(self.bands):
            low = max(band.start * line, floor)
            high = min(band.end * line, ends)
            if high - low >= SMALLEST_REGION_DOLLARS:  # a sliver joins the region before
                out.append(AcaRegion(low, high, k))
        if ends < cliff:
            out.append(AcaRegion(max(ends, floor), cliff, None))
        out.append(AcaRegion(cliff, None, None, low_strict=True))
        return out

    def _credit_end(
        self, size: int, benchmark: float, area: str, floor: float, cliff: float
    ) -> float:
        """The lowest MAGI in [floor, cliff] whose contribution reaches the benchmark (the
        contribution never falls as MAGI rises; it may jump up where a band starts, which
        is then the answer); `cliff` when it never does."""
        line = self.poverty_line(size, area)
        for k, band in enumerate(self.bands):
            low, high = max(band.start * line, floor), min(band.end * line, cliff)
            if low >= high:
                continue
            if self.band_contribution(k, low, size, area) >= benchmark:
                return low
            if self.band_contribution(k, high, size, area) < benchmark:
                continue
            for _ in range(BISECTION_STEPS):  # the band's own formula: continuous
                mid = 0.5 * (low + high)
                if self.band_contribution(k, mid, size, area) >= benchmark:
                    high = mid
                else:
                    low = mid
            return high
        return cliff


class Meta(Strict):
    name: str
    title: str
    jurisdiction: str
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    currency: str = Field(description="ISO 4217 code of the amounts (USD, GBP); a label")
    filing_statuses: list[str]
    people_per_status: dict[str, int] = Field(
        default_factory=dict,
        description="people one return covers, by filing status (e.g. mfj = 2); a status "
        "not listed covers one person",
    )
    description: str = ""
    estate_note: str = Field(
        "",
        description="what the after-tax estate figure leaves out under these rules "
        "(UK: inheritance tax); shown beside the figure",
    )
    public_pension: str = Field(
        "",
        description="what the report calls the public pension the rule set's benefit input "
        "is (Canada: 'OAS'); empty: Social Security where the rule set taxes it as such, "
        "else 'State Pension' or 'public pensions'",
    )


class RuleSet(Strict):
    """A validated, fully merged rule set for one jurisdiction-year."""

    meta: Meta
    extends: str | None = None
    ordinary: OrdinarySchedule
    deductions: list[Deduction] = Field(default_factory=list)
    credits: list[Credit] = Field(default_factory=list)
    preferential: list[PreferentialSchedule] = Field(default_factory=list)
    preferential_cap: PreferentialCap | None = None
    capital_gains: CapitalGains
    surtaxes: list[Surtax] = Field(default_factory=list)
    benefit_taxation: BenefitTaxation | None = None
    early_withdrawal: EarlyWithdrawal | None = None
    roth_distributions: RothDistributions | None = None
    rmd: Rmd | None = None
    medicare: Medicare | None = None
    social_security: SocialSecurity | None = None
    aca: Aca | None = None
    contribution_limits: list[ContributionLimit] = Field(default_factory=list)
    account_kinds: dict[str, AccountKind]
    gross_ups: list[GrossUp] = Field(default_factory=list)
    income_credits: list[IncomeCredit] = Field(default_factory=list)
    benefit_clawbacks: list[BenefitClawback] = Field(default_factory=list)
    levels: list[TaxLevel] = Field(
        default_factory=list, description="further taxes on the same taxable income (provinces)"
    )

    @field_validator("account_kinds")
    @classmethod
    def _kinds_not_empty(cls, value: dict) -> dict:
        if not value:
            raise ValueError("define at least one account kind")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> RuleSet:
        problems = _consistency_problems(self)
        if problems:
            # One "field: reason" per line; load_rules prefixes each with the file.
            raise ValueError("\n".join(problems))
        return self

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def year(self) -> int:
        return self.meta.year

    @property
    def limits_by_name(self) -> dict[str, ContributionLimit]:
        # Not cached: `model_copy` (for_year) would carry a cached map of the base's limits.
        return {lim.name: lim for lim in self.contribution_limits}

    # --- the law's answers to questions the model, ledger, simulator and CLI ask ---------

    def people_covered(self, filing_status: str) -> int:
        """How many people one return under `filing_status` covers (meta.people_per_status;
        a status it does not list covers one person)."""
        return self.meta.people_per_status.get(filing_status, 1)

    def early_withdrawal_penalty_rate(self) -> float:
        """Additional tax per unit of early distribution (0 without an [early_withdrawal])."""
        rule = self.early_withdrawal
        return rule.penalty_rate if rule is not None else 0.0

    def withdrawal_is_early(self, account_kind: str, age: int, year: int | None = None) -> bool:
        """Whether a withdrawal in `year` from an account of `account_kind` by an owner
        whose age at the end of the year is `age` bears the early-withdrawal penalty."""
        rule = self.early_withdrawal
        kind = self.account_kinds[account_kind]
        return kind.early_withdrawal_penalty and rule is not None and rule.applies(age, year)

    def withdrawal_is_pension_income(self, account_kind: str, age: int) -> bool:
        """Whether a withdrawal from an account of `account_kind` whose owner is `age` at
        the end of the year is eligible pension income (AccountKind.pension_income_from_age)."""
        start = self.account_kinds[account_kind].pension_income_from_age
        return start is not None and age >= start

    def rmd_divisor(self, account_kind: str, age: int, birth_year: int) -> float | None:
        """Distribution-table divisor when an RMD is due from an account of `account_kind`
        whose owner, born in `birth_year`, is `age` at the end of the year; None if none."""
        table = self.rmd
        if not self.account_kinds[account_kind].rmd or table is None:
            return None
        return table.divisor_if_due(age, birth_year)

    def rmd_amount(self, account_kind: str, age: int, birth_year: int, balance: float) -> float:
        """The required minimum distribution from an account of `account_kind` holding
        `balance` (its value at the end of the year before, Treas. Reg. §1.401(a)(9)-5(b)):
        the balance over the distribution-table divisor, 0 when none is due."""
        divisor = self.rmd_divisor(account_kind, age, birth_year)
        return 0.0 if divisor is None else balance / divisor

    # --- what the optimizer can model -----------------------------------------------------

    def optimizer_support_problems(self) -> list[str]:
        """What in this rule set the optimizer cannot encode ("field: what" each; empty when
        it can). The optimizer reads every table the calculator reads (preferential
        schedules in any number with their allowances, taxopt.model.stacking; levels,
        clawbacks, gross-ups and shaped credits, taxopt.model.layered); a table the model
        cannot follow adds its check here."""
        problems = []
        for level in self.levels:
            for status, schedule in level.ordinary.brackets.items():
                if any(b < a for a, b in zip(schedule.rates, schedule.rates[1:], strict=False)):
                    problems.append(
                        f"levels[{level.name}].ordinary.brackets.{status}: rates that fall "
                        "with income"
                    )
        return problems

    def check_optimizer_support(self) -> None:
        """Refuse, in one line, a rule set the optimizer cannot model (see above)."""
        problems = self.optimizer_support_problems()
        if problems:
            raise InputError(
                f"rules {self.name}: the optimizer cannot model {'; '.join(problems)}; use "
                "`taxopt tax` for this rule set."
            )

    def roth_withdrawal_phase(self, age: int, year: int, clock_start: int | None) -> RothPhase:
        """The phase of a Roth distribution in `year` by a person whose age at the end of
        the year is `age` and whose first Roth contribution was in `clock_start` (None:
        none yet). Without a [roth_distributions] table every distribution is qualified."""
        roth = self.roth_distributions
        if roth is None:
            return RothPhase.QUALIFIED
        if (
            roth.age_reached(age)
            and clock_start is not None
            and year >= clock_start + roth.seasoning_years
        ):
            return RothPhase.QUALIFIED
        if self.early_withdrawal is not None and self.early_withdrawal.applies(age, year):
            return RothPhase.EARLY
        return RothPhase.UNQUALIFIED

    def for_year(self, year: int, inflation: float) -> RuleSet:
        """The rules as they apply in `year`: indexed tables grown by (1+inflation)^(year-base).

        Years before the rule set's own year are not deflated: a rule set states the law
        from its year on.
        """
        factor = (1.0 + inflation) ** max(0, year - self.meta.year)
        if factor == 1.0:
            return self
        cache = _INDEXED.get(id(self))
        if cache is None:
            cache = _INDEXED[id(self)] = {}
            weakref.finalize(self, _INDEXED.pop, id(self), None)
        key = (year, inflation)
        if key not in cache:
            cache[key] = _scale_indexed(self, factor)
        return cache[key]


# The indexed copies already made, per rule set (by id, dropped when it is collected) and
# (year, inflation): the ledger, the model and the policies ask for the same years again and
# again, and indexing rebuilds every schedule. Rule sets are frozen, so a copy stays true;
# it lives outside the model so that equality and pickling see only the law.
_INDEXED: dict[int, dict[tuple[int, float], RuleSet]] = {}


# ---------------------------------------------------------------------------------------
# Cross-table checks: each returns "field: reason; fix" lines.


def _consistency_problems(rules: RuleSet) -> list[str]:
    return [
        *_status_problems(rules),
        *_name_problems(rules),
        *_reference_problems(rules),
        *_range_problems(rules),
        *_value_problems(rules),
        *_layered_problems(rules),
    ]


def _status_maps(rules: RuleSet) -> list[tuple[str, dict, bool]]:
    """(field, per-status map, required) for every table keyed by filing status."""
    maps: list[tuple[str, dict, bool]] = [("ordinary.brackets", rules.ordinary.brackets, True)]
    for d in rules.deductions:
        maps.append((f"deductions[{d.name}].amount", d.amount, True))
        if d.phaseout is not None:
            maps.append((f"deductions[{d.name}].phaseout.start", d.phaseout.start, True))
    maps += _credit_status_maps("credits", rules.credits)
    for c in rules.benefit_clawbacks:
        maps.append((f"benefit_clawbacks[{c.name}].threshold", c.threshold, True))
    for level in rules.levels:
        maps.append((f"levels[{level.name}].ordinary.brackets", level.ordinary.brackets, True))
        maps += _credit_status_maps(f"levels[{level.name}].credits", level.credits)
    for p in rules.preferential:
        maps.append((f"preferential[{p.name}].brackets", p.brackets, True))
        maps.append((f"preferential[{p.name}].allowance", p.allowance, False))
        maps.append((f"preferential[{p.name}].allowance_steps", p.allowance_steps, False))
        maps.append((f"preferential[{p.name}].starting_band", p.starting_band, False))
    for t in rules.surtaxes:
        maps.append((f"surtaxes[{t.name}].threshold", t.threshold, True))
    bt = rules.benefit_taxation
    if bt is not None:
        maps += [
            ("benefit_taxation.base1", bt.base1, True),
            ("benefit_taxation.base2", bt.base2, True),
        ]
    maps.append(("capital_gains.annual_exemption", rules.capital_gains.annual_exemption, False))
    # A rounding unit per filing status must name each status, like the amounts it rounds.
    units = [("ordinary", rules.ordinary.round_down_to)]
    units += [(f"deductions[{d.name}]", d.round_down_to) for d in rules.deductions]
    units += [
        (f"deductions[{d.name}].phaseout", d.phaseout.round_down_to)
        for d in rules.deductions
        if d.phaseout is not None
    ]
    units += [(f"credits[{c.name}]", c.round_down_to) for c in rules.credits]
    units += [(f"benefit_clawbacks[{c.name}]", c.round_down_to) for c in rules.benefit_clawbacks]
    for level in rules.levels:
        units.append((f"levels[{level.name}].ordinary", level.ordinary.round_down_to))
        units += [
            (f"levels[{level.name}].credits[{c.name}]", c.round_down_to) for c in level.credits
        ]
    for group, credits in _credit_groups(rules):
        units += [
            (f"{group}[{c.name}].phaseout", c.phaseout.round_down_to)
            for c in credits
            if c.phaseout is not None
        ]
    units += [(f"preferential[{p.name}]", p.round_down_to) for p in rules.preferential]
    units += [(f"surtaxes[{t.name}]", t.round_down_to) for t in rules.surtaxes]
    if bt is not None:
        units.append(("benefit_taxation", bt.round_down_to))
    units.append(("capital_gains", rules.capital_gains.round_down_to))
    maps += [(f"{table}.round_down_to", u, True) for table, u in units if isinstance(u, dict)]
    return maps


def _credit_groups(rules: RuleSet) -> list[tuple[str, list[Credit]]]:
    """(field, credits) of the rule set's own credits and each level's."""
    groups = [("credits", rules.credits)]
    groups += [(f"levels[{lv.name}].credits", lv.credits) for lv in rules.levels]
    return groups


def _credit_status_maps(group: str, credits: list[Credit]) -> list[tuple[str, dict, bool]]:
    maps: list[tuple[str, dict, bool]] = []
    for c in credits:
        maps.append((f"{group}[{c.name}].amount", c.amount, True))
        if c.phaseout is not None:
            maps.append((f"{group}[{c.name}].phaseout.start", c.phaseout.start, True))
            if c.phaseout.end is not None:
                maps.append((f"{group}[{c.name}].phaseout.end", c.phaseout.end, True))
    return maps


def _layered_problems(rules: RuleSet) -> list[str]:
    """Names used twice among levels and their tables; phase-outs that end before they
    start; minimum fractions that are not fractions."""
    problems = []
    named = {
        "levels": [lv.name for lv in rules.levels],
        "gross_ups": [g.name for g in rules.gross_ups],
        "income_credits": [c.name for c in rules.income_credits],
        "benefit_clawbacks": [c.name for c in rules.benefit_clawbacks],
    }
    for level in rules.levels:
        for table in ("credits", "income_credits", "surtaxes_on_tax", "premiums"):
            named[f"levels[{level.name}].{table}"] = [t.name for t in getattr(level, table)]
    for table, names in named.items():
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.append(f"{table}: name {repeated} is used twice; give each a unique name")
    kinds = [g.applies_to for g in rules.gross_ups]
    if len(set(kinds)) != len(kinds):
        problems.append("gross_ups: an income kind is grossed up twice; list each kind once")
    problems += _phaseout_end_problems(rules)
    if rules.rmd is not None:
        problems += [
            f"rmd.minimum_fractions.{age}: {f:g} is not a fraction above 0 and at most 1 "
            "(0.0528, not 5.28)"
            for age, f in rules.rmd.minimum_fractions.items()
            if not 0 < f <= 1
        ]
        if rules.rmd.minimum_fractions and rules.rmd.uniform_lifetime_table:
            problems.append(
                "rmd: give either uniform_lifetime_table (divisors) or minimum_fractions, not both"
            )
    return problems


def _phaseout_end_problems(rules: RuleSet) -> list[str]:
    return [
        f"{group}[{c.name}].phaseout.end.{status}: {end:g} is not above start "
        f"{c.phaseout.start[status]:g}; the amount is gone at end, after start"
        for group, credits in _credit_groups(rules)
        for c in credits
        if c.phaseout is not None and c.phaseout.end is not None
        for status, end in c.phaseout.end.items()
        if status in c.phaseout.start and end <= c.phaseout.start[status]
    ]


def _status_problems(rules: RuleSet) -> list[str]:
    statuses = rules.meta.filing_statuses
    if not statuses:
        return ['meta.filing_statuses: is empty; list at least one, e.g. ["single"]']
    if len(set(statuses)) != len(statuses):
        return [f"meta.filing_statuses: {statuses} repeats a status; list each once"]
    problems = []
    for status, people in rules.meta.people_per_status.items():
        if status not in statuses:
            problems.append(
                f"meta.people_per_status: filing status '{status}' is not in "
                f"meta.filing_statuses {statuses}; fix the spelling or add it there"
            )
        if people not in (1, 2):
            problems.append(
                f"meta.people_per_status.{status}: {people} people; a return covers 1 "
                "person or 2 (a couple)"
            )
    for field, values, required in _status_maps(rules):
        unknown = sorted(set(values) - set(statuses))
        if unknown:
            problems.append(
                f"{field}: filing status {unknown} is not in meta.filing_statuses "
                f"{statuses}; fix the spelling or add it there"
            )
        missing = sorted(set(statuses) - set(values))
        if missing and (required or values):
            problems.append(
                f"{field}: lacks filing status {missing}; give a value for each of "
                f"meta.filing_statuses {statuses}"
            )
    return problems


def _name_problems(rules: RuleSet) -> list[str]:
    problems = []
    named: dict[str, list[str]] = {
        "deductions": [d.name for d in rules.deductions],
        "credits": [c.name for c in rules.credits],
        "preferential": [p.name for p in rules.preferential],
        "surtaxes": [t.name for t in rules.surtaxes],
        "contribution_limits": [lim.name for lim in rules.contribution_limits],
    }
    for table, names in named.items():
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.append(
                f"{table}: name {repeated} is used twice; names must be unique because "
                "a reform overrides entries by name"
            )
    seen: dict[str, str] = {}
    for p in rules.preferential:
        for kind in p.applies_to:
            if kind in seen:
                problems.append(
                    f"preferential[{p.name}].applies_to: '{kind}' is already taxed by "
                    f"preferential[{seen[kind]}]; list each income kind in one schedule"
                )
            seen[kind] = p.name
    return problems


def _reference_problems(rules: RuleSet) -> list[str]:
    problems = []
    kinds = sorted(rules.account_kinds)
    limit_names = {lim.name for lim in rules.contribution_limits}
    for lim in rules.contribution_limits:
        for kind in lim.account_kinds:
            if kind not in rules.account_kinds:
                problems.append(
                    f"contribution_limits[{lim.name}].account_kinds: names '{kind}', which "
                    f"account_kinds does not define (defined: {', '.join(kinds)})"
                )
    for kind_name, kind in rules.account_kinds.items():
        if kind.contribution_limit and kind.contribution_limit not in limit_names:
            problems.append(
                f"account_kinds.{kind_name}.contribution_limit: names "
                f"'{kind.contribution_limit}', which contribution_limits does not define"
            )
        if kind.convertible_to and kind.convertible_to not in rules.account_kinds:
            problems.append(
                f"account_kinds.{kind_name}.convertible_to: names unknown kind "
                f"'{kind.convertible_to}' (defined: {', '.join(kinds)})"
            )
        if kind.rmd and rules.rmd is None:
            problems.append(
                f"account_kinds.{kind_name}.rmd: is true but the rule set has no [rmd] "
                "table; add one or set rmd = false"
            )
        if kind.roth_distribution_rules and rules.roth_distributions is None:
            problems.append(
                f"account_kinds.{kind_name}.roth_distribution_rules: is true but the rule set "
                "has no [roth_distributions] table; add one or set it to false"
            )
        if kind.roth_distribution_rules and kind.growth != Growth.EXEMPT:
            problems.append(
                f"account_kinds.{kind_name}.roth_distribution_rules: applies to exempt "
                f"accounts only, but growth is '{kind.growth}'; set growth = \"exempt\" or "
                "remove it"
            )
        if kind.early_withdrawal_penalty and rules.early_withdrawal is None:
            problems.append(
                f"account_kinds.{kind_name}.early_withdrawal_penalty: is true but the rule "
                "set has no [early_withdrawal] table; add one or set it to false"
            )
        if kind.early_withdrawal_penalty and kind.withdrawals != WithdrawalTax.ORDINARY:
            problems.append(
                f"account_kinds.{kind_name}.early_withdrawal_penalty: the additional tax falls "
                "on withdrawals that are income (IRC §72(t)(1)), but withdrawals is "
                f"'{kind.withdrawals}'; set withdrawals = \"ordinary\" or set it to false "
                "(Roth-style accounts use roth_distribution_rules)"
            )
    return problems


def _range_problems(rules: RuleSet) -> list[str]:
    problems = []
    for d in rules.deductions:
        if d.first_year is not None and d.last_year is not None and d.first_year > d.last_year:
            problems.append(
                f"deductions[{d.name}]: first_year {d.first_year} is after last_year "
                f"{d.last_year}; swap them"
            )
    for lim in rules.contribution_limits:
        for i, c in enumerate(lim.catch_up):
            if c.max_age is not None and c.max_age < c.min_age:
                problems.append(
                    f"contribution_limits[{lim.name}].catch_up[{i}]: max_age {c.max_age} "
                    f"is below min_age {c.min_age}"
                )
    if rules.rmd is not None:
        problems += _rmd_overlaps(rules.rmd.start_ages)
    return problems


def _value_problems(rules: RuleSet) -> list[str]:
    """Figures that parse but cannot be law: negative or absurd amounts, fractions above 1,
    divisors that are not positive, thresholds out of order, ages beyond a lifetime."""
    problems = []
    for field, values, _required in _status_maps(rules):
        for status, value in values.items():
            if isinstance(value, Schedule):
                problems += _schedule_problems(f"{field}.{status}", value)
            elif isinstance(value, AllowanceSteps):
                continue  # checked by AllowanceSteps itself
            elif not 0 <= value <= MAX_AMOUNT:
                problems.append(
                    f"{field}.{status}: {value:g} is not an amount from 0 to {MAX_AMOUNT:g}; "
                    "give the figure in currency units of the rule set's year"
                )
    if rules.benefit_taxation is not None:
        problems += _benefit_table_problems(rules.benefit_taxation)
    if rules.early_withdrawal is not None and not 0 <= rules.early_withdrawal.age <= MAX_AGE:
        problems.append(
            f"early_withdrawal.age: {rules.early_withdrawal.age:g} is not an age from 0 to "
            f"{MAX_AGE}; give the age from which withdrawals are free of the penalty (59.5)"
        )
    if rules.rmd is not None:
        problems += _rmd_problems(rules.rmd)
    if rules.social_security is not None:
        problems += _social_security_problems(rules.social_security)
    problems += [
        f"contribution_limits[{lim.name}].annual: {lim.annual:g} is above "
        f"{MAX_AMOUNT:g}; give the yearly limit in currency units"
        for lim in rules.contribution_limits
        if lim.annual > MAX_AMOUNT
    ]
    problems += [
        f"deductions[{d.name}].{name}: {year} is not a year from {MIN_YEAR} to {MAX_YEAR}"
        for d in rules.deductions
        for name, year in (("first_year", d.first_year), ("last_year", d.last_year))
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR
    ]
    return problems


def _benefit_table_problems(bt: BenefitTaxation) -> list[str]:
    problems = [
        f"benefit_taxation.{name}: {getattr(bt, name):g} is not a fraction from 0 to 1 "
        "(0.85, not 85)"
        for name in ("benefit_fraction", "rate1", "rate2", "max_fraction")
        if not 0 <= getattr(bt, name) <= 1
    ]
    for status in set(bt.base1) & set(bt.base2):
        if bt.base2[status] < bt.base1[status]:
            problems.append(
                f"benefit_taxation.base2.{status}: {bt.base2[status]:g} is below base1 "
                f"{bt.base1[status]:g}; the second base is the higher one"
            )
    return problems


def _social_security_problems(ss: SocialSecurity) -> list[str]:
    problems = []
    if ss.credits_end_age < ss.earliest_claim_age:
        problems.append(
            f"social_security.credits_end_age: {ss.credits_end_age} is below "
            f"earliest_claim_age {ss.earliest_claim_age}; credits end after the earliest claim"
        )
    for field in ("full_retirement_ages", "delayed_credits"):
        if not getattr(ss, field):
            problems.append(f"social_security.{field}: is empty; give a row per birth year")
    if (ss.spousal_fraction is None) != (ss.spousal_reduction_per_month is None):
        problems.append(
            "social_security.spousal_fraction: give both spousal_fraction and "
            "spousal_reduction_per_month, or neither (no spousal benefit)"
        )
    return problems


def _schedule_problems(field: str, schedule: Schedule) -> list[str]:
    if schedule.thresholds and schedule.thresholds[-1] > MAX_AMOUNT:
        return [
            f"{field}.thresholds: {schedule.thresholds[-1]:g} is above {MAX_AMOUNT:g}; "
            "the top rate applies from the last threshold up, so leave out any 'infinite' one"
        ]
    return []


def _rmd_problems(rmd: Rmd) -> list[str]:
    problems = []
    table = rmd.uniform_lifetime_table
    if not table and not rmd.minimum_fractions:
        problems.append(
            "rmd.uniform_lifetime_table: is empty; give a divisor for each age "
            "(Treas. Reg. §1.401(a)(9)-9(c), Uniform Lifetime Table)"
        )
    for age, divisor in table.items():
        if not 0 <= age <= MAX_AGE:
            problems.append(f"rmd.uniform_lifetime_table.{age}: not an age from 0 to {MAX_AGE}")
        if not 0 < divisor <= MAX_AGE:
            problems.append(
                f"rmd.uniform_lifetime_table.{age}: divisor {divisor:g} must be positive "
                f"(a distribution period in years, at most {MAX_AGE})"
            )
    if not rmd.start_ages:
        problems.append("rmd.start_ages: is empty; give the age RMDs start, by birth year")
    for i, rule in enumerate(rmd.start_ages):
        if not 0 <= rule.age <= MAX_AGE:
            problems.append(
                f"rmd.start_ages[{i}].age: {rule.age} is not an age from 0 to {MAX_AGE}"
            )
    return problems


def _rmd_overlaps(start_ages: list[RmdStartAge]) -> list[str]:
    lo = float("-inf")
    spans = sorted(
        (
            r.born_from if r.born_from is not None else lo,
            r.born_through if r.born_through is not None else -lo,
            i,
        )
        for i, r in enumerate(start_ages)
    )
    return [
        f"rmd.start_ages[{b[2]}]: birth years overlap start_ages[{a[2]}]; give each birth "
        "year one start age"
        for a, b in zip(spans, spans[1:], strict=False)
        if b[0] <= a[1]
    ]


def _unit(round_down_to: RoundDownTo, status: str) -> float | None:
    """A table's rounding unit for one filing status."""
    if isinstance(round_down_to, dict):
        return round_down_to.get(status)
    return round_down_to


def _scale_map(values: dict[str, float], f: float, round_down_to: RoundDownTo) -> dict[str, float]:
    """Per-status amounts indexed by factor `f`, each with its status's rounding."""
    return {k: indexed_amount(v, f, _unit(round_down_to, k)) for k, v in values.items()}


def _scale_schedules(
    schedules: dict[str, Schedule], f: float, round_down_to: RoundDownTo
) -> dict[str, Schedule]:
    return {k: b.scaled(f, _unit(round_down_to, k)) for k, b in schedules.items()}


def _scale_indexed(rules: RuleSet, f: float) -> RuleSet:
    """Every table marked `indexed` grown by factor `f`, with the table's `round_down_to`."""
    o = rules.ordinary
    ordinary = (
        o.model_copy(update={"brackets": _scale_schedules(o.brackets, f, o.round_down_to)})
        if o.indexed
        else o
    )
    deductions = []
    for d in rules.deductions:
        update: dict[str, Any] = {}
        if d.indexed:
            update["amount"] = _scale_map(d.amount, f, d.round_down_to)
        phaseout = d.phaseout
        if phaseout is not None and phaseout.indexed:
            update["phaseout"] = phaseout.model_copy(
                update={"start": _scale_map(phaseout.start, f, phaseout.round_down_to)}
            )
        deductions.append(d.model_copy(update=update) if update else d)
    credits = [_scale_credit(c, f) for c in rules.credits]
    preferential = [
        p.model_copy(
            update={
                "brackets": _scale_schedules(p.brackets, f, p.round_down_to),
                "allowance": _scale_map(p.allowance, f, p.round_down_to),
                "starting_band": _scale_map(p.starting_band, f, p.round_down_to),
                "allowance_steps": {
                    k: s.scaled(f, _unit(p.round_down_to, k)) for k, s in p.allowance_steps.items()
                },
            }
        )
        if p.indexed
        else p
        for p in rules.preferential
    ]
    surtaxes = [
        s.model_copy(update={"threshold": _scale_map(s.threshold, f, s.round_down_to)})
        if s.indexed
        else s
        for s in rules.surtaxes
    ]
    bt = rules.benefit_taxation
    if bt is not None and bt.indexed:
        bt = bt.model_copy(
            update={
                "base1": _scale_map(bt.base1, f, bt.round_down_to),
                "base2": _scale_map(bt.base2, f, bt.round_down_to),
            }
        )
    limits = [
        lim.model_copy(
            update={
                "annual": indexed_amount(lim.annual, f, lim.round_down_to),
                "catch_up": [
                    c.model_copy(update={"amount": indexed_amount(c.amount, f, c.round_down_to)})
                    for c in lim.catch_up
                ],
            }
        )
        if lim.indexed
        else lim
        for lim in rules.contribution_limits
    ]
    cg = rules.capital_gains
    if cg.indexed:
        cg = cg.model_copy(
            update={"annual_exemption": _scale_map(cg.annual_exemption, f, cg.round_down_to)}
        )
    medicare = rules.medicare
    if medicare is not None and (medicare.indexed_tiers or medicare.indexed):
        medicare = _scale_medicare(medicare, f)
    aca = rules.aca
    if aca is not None and aca.indexed:
        aca = aca.model_copy(
            update={
                "poverty_line_by_area": {
                    area: PovertyLine(
                        first_person=p.first_person * f, each_additional=p.each_additional * f
                    )
                    for area, p in aca.poverty_line_by_area.items()
                }
            }
        )
    return rules.model_copy(
        update={
            "aca": aca,
            "medicare": medicare,
            "ordinary": ordinary,
            "deductions": deductions,
            "credits": credits,
            "preferential": preferential,
            "surtaxes": surtaxes,
            "benefit_taxation": bt,
            "contribution_limits": limits,
            "capital_gains": cg,
            **_scale_layered(rules, f),
        }
    )


def _scale_credit(credit: Credit, f: float) -> Credit:
    """A credit's amount (when `indexed`) and its phase-out's income points (when the
    phase-out is `indexed`) grown by `f`."""
    update: dict[str, Any] = {}
    if credit.indexed:
        update["amount"] = _scale_map(credit.amount, f, credit.round_down_to)
    ph = credit.phaseout
    if ph is not None and ph.indexed:
        points: dict[str, Any] = {"start": _scale_map(ph.start, f, ph.round_down_to)}
        if ph.end is not None:
            points["end"] = _scale_map(ph.end, f, ph.round_down_to)
        update["phaseout"] = ph.model_copy(update=points)
    return credit.model_copy(update=update) if update else credit


def _scale_level_schedule(level: TaxLevel, f: float) -> OrdinarySchedule:
    """A level's brackets grown by `f`: all thresholds, or the lowest `indexed_thresholds`
    above 0 (the rest are fixed amounts in the statute)."""
    o = level.ordinary
    if not o.indexed:
        return o
    scaled = _scale_schedules(o.brackets, f, o.round_down_to)
    n = level.indexed_thresholds
    if n is not None:
        scaled = {
            status: Schedule(
                thresholds=_partly_indexed(scaled[status].thresholds, schedule.thresholds, n),
                rates=list(schedule.rates),
            )
            for status, schedule in o.brackets.items()
        }
    return o.model_copy(update={"brackets": scaled})


def _partly_indexed(indexed: list[float], fixed: list[float], n: int) -> list[float]:
    """The first n thresholds above 0 from `indexed`, the rest from `fixed`. A fixed one
    that indexing has overtaken sits 1 above the one before (its bracket is empty), so the
    schedule stays ascending in far years."""
    out = [indexed[0]]
    for k in range(1, len(fixed)):
        value = indexed[k] if k <= n else fixed[k]
        out.append(max(value, out[-1] + 1.0))
    return out


def _scale_layered(rules: RuleSet, f: float) -> dict[str, Any]:
    """Benefit clawback thresholds and each level's indexed tables grown by `f`."""
    clawbacks = [
        c.model_copy(update={"threshold": _scale_map(c.threshold, f, c.round_down_to)})
        if c.indexed
        else c
        for c in rules.benefit_clawbacks
    ]
    levels = []
    for level in rules.levels:
        ordinary = _scale_level_schedule(level, f)
        update = {
            "ordinary": ordinary,
            "credits": [_scale_credit(c, f) for c in level.credits],
            "surtaxes_on_tax": [t.scaled(f) if t.indexed else t for t in level.surtaxes_on_tax],
            "premiums": [p.scaled(f) if p.indexed else p for p in level.premiums],
        }
        levels.append(level.model_copy(update=update))
    return {"benefit_clawbacks": clawbacks, "levels": levels}


def _scale_medicare(medicare: Medicare, f: float) -> Medicare:
    """The lowest `indexed_tiers` floors grown by `f` (rounded as the table says); with
    `indexed`, the monthly amounts grown by `f` too."""
    n = medicare.indexed_tiers
    tiers = {
        status: t.model_copy(
            update={
                "thresholds": [
                    indexed_amount(v, f, medicare.round_down_to) if k < n else v
                    for k, v in enumerate(t.thresholds)
                ]
            }
        )
        for status, t in medicare.tiers.items()
    }
    update: dict[str, Any] = {"tiers": tiers}
    if medicare.indexed:
        update["part_b_monthly"] = [v * f for v in medicare.part_b_monthly]
        update["part_d_monthly"] = [v * f for v in medicare.part_d_monthly]
    return medicare.model_copy(update=update)


# ---------------------------------------------------------------------------------------
# Loading, `extends` and the registry of rules/


def available_rule_sets(rules_dir: Path = RULES_DIR) -> list[str]:
    return sorted(p.stem for p in rules_dir.glob("*.toml"))


def _resolve_path(name_or_path: str | Path, rules_dir: Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    named = rules_dir / f"{name_or_path}.toml"
    if named.exists():
        return named
    if candidate.exists():
        return candidate
    known = ", ".join(available_rule_sets(rules_dir)) or "(none)"
    raise InputError(
        f"rules: no rule set named '{name_or_path}'; known rule sets: {known} "
        f"(or give the path of a .toml rule file)"
    )


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(read_text(path, "rule file"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def merge_override(base: Any, override: Any) -> Any:
    """Deep-merge a reform into its base.

    Tables merge key by key. A list of tables that all carry a `name` merges by name
    (an override entry replaces fields of the base entry of that name, new names are
    appended, and `remove = true` drops one). Any other value is replaced.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = merge_override(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (_is_named_list(base) or base == []) and _is_named_list(override):
        merged_list = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in override:
            if item["name"] in index:
                position = index[item["name"]]
                merged_list[position] = merge_override(merged_list[position], item)
            else:
                merged_list.append(copy.deepcopy(item))
        kept = [item for item in merged_list if not item.get("remove", False)]
        for item in kept:
            item.pop("remove", None)  # `remove = false` is not a field of the entry
        return kept
    return copy.deepcopy(override)


def _is_named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def load_raw(name_or_path: str | Path, rules_dir: Path = RULES_DIR, _seen: tuple = ()) -> dict:
    """The merged TOML data of a rule set, following `extends` chains."""
    path = _resolve_path(name_or_path, rules_dir)
    if path.resolve() in _seen:
        chain = " -> ".join(str(p.name) for p in (*_seen, path.resolve()))
        raise InputError(f"{path}: extends: circular chain {chain}; remove one extends")
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise InputError(f"{path}: extends: must be the name or path of a rule set, got {parent!r}")
    if parent:
        parent_path = _resolve_parent(parent, path)
        parent_data = load_raw(parent_path, path.parent, (*_seen, path.resolve()))
        problems = _unrestated_sources(data, parent_data, parent)
        if problems:
            raise InputError("\n".join(f"{path}: {line}" for line in problems))
        _drop_inherited_urls(data, parent_data)
        data = merge_override(parent_data, data)
    return data


# Keys of a table that cite or describe it; any other key holds law (a value).
_NOT_LAW_KEYS = {"source", "url", "name", "description", "label", "remove"}


def _unrestated_sources(override: dict, base: dict, parent: str) -> list[str]:
    """ "table: reason; fix" for each table a reform changes without restating its source.

    An inherited source cites the law the new values replace; a reform that changes a value
    of a table must cite its own law for it. New tables need a source anyway (schema).
    """
    problems = []
    for label, new, old in _tables_in_both(override, base):
        if "source" in new or new.get("remove"):
            continue
        changed = [
            key
            for key, value in new.items()
            if key not in _NOT_LAW_KEYS
            and (key not in old or merge_override(old[key], value) != old[key])
        ]
        if changed:
            problems.append(
                f"{label}: changes {', '.join(changed)} of {parent} but not its source; add "
                f'source = "..." citing the law of the new values (the inherited source '
                "cites the law they replace)"
            )
    return problems


def _drop_inherited_urls(override: dict, base: dict) -> None:
    """A table whose source a reform restates keeps only the links the reform gives: the
    inherited ones belong to the inherited source."""
    for _label, new, _old in _tables_in_both(override, base):
        if "source" in new:
            new.setdefault("url", [])


def _tables_in_both(override: dict, base: dict) -> Iterator[tuple[str, dict, dict]]:
    """(label, reform's table, base's table) for each cited table the reform touches."""
    for key, value in override.items():
        old = base.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            if "source" in old:
                yield key, value, old
                continue
            for name, entry in value.items():  # a map of tables (account_kinds)
                if isinstance(entry, dict) and isinstance(old.get(name), dict):
                    if "source" in old[name]:
                        yield f"{key}.{name}", entry, old[name]
        elif _is_named_list(value) and _is_named_list(old):
            by_name = {item["name"]: item for item in old}
            for entry in value:
                if entry["name"] in by_name:
                    yield f"{key}[{entry['name']}]", entry, by_name[entry["name"]]


def _resolve_parent(parent: str, path: Path) -> Path:
    """The file an `extends` names: a .toml path relative to the extending file, or a
    rule-set name found beside it or in the registry `rules/`."""
    beside = path.parent / parent
    if beside.suffix == ".toml" and beside.exists():
        return beside
    for directory in dict.fromkeys((path.parent, RULES_DIR)):
        named = directory / f"{parent}.toml"
        if named.exists():
            return named
    known = sorted(set(available_rule_sets(path.parent)) | set(available_rule_sets()))
    raise InputError(
        f"{path}: extends: no rule set named '{parent}' beside this file or in {RULES_DIR}; "
        f"known rule sets: {', '.join(known) or '(none)'}"
    )


def load_rules(name_or_path: str | Path, rules_dir: Path = RULES_DIR) -> RuleSet:
    """Load, merge and validate a rule set by name (`us-federal-2026`) or file path."""
    path = _resolve_path(name_or_path, rules_dir)
    data = load_raw(path, rules_dir)
    data.pop("remove", None)
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None


def _explain(path: Path, exc: ValidationError) -> InputError:
    """`file: field: reason` lines; cross-table problems carry their field in the message."""
    prefix = f"{path}: "
    lines = []
    for line in str(explain_validation_error(path, exc)).splitlines():
        line = line.replace(f"{prefix}(top level): ", prefix, 1)
        lines.append(line if line.startswith(prefix) else prefix + line)
    return InputError("\n".join(lines))

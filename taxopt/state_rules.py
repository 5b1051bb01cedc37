"""US state income tax as data: the schema of `rules/states/*.toml` and its loading.

A state rule file describes one state's (or several no-tax states') income tax for one
year in the terms of `taxopt.state_tax`: where state income starts (federal AGI, federal
taxable income or the state's own sum of income kinds), which income it subtracts
(Social Security, retirement income by age, with caps and income cliffs), deductions and
exemptions with phase-outs and cliffs, brackets by filing status, kinds taxed at their own
flat rate (Massachusetts short-term gains), surtaxes and non-refundable credits.
Adding a state is a data file and tests; the calculator has no per-state code.

Amounts are nominal dollars of the rule year; rates are fractions. Every table carries a
`source` (statute, form instructions, tax year) and optionally `url`.
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationError, model_validator

from taxopt.errors import InputError, explain_validation_error
from taxopt.rules import RULES_DIR, Schedule, Strict, _read_toml, merge_override

STATE_RULES_DIR = RULES_DIR / "states"

Source = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3),
    Field(description="Legal source: statute, form instructions and tax year"),
]
StatusAmounts = dict[str, float]  # filing status -> annual dollars


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"is {value:g}; rates are fractions from 0 to 1 (0.085, not 8.5)")
    return value


Fraction = Annotated[float, AfterValidator(_fraction)]


class IncomeKind(StrEnum):
    """The yearly income components a state may treat differently (annual dollars)."""

    WAGES = "wages"  # earned income and other ordinary income not named below
    INTEREST = "interest"
    IRA_DISTRIBUTIONS = "ira_distributions"  # traditional IRA / 401(k) / 403(b), incl. conversions
    PENSION_INCOME = "pension_income"  # defined-benefit pensions and annuities
    SHORT_TERM_GAINS = "short_term_gains"
    QUALIFIED_DIVIDENDS = "qualified_dividends"
    LTCG = "ltcg"
    SOCIAL_SECURITY = "social_security"  # gross benefits; federal AGI holds the taxable part


class Measure(StrEnum):
    """The income an income test or phase-out is measured on."""

    FEDERAL_AGI = "federal_agi"
    STATE_INCOME = "state_income"  # the state's income before subtractions (NJ gross income)
    STATE_AGI = "state_agi"  # after subtractions, before deductions


class Cited(Strict):
    source: Source
    url: list[str] = Field(default_factory=list)


class AgeBand(Strict):
    """People whose age at the end of the year is from `min_age` to `max_age` (inclusive)."""

    min_age: int = Field(default=0, ge=0)
    max_age: int | None = Field(default=None, ge=0)

    def covers(self, age: int) -> bool:
        return age >= self.min_age and (self.max_age is None or age <= self.max_age)

    def people(self, ages: tuple[int, ...]) -> int:
        """How many of the people (ages at the end of the year) are in the band."""
        return sum(1 for age in ages if self.covers(age))


class PersonCap(AgeBand):
    """A per-person cap for people in an age band (Georgia: 35,000 at 62-64, 65,000 at 65+)."""

    amount: float = Field(ge=0)


class IncomeTier(Strict):
    """Up to `max_income` of the measure, `fraction` of the income is subtracted, capped.

    Tiers are read in order; the first whose `max_income` the measure does not exceed
    applies. Above the last tier nothing is subtracted: a cliff (New Jersey).
    """

    max_income: StatusAmounts
    fraction: dict[str, Fraction]
    cap: StatusAmounts | None = None


class Subtraction(Cited):
    """Income of some kinds taken out of state income, in file order.

    Each subtraction takes from what earlier ones left of its kinds. It applies when at
    least one person is in `ages`; a cap is per filing unit (`cap`) or per person in the
    age band (`cap_per_person`, the sum over qualifying people). The calculator does not
    know whose income it is: qualifying people's caps are pooled against the unit's
    income of those kinds. `kind_limits` bound a kind's share (Georgia: earned income
    5,000 per person). `income_limit` makes it a cliff: nothing when the measure is above.
    """

    name: str
    description: str = ""
    kinds: list[IncomeKind] = Field(min_length=1)
    ages: AgeBand = Field(default_factory=AgeBand)
    fraction: Fraction = 1.0
    cap: StatusAmounts | None = None
    cap_per_person: list[PersonCap] = Field(default_factory=list)
    kind_limits_per_person: dict[IncomeKind, float] = Field(default_factory=dict)
    income_limit: StatusAmounts | None = None
    income_tiers: list[IncomeTier] = Field(default_factory=list)
    measure: Measure = Measure.FEDERAL_AGI

    def person_caps(self, ages: tuple[int, ...]) -> float:
        """Sum over people of the first `cap_per_person` band's amount that covers each."""
        total = 0.0
        for age in ages:
            band = next((c for c in self.cap_per_person if c.covers(age)), None)
            total += band.amount if band is not None else 0.0
        return total

    def fixed_cap(self, status: str, ages: tuple[int, ...]) -> float | None:
        """The cap of a subtraction without income tiers: the unit's cap and the pooled
        per-person caps, whichever is lower (None: uncapped)."""
        caps = [self.cap[status]] if self.cap is not None else []
        if self.cap_per_person:
            caps.append(self.person_caps(ages))
        return min(caps) if caps else None

    def takes_all(self) -> bool:
        """Whether it takes all of its kinds whenever it applies (no fraction, cap or limit
        per kind; an income cliff only switches it off)."""
        return (
            self.fraction == 1.0
            and self.cap is None
            and not self.cap_per_person
            and not self.income_tiers
            and not self.kind_limits_per_person
        )

    @model_validator(mode="after")
    def _check(self) -> Subtraction:
        if self.income_tiers and (self.cap is not None or self.income_limit is not None):
            raise ValueError(
                "income_tiers carry their own caps and limits; drop cap and income_limit"
            )
        return self


class Phaseout(Strict):
    """Reduce an amount by `rate` x (measure - start), in whole `step`s when given.

    California's exemption credits: 6 dollars for each 2,500 or fraction of federal AGI
    over the threshold is `rate = 0.0024, step = 2500` (each step counts whole).
    """

    start: StatusAmounts
    rate: float = Field(gt=0)
    step: float | None = Field(default=None, gt=0)
    measure: Measure = Measure.FEDERAL_AGI


class Allowance(Cited):
    """A deduction or exemption (or, among credits, a non-refundable credit) in dollars.

    `per_person` counts each person in `ages`; otherwise it is one amount per filing unit
    that applies when anyone is in `ages`. `income_limit` is a cliff: none above it.
    """

    name: str
    description: str = ""
    amount: StatusAmounts
    per_person: bool = False
    ages: AgeBand = Field(default_factory=AgeBand)
    phaseout: Phaseout | None = None
    income_limit: StatusAmounts | None = None
    limit_measure: Measure = Measure.FEDERAL_AGI
    indexed: bool = False

    def full_amount(self, status: str, ages: tuple[int, ...]) -> float:
        """The amount before any phase-out or income limit (dollars)."""
        people = self.ages.people(ages)
        return self.amount[status] * (people if self.per_person else min(people, 1))


class FlatRate(Cited):
    """Income of some kinds taxed at its own flat rate, outside the brackets (MA 8.5%)."""

    name: str
    kinds: list[IncomeKind] = Field(min_length=1)
    rate: Fraction


class Surtax(Cited):
    """`rate` on state taxable income above `threshold` (MA 4%; CA behavioral health 1%)."""

    name: str
    rate: Fraction
    threshold: StatusAmounts
    indexed: bool = False


class Recapture(Cited):
    """Recapture of the lower brackets' benefit as the measure rises (New York §601(d-1)).

    Above `start`, taxable income in or below the bracket holding `start` is taxed at
    that bracket's rate, phased in over `phase_in` dollars of the measure. In a higher
    bracket k (from threshold t_k at rate r_k), the tax is the schedule's plus the benefit
    of the brackets below at r_(k-1) (r_(k-1) x t_k - tax(t_k)) plus (r_k - r_(k-1)) x t_k
    phased in over `phase_in` from t_k. Above the top threshold, all taxable income is
    taxed at the top rate.
    """

    start: StatusAmounts
    phase_in: float = Field(gt=0)
    measure: Measure = Measure.STATE_AGI


class TaxCap(Cited):
    """Total tax at most `rate` x (measure - threshold), never below 0, while the measure is
    at most `max_income`: Massachusetts' no-tax status and limited income credit.
    """

    name: str
    threshold: StatusAmounts
    rate: Fraction
    max_income: StatusAmounts | None = None
    measure: Measure = Measure.STATE_AGI


class Brackets(Cited):
    indexed: bool = False
    schedules: dict[str, Schedule]
    recapture: Recapture | None = None


class StartingPoint(Cited):
    """Where state income starts.

    `federal_agi` and `federal_taxable_income` start from the federal return (which holds
    only the federally taxable part of Social Security); `components` sums the listed
    income kinds, each in full.
    """

    base: Literal["federal_agi", "federal_taxable_income", "components"]
    kinds: list[IncomeKind] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> StartingPoint:
        if self.base == "components" and not self.kinds:
            raise ValueError("kinds: list the income kinds the state taxes (base = components)")
        if self.base != "components" and self.kinds:
            raise ValueError(f"kinds: only for base = 'components', not '{self.base}'")
        return self


class StateMeta(Strict):
    name: str
    title: str
    # Two-letter state codes; a local overlay adds its place: "NY-NYC".
    states: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z]+)?$")]] = Field(
        min_length=1
    )
    year: int
    figures_year: int | None = None  # the year whose published figures are used, if earlier
    filing_statuses: list[str] = Field(default_factory=lambda: ["single", "mfj"])
    description: str = ""
    not_modelled: list[str] = Field(default_factory=list)
    # The state's own published indexing rate for a later year (a fraction), used instead
    # of the caller's inflation for that year: tax year -> rate.
    indexing: dict[int, float] = Field(default_factory=dict)
    indexing_source: str = ""


class LocalTax(Cited):
    """A local income tax on the state's taxable income (New York City), by filing status."""

    name: str
    schedules: dict[str, Schedule]


class StateRuleSet(Strict):
    """A validated state rule file (`extends` another in the same folder: a local overlay)."""

    meta: StateMeta
    extends: str | None = None
    start: StartingPoint
    subtractions: list[Subtraction] = Field(default_factory=list)
    deductions: list[Allowance] = Field(default_factory=list)
    brackets: Brackets
    flat_rates: list[FlatRate] = Field(default_factory=list)
    surtaxes: list[Surtax] = Field(default_factory=list)
    credits: list[Allowance] = Field(default_factory=list)
    tax_caps: list[TaxCap] = Field(default_factory=list)
    local: LocalTax | None = None

    @model_validator(mode="after")
    def _check_statuses(self) -> StateRuleSet:
        problems = [f"{where}: {why}" for where, why in _status_problems(self)]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def name(self) -> str:
        return self.meta.name

    def optimizer_problems(self) -> list[str]:
        """What the optimizer's state rows (taxopt.model.state_taxes) cannot express: parts
        that are neither convex nor a choice of intervals of one measure the regime search
        can fix."""
        problems = []
        recapture = self.brackets.recapture
        if recapture is not None and (
            recapture.measure != Measure.STATE_AGI or not self._fixed_deductions()
        ):
            problems.append(
                f"the benefit recapture of brackets.recapture on {recapture.measure.value} "
                "with deductions that depend on income"
            )
        schedules = list(self.brackets.schedules.values())
        if self.local is not None:
            schedules += list(self.local.schedules.values())
            if self.tax_caps:
                problems.append(f"the local tax {self.local.name} with tax caps")
        if any(
            later < earlier
            for schedule in schedules
            for earlier, later in zip(schedule.rates, schedule.rates[1:], strict=False)
        ):
            problems.append("bracket rates that fall as income rises")
        problems += self._subtraction_problems()
        for table in (*self.deductions, *self.credits):
            measures = [table.limit_measure] if table.income_limit is not None else []
            measures += [table.phaseout.measure] if table.phaseout is not None else []
            if any(m != Measure.FEDERAL_AGI for m in measures):
                problems.append(f"the limit of {table.name} on {measures[-1].value}")
        for flat in self.flat_rates:
            if set(flat.kinds) - {IncomeKind.SHORT_TERM_GAINS}:
                problems.append(f"the flat rate {flat.name} on kinds the model realizes")
        return problems

    def _fixed_deductions(self) -> bool:
        """Whether every deduction is a constant of the year (no phase-out or limit)."""
        return all(d.phaseout is None and d.income_limit is None for d in self.deductions)

    def _subtraction_problems(self) -> list[str]:
        """An income test on state AGI (the subtraction's own result) and a subtraction
        that shares kinds with a later one without taking all of them (the model pools
        shared kinds; that is the calculator's order only when earlier ones take all)."""
        problems = []
        for i, sub in enumerate(self.subtractions):
            tested = sub.income_tiers or sub.income_limit is not None
            if tested and sub.measure == Measure.STATE_AGI:
                problems.append(f"the income test of subtraction {sub.name} on state AGI")
            later = {k for other in self.subtractions[i + 1 :] for k in other.kinds}
            if later & set(sub.kinds) and not sub.takes_all():
                problems.append(
                    f"subtraction {sub.name} sharing income kinds with a later one "
                    "without taking all of them"
                )
        return problems

    def check_optimizer_support(self, field: str = "state") -> None:
        """One line naming what the optimizer cannot yet model, if anything."""
        problems = self.optimizer_problems()
        if problems:
            code = ", ".join(s.lower() for s in self.meta.states)
            raise InputError(
                f"{field}: the optimizer does not yet model {'; '.join(problems)} of "
                f"{self.name}; `taxopt tax --state {code}` computes its tax, or plan "
                f"without a state"
            )

    def for_year(self, year: int, inflation: float) -> StateRuleSet:
        """Indexed tables grown year by year to `year`: by the state's published indexing
        rate where `meta.indexing` has one, else by `inflation`; never deflated."""
        factor = 1.0
        for later in range(self.meta.year + 1, year + 1):
            factor *= 1.0 + self.meta.indexing.get(later, inflation)
        if factor == 1.0:
            return self
        data = self.model_dump(mode="json")
        if self.brackets.indexed:
            for schedule in data["brackets"]["schedules"].values():
                schedule["thresholds"] = [t * factor for t in schedule["thresholds"]]
            recapture = data["brackets"]["recapture"]
            if recapture is not None:
                recapture["start"] = {k: v * factor for k, v in recapture["start"].items()}
                recapture["phase_in"] *= factor
        if self.local is not None and self.brackets.indexed:
            for schedule in data["local"]["schedules"].values():
                schedule["thresholds"] = [t * factor for t in schedule["thresholds"]]
        for table in (*data["deductions"], *data["credits"]):
            if table["indexed"]:
                table["amount"] = {k: v * factor for k, v in table["amount"].items()}
        for surtax in data["surtaxes"]:
            if surtax["indexed"]:
                surtax["threshold"] = {k: v * factor for k, v in surtax["threshold"].items()}
        return StateRuleSet.model_validate(data)


def _status_problems(rules: StateRuleSet) -> list[tuple[str, str]]:
    """Every by-status table must name each filing status the file declares."""
    statuses = set(rules.meta.filing_statuses)
    problems = []
    for where, mapping in _status_maps(rules):
        if mapping is None:
            continue
        missing = sorted(statuses - set(mapping))
        if missing:
            problems.append(
                (
                    where,
                    f"no value for filing status {', '.join(missing)}; "
                    "give one for each of meta.filing_statuses",
                )
            )
        bad = [
            k
            for k, v in mapping.items()
            if isinstance(v, float | int) and (not math.isfinite(v) or v < 0)
        ]
        if bad:
            problems.append((where, f"{', '.join(bad)}: amounts must be finite and >= 0"))
    return problems


def _status_maps(rules: StateRuleSet) -> list[tuple[str, dict | None]]:
    """(field, per-status map or None) for every table keyed by filing status."""
    maps: list[tuple[str, dict | None]] = [("brackets.schedules", rules.brackets.schedules)]
    if rules.brackets.recapture is not None:
        maps.append(("brackets.recapture.start", rules.brackets.recapture.start))
    for i, sub in enumerate(rules.subtractions):
        maps += [
            (f"subtractions[{i}].cap", sub.cap),
            (f"subtractions[{i}].income_limit", sub.income_limit),
        ]
        for j, tier in enumerate(sub.income_tiers):
            where = f"subtractions[{i}].income_tiers[{j}]"
            maps += [(f"{where}.max_income", tier.max_income), (f"{where}.fraction", tier.fraction)]
            maps.append((f"{where}.cap", tier.cap))
    for group, tables in (("deductions", rules.deductions), ("credits", rules.credits)):
        for i, table in enumerate(tables):
            maps += [
                (f"{group}[{i}].amount", table.amount),
                (f"{group}[{i}].income_limit", table.income_limit),
            ]
            if table.phaseout is not None:
                maps.append((f"{group}[{i}].phaseout.start", table.phaseout.start))
    for i, surtax in enumerate(rules.surtaxes):
        maps.append((f"surtaxes[{i}].threshold", surtax.threshold))
    if rules.local is not None:
        maps.append(("local.schedules", rules.local.schedules))
    for i, cap in enumerate(rules.tax_caps):
        maps += [(f"tax_caps[{i}].threshold", cap.threshold)]
        maps += [(f"tax_caps[{i}].max_income", cap.max_income)]
    return maps


# ---------------------------------------------------------------------------------------
# Loading and the registry of rules/states/


def state_rule_files(rules_dir: Path = STATE_RULES_DIR) -> list[Path]:
    return sorted(rules_dir.glob("*.toml"))


def available_states(year: int | None = None, rules_dir: Path = STATE_RULES_DIR) -> list[str]:
    """Two-letter codes of the states with a rule file (for `year`, when given)."""
    codes = set()
    for path in state_rule_files(rules_dir):
        meta = _read_toml(path).get("meta", {})
        if year is None or meta.get("year") == year:
            codes.update(code.upper() for code in meta.get("states", []))
    return sorted(codes)


def load_state_rules(path: str | Path) -> StateRuleSet:
    """Load and validate one state rule file, merged onto the file it `extends`."""
    path = Path(path)
    data = _merged_raw(path, ())
    try:
        return StateRuleSet.model_validate(data)
    except ValidationError as exc:
        raise explain_validation_error(path, exc) from None


def _merged_raw(path: Path, seen: tuple[Path, ...]) -> dict:
    """The file's TOML data merged onto its `extends` chain (files beside it)."""
    if path.resolve() in seen:
        raise InputError(f"{path}: extends: circular chain; remove one extends")
    data = _read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    parent_path = path.parent / f"{parent}.toml"
    if not isinstance(parent, str) or not parent_path.exists():
        known = ", ".join(p.stem for p in state_rule_files(path.parent)) or "(none)"
        raise InputError(
            f"{path}: extends: no state rule file named {parent!r} beside it; known: {known}"
        )
    return merge_override(_merged_raw(parent_path, (*seen, path.resolve())), data)


def state_code_problem(code: str, rules_dir: Path = STATE_RULES_DIR) -> str | None:
    """Why `code` names no shipped state rule file (None when it does): the choices listed."""
    known = [s.lower() for s in available_states(rules_dir=rules_dir)]
    if code.strip().lower() in known:
        return None
    return f"'{code}' is not a state with rules; use one of {', '.join(known)}"


@functools.lru_cache(maxsize=256)
def state_rules_for(state: str, year: int, inflation: float) -> StateRuleSet:
    """The rules of a state code for a tax year, indexed to it (cached: the ledger and the
    model read the same year many times)."""
    return find_state_rules(state, year).for_year(year, inflation)


def find_state_rules(state: str, year: int, rules_dir: Path = STATE_RULES_DIR) -> StateRuleSet:
    """The rule file for a state code (`ca`, or `ny-nyc` for a local overlay) or a .toml
    path, for a tax year.

    Picks the file covering the state whose year is the latest not after `year` (a later
    tax year is then indexed with `for_year`). Unknown state: one line listing the known.
    """
    candidate = Path(state)
    if candidate.suffix == ".toml":
        if not candidate.exists():
            raise InputError(f"--state: {state}: no such file")
        return load_state_rules(candidate)
    code = state.strip().upper()
    matches = []
    for path in state_rule_files(rules_dir):
        meta = _read_toml(path).get("meta", {})
        states = [s.upper() for s in meta.get("states", [])]
        if code in states and isinstance(meta.get("year"), int) and meta["year"] <= year:
            matches.append((meta["year"], path))
    if not matches:
        known = ", ".join(s.lower() for s in available_states(rules_dir=rules_dir)) or "(none)"
        raise InputError(
            f"--state: '{state}' has no state rules for tax year {year}; "
            f"available states: {known} (or give the path of a state .toml file)"
        )
    return load_state_rules(max(matches)[1])

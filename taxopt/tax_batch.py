"""Tax of households given as text: one household's fields, or a CSV of them.

The checks a household's raw fields must pass (filing status against the rule set and the
people it covers, ages, amounts and their parts, tax year, state) and the batch reading of
a CSV, each bad row reported with its line, case_id and field; the arithmetic is
`taxopt.tax.compute_tax` and, for a state, `taxopt.state_tax.compute_state_tax`. Amounts
are annual nominal dollars of the tax year; rates are fractions. `taxopt tax` calls this.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from taxopt.errors import InputError
from taxopt.io import read_text, separator_problem
from taxopt.rules import RuleSet
from taxopt.state_rules import StateRuleSet, find_state_rules
from taxopt.state_tax import (
    OrdinaryParts,
    StateTaxResult,
    compute_state_tax,
    state_input,
    state_marginal_rates,
)
from taxopt.tax import TaxInput, TaxResult, compute_tax, marginal_rates

MAX_AGE = 125
MAX_YEARS_AHEAD = 100  # indexing a rule set further than this is guesswork, not law
MAX_AMOUNT = 1e12  # dollars: a larger income is a typo

REQUIRED_COLUMNS = (
    "case_id",
    "filing_status",
    "age",
    "spouse_age",
    "ordinary_income",
    "qualified_dividends",
    "ltcg",
    "social_security",
)
OPTIONAL_COLUMNS = (
    "investment_income",
    "early_distributions",
    "year",
    "state",
    "ira_distributions",
    "pension_income",
    "short_term_gains",
)
AMOUNT_FIELDS = (
    "ordinary_income",
    "investment_income",
    "qualified_dividends",
    "ltcg",
    "social_security",
    "early_distributions",
    "ira_distributions",
    "pension_income",
    "short_term_gains",
)
# Parts of ordinary income a state may treat differently (taxopt.state_tax.OrdinaryParts).
PART_FIELDS = ("ira_distributions", "pension_income", "short_term_gains")
RESULT_COLUMNS = (
    "taxable_income",
    "ordinary_tax",
    "capital_gains_tax",
    "niit",
    "total_tax",
    "effective_rate",
    "marginal_ordinary_rate",
    "taxable_social_security",
    "total_deductions",
    "agi",
    "early_withdrawal_penalty",
)
STATE_RESULT_COLUMNS = (
    "state_rules",
    "state_taxable_income",
    "state_tax",
    "state_marginal_ordinary_rate",
    "federal_and_state_tax",
)
RATE_COLUMNS = frozenset(
    {"effective_rate", "marginal_ordinary_rate", "state_marginal_ordinary_rate"}
)


class FieldProblem(Exception):
    """One household field that cannot be used; `str()` reads after the field's name."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field


@dataclass(frozen=True)
class Household:
    """A checked household: the calculator's input and the rules indexed to its year."""

    income: TaxInput
    rules: RuleSet
    parts: OrdinaryParts = OrdinaryParts()
    state: StateRuleSet | None = None  # indexed to the tax year


# ---------------------------------------------------------------------------------------
# Checking one household


def _state_rules(code: str, year: int, inflation: float) -> StateRuleSet:
    """The state's rule file for the tax year, its indexed tables grown to that year."""
    return find_state_rules(code, year).for_year(year, inflation)


def build_household(
    fields: Mapping[str, str | None], base: RuleSet, inflation: float, default_year: int
) -> Household:
    """Check one household's raw text fields; raise FieldProblem naming the bad one."""
    statuses = base.meta.filing_statuses
    status = (fields.get("filing_status") or "").strip().lower()
    if not status:
        raise FieldProblem("filing_status", f"is blank; use one of {', '.join(statuses)}")
    if status not in statuses:
        raise FieldProblem(
            "filing_status", f"'{fields['filing_status']}' is not one of {', '.join(statuses)}"
        )
    ages = _ages(fields, base, status)
    amounts = _amounts(fields)
    year = tax_year(fields, base, default_year)
    income = TaxInput(
        filing_status=status,
        ages=ages,
        ordinary_income=amounts["ordinary_income"],
        investment_ordinary_income=amounts["investment_income"],
        qualified_dividends=amounts["qualified_dividends"],
        ltcg=amounts["ltcg"],
        social_security=amounts["social_security"],
        early_distributions=amounts["early_distributions"],
        year=year,
        pension_income=amounts["pension_income"],
    )
    parts = OrdinaryParts(**{name: amounts[name] for name in PART_FIELDS})
    state = _state(fields, base, status, year, inflation)
    return Household(income=income, rules=base.for_year(year, inflation), parts=parts, state=state)


def _ages(fields: Mapping[str, str | None], base: RuleSet, status: str) -> tuple[int, ...]:
    """One age per person the filing status covers (the rule set says how many)."""
    joint = base.people_covered(status) == 2
    ages = (_age(fields, "age", required=True),)
    spouse = _age(fields, "spouse_age", required=joint)
    if joint:
        return (*ages, spouse)
    if spouse is not None:
        couples = [s for s in base.meta.filing_statuses if base.people_covered(s) == 2]
        either = f" or use {', '.join(couples)}" if couples else ""
        raise FieldProblem(
            "spouse_age",
            f"is {spouse} but filing status '{status}' covers one person; leave it blank{either}",
        )
    return ages


def _amounts(fields: Mapping[str, str | None]) -> dict[str, float]:
    """Every amount field, each part no more than the total it is part of."""
    amounts = {name: _amount(fields, name) for name in AMOUNT_FIELDS}
    for part in ("investment_income", "early_distributions", *PART_FIELDS):
        if amounts[part] > amounts["ordinary_income"]:
            raise FieldProblem(
                part,
                f"{_fmt(amounts[part])} is more than ordinary_income "
                f"{_fmt(amounts['ordinary_income'])}; it is a part of ordinary income, "
                "so include it there too",
            )
    if amounts["short_term_gains"] > amounts["investment_income"]:
        raise FieldProblem(
            "short_term_gains",
            f"{_fmt(amounts['short_term_gains'])} is more than investment_income "
            f"{_fmt(amounts['investment_income'])}; short-term gains are investment income "
            "(NIIT) too, so include them there",
        )
    named = amounts["investment_income"] + amounts["ira_distributions"]
    named += amounts["pension_income"]
    if named > amounts["ordinary_income"] + 1e-9:
        raise FieldProblem(
            "ordinary_income",
            f"{_fmt(amounts['ordinary_income'])} is less than its parts investment_income + "
            f"ira_distributions + pension_income = {_fmt(named)}; give the total there",
        )
    return amounts


def _state(
    fields: Mapping[str, str | None], base: RuleSet, status: str, year: int, inflation: float
) -> StateRuleSet | None:
    """The household's state rules for its tax year, if it names a state."""
    code = (fields.get("state") or "").strip()
    if not code:
        return None
    if not base.meta.jurisdiction.upper().startswith("US"):
        raise FieldProblem(
            "state",
            f"'{code}': a US state's tax needs a US federal rule set, and {base.name} "
            f"is {base.meta.jurisdiction}; use e.g. --rules us-federal-2026",
        )
    try:
        state = _state_rules(code, year, inflation)
    except InputError as problem:
        raise FieldProblem("state", str(problem).removeprefix("--state: ")) from None
    if status not in state.meta.filing_statuses:
        raise FieldProblem(
            "state",
            f"{state.name} has no filing status '{status}'; it has "
            f"{', '.join(state.meta.filing_statuses)}",
        )
    return state


def _age(fields: Mapping[str, str | None], name: str, required: bool) -> int | None:
    text = (fields.get(name) or "").strip()
    hint = "give the age at the end of the tax year, e.g. 67"
    if not text:
        if required:
            raise FieldProblem(name, f"is blank; {hint}")
        return None
    try:
        value = float(text)
    except ValueError:
        raise FieldProblem(name, f"'{text}' is not a number; {hint}") from None
    if not value.is_integer() or not 0 <= value <= MAX_AGE:
        raise FieldProblem(name, f"'{text}' is not a whole age from 0 to {MAX_AGE}; {hint}")
    return int(value)


def _amount(fields: Mapping[str, str | None], name: str) -> float:
    """Annual dollars; blank means 0; '$' and thousands commas are allowed."""
    raw = (fields.get(name) or "").strip()
    text = raw.replace(",", "").replace("$", "")
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise FieldProblem(
            name, f"'{raw}' is not a number; give annual dollars, e.g. 85000"
        ) from None
    if not math.isfinite(value):
        raise FieldProblem(name, f"'{raw}' is not a finite amount; give annual dollars")
    if value < 0:
        raise FieldProblem(name, f"is {raw}; amounts must not be negative")
    if value > MAX_AMOUNT:
        raise FieldProblem(name, f"is {raw}; give annual dollars up to {MAX_AMOUNT:,.0f}")
    return value


def tax_year(fields: Mapping[str, str | None], base: RuleSet, default_year: int) -> int:
    text = (fields.get("year") or "").strip()
    if not text:
        return default_year
    try:
        year = int(text)
    except ValueError:
        raise FieldProblem("year", f"'{text}' is not a year; give e.g. {base.year}") from None
    if year > base.year + MAX_YEARS_AHEAD:
        raise FieldProblem(
            "year",
            f"{year} is more than {MAX_YEARS_AHEAD} years after rule set {base.name}'s year "
            f"{base.year}; give a year up to {base.year + MAX_YEARS_AHEAD} or use a rule set "
            "nearer that year",
        )
    if year < base.year:
        raise FieldProblem(
            "year",
            f"{year} is before rule set {base.name}'s year {base.year}; "
            "use a rule set for that year or a later year",
        )
    return year


def _fmt(value: float) -> str:
    return f"{value:g}" if value.is_integer() else f"{value:.2f}"


def state_figures(
    household: Household, federal: TaxResult
) -> tuple[StateTaxResult, dict[str, float]] | None:
    """The household's state tax and its state marginal rates, or None without a state."""
    if household.state is None:
        return None
    result = compute_state_tax(
        household.state, state_input(household.income, federal, household.parts)
    )
    rates = state_marginal_rates(
        household.rules, household.state, household.income, household.parts
    )
    return result, rates


# ---------------------------------------------------------------------------------------
# A CSV of households


def tax_households(
    path: str | Path,
    rules: RuleSet,
    inflation: float,
    default_year: int,
    default_state: str | None = None,
) -> tuple[list[str], list[dict[str, str]]]:
    """Read, check and tax every household in a CSV; all bad rows are reported at once.

    A row's `state` (blank: `default_state`) adds the state columns."""
    header, records = _read_households(path)
    problems: list[str] = []
    out_rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for line, record in records:
        case_id = (record.get("case_id") or "").strip()
        where = f"{path}: line {line}" + (f" (case_id={case_id})" if case_id else "")
        if not case_id:
            problems.append(f"{where}: case_id is blank; give each household an id")
            continue
        if case_id in seen:
            problems.append(
                f"{where}: case_id '{case_id}' repeats line {seen[case_id]}; "
                "give each household its own id"
            )
            continue
        seen[case_id] = line
        fields = dict(record)
        if not (fields.get("state") or "").strip() and default_state is not None:
            fields["state"] = default_state
        try:
            household = build_household(fields, rules, inflation, default_year)
        except FieldProblem as problem:
            problems.append(f"{where}: {problem.field} {problem}")
            continue
        out_rows.append({**record, **_result_columns(household)})
    if problems:
        raise InputError("\n".join(problems))
    return header, out_rows


def _read_households(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = read_text(path, "CSV file")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    _check_header(path, header)
    records: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise InputError(
                f"{path}: line {reader.line_num}: {len(cells)} cells but the header has "
                f"{len(header)} columns; remove the extra cells or quote values with commas"
            )
        cells = cells + [""] * (len(header) - len(cells))
        records.append((reader.line_num, dict(zip(header, cells, strict=True))))
    if not records:
        raise InputError(f"{path}: no households; add one row per household under the header")
    return header, records


def _check_header(path: str | Path, header: list[str]) -> None:
    if not any(header):
        raise InputError(
            f"{path}: empty file; the first line must name the columns "
            + ", ".join(REQUIRED_COLUMNS)
        )
    problem = separator_problem(path, header)
    if problem is not None:
        raise problem
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(missing)}; the header needs "
            + ", ".join(REQUIRED_COLUMNS)
        )
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = [c for c in header if c not in known]
    if unknown:
        raise InputError(
            f"{path}: line 1: unknown column(s) {', '.join(unknown)}; allowed columns are "
            + ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: line 1: column(s) {', '.join(repeated)} appear twice")


def _result_columns(household: Household) -> dict[str, str]:
    result = compute_tax(household.rules, household.income)
    everything = result.as_dict()  # includes effective_rate
    values = {name: everything[name] for name in RESULT_COLUMNS if name in everything}
    values["marginal_ordinary_rate"] = marginal_rates(household.rules, household.income)[
        "ordinary_income"
    ]
    names = list(RESULT_COLUMNS)
    state = state_figures(household, result)
    out: dict[str, str] = {}
    if state is not None:
        state_result, state_rates = state
        values["state_taxable_income"] = float(state_result.taxable_income)
        values["state_tax"] = float(state_result.total_tax)
        values["state_marginal_ordinary_rate"] = state_rates["wages"]
        values["federal_and_state_tax"] = result.total_tax + float(state_result.total_tax)
        names += [n for n in STATE_RESULT_COLUMNS if n != "state_rules"]
        out["state_rules"] = state_result.state
    out.update(
        {
            name: f"{values[name]:.6f}" if name in RATE_COLUMNS else f"{values[name]:.2f}"
            for name in names
        }
    )
    return out


def households_csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

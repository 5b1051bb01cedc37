"""`taxopt tax`: one household's tax for one year, or a CSV of households.

Amounts are annual nominal dollars of the tax year; rates are fractions (0.22, not 22).
A tax year after the rule set's own year indexes its thresholds with `--inflation`
(`RuleSet.for_year`). The arithmetic is `taxopt.tax.compute_tax` and, with `--state`
(or a `state` column), `taxopt.state_tax.compute_state_tax`; this module only reads,
checks and prints. Federal and state taxes are reported separately.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from taxopt.cli.args import inputs_of
from taxopt.errors import InputError
from taxopt.io import (
    Output,
    check_outputs,
    json_text,
    read_text,
    separator_problem,
    write_atomically,
)
from taxopt.rules import RuleSet, load_rules
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
MAX_INFLATION = 0.5  # a larger figure is almost surely a percent typed as a fraction
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

# Single-case flag for each household field, to name it in a message.
FLAGS = {
    "filing_status": "--filing-status",
    "age": "--age",
    "spouse_age": "--spouse-age",
    "ordinary_income": "--ordinary-income",
    "investment_income": "--investment-income",
    "qualified_dividends": "--qualified-dividends",
    "ltcg": "--ltcg",
    "social_security": "--social-security",
    "early_distributions": "--early-distributions",
    "ira_distributions": "--ira-distributions",
    "pension_income": "--pension-income",
    "short_term_gains": "--short-term-gains",
    "year": "--year",
}


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


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Tax of one household for one year under a rule set. Give the household with "
        "--filing-status, --age and income flags, or a CSV of households with --input. "
        "Amounts are annual dollars of the tax year."
    )
    parser.add_argument("--rules", required=True, help="rule set name or .toml path")
    parser.add_argument(
        "--year", help="tax year (default: the rule set's year; later years are indexed)"
    )
    parser.add_argument(
        "--state",
        help="also compute this US state's income tax: a two-letter code (ca, ny, tx, ...) "
        "or a state .toml file; in a CSV a `state` column overrides it per row",
    )
    parser.add_argument(
        "--inflation",
        default="0.025",
        help="annual inflation as a fraction, for indexing a later --year (default 0.025)",
    )
    single = parser.add_argument_group("one household")
    single.add_argument("--filing-status", help="filing status, e.g. single or mfj")
    single.add_argument("--age", help="age at the end of the tax year")
    single.add_argument("--spouse-age", help="spouse's age at the end of the year (mfj)")
    single.add_argument(
        "--ordinary-income",
        help="wages, pensions, IRA distributions, interest, staking (default 0)",
    )
    single.add_argument(
        "--investment-income",
        help="the part of ordinary income that is interest/staking, for NIIT (default 0)",
    )
    single.add_argument("--qualified-dividends", help="qualified dividends (default 0)")
    single.add_argument("--ltcg", help="net long-term capital gains realized (default 0)")
    single.add_argument("--social-security", help="gross Social Security benefits (default 0)")
    single.add_argument(
        "--early-distributions",
        help="the part of ordinary income withdrawn early, subject to the 10%% penalty",
    )
    single.add_argument(
        "--ira-distributions",
        help="the part of ordinary income that is traditional IRA/401(k) distributions "
        "or conversions (for state tax; default 0)",
    )
    single.add_argument(
        "--pension-income",
        help="the part of ordinary income that is pensions/annuities (for state tax)",
    )
    single.add_argument(
        "--short-term-gains",
        help="the part of investment income that is short-term gains (for state tax)",
    )
    single.add_argument("--json", action="store_true", help="print JSON instead of a table")
    batch = parser.add_argument_group("many households")
    batch.add_argument(
        "--input",
        help="CSV with columns "
        + ", ".join(REQUIRED_COLUMNS)
        + " (optional: "
        + ", ".join(OPTIONAL_COLUMNS)
        + ")",
    )
    batch.add_argument("--output", help="CSV to write (default: standard output)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_outputs([Output(args.output, "csv", "--output")], inputs_of(args.input, args.rules))
    rules = load_rules(args.rules)
    inflation = _parse_inflation(args.inflation)
    if args.input is not None:
        return _run_batch(args, rules, inflation)
    if args.output is not None:
        raise InputError("--output writes batch results; give --input households.csv too")
    return _run_single(args, rules, inflation)


def _state_rules(code: str, year: int, inflation: float) -> StateRuleSet:
    """The state's rule file for the tax year, its indexed tables grown to that year."""
    return find_state_rules(code, year).for_year(year, inflation)


# ---------------------------------------------------------------------------------------
# Checking one household (shared by the single case and each CSV row)


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
    joint = base.people_covered(status) == 2
    ages = (_age(fields, "age", required=True),)
    spouse = _age(fields, "spouse_age", required=joint)
    if joint:
        ages = (*ages, spouse)
    elif spouse is not None:
        couples = [s for s in statuses if base.people_covered(s) == 2]
        either = f" or use {', '.join(couples)}" if couples else ""
        raise FieldProblem(
            "spouse_age",
            f"is {spouse} but filing status '{status}' covers one person; leave it blank{either}",
        )
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
    year = _year(fields, base, default_year)
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
    )
    parts = OrdinaryParts(**{name: amounts[name] for name in PART_FIELDS})
    code = (fields.get("state") or "").strip()
    state = None
    if code:
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
    return Household(income=income, rules=base.for_year(year, inflation), parts=parts, state=state)


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


def _year(fields: Mapping[str, str | None], base: RuleSet, default_year: int) -> int:
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


def _parse_inflation(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"--inflation: '{text}' is not a number; give a fraction, e.g. 0.025"
        ) from None
    if not -MAX_INFLATION <= value <= MAX_INFLATION:
        raise InputError(
            f"--inflation: {text} is outside -{MAX_INFLATION}..{MAX_INFLATION}; give a "
            "fraction (0.025 for 2.5%)"
        )
    return value


# ---------------------------------------------------------------------------------------
# One household


def _run_single(args: argparse.Namespace, rules: RuleSet, inflation: float) -> int:
    fields = {name: getattr(args, name) for name in FLAGS}
    fields["state"] = args.state
    default_year = rules.year
    try:
        household = build_household(fields, rules, inflation, default_year)
    except FieldProblem as problem:
        flag = "--state" if problem.field == "state" else FLAGS[problem.field]
        raise InputError(f"{flag}: {problem}") from None
    result = compute_tax(household.rules, household.income)
    rates = marginal_rates(household.rules, household.income)
    state = _state_figures(household, result)
    if args.json:
        out = result_json(household, result, rates)
        if state is not None:
            out["state"] = state_json(household, *state)
            out["federal_and_state_tax"] = round(result.total_tax + state[0].total_tax, 2)
        print(json_text(out), end="")
    else:
        print(result_table(household, result, rates))
        if state is not None:
            print()
            print(state_table(household, *state))
            total = result.total_tax + float(state[0].total_tax)
            print(f"\nFederal and state tax: {_money(total)}")
    return 0


def _state_figures(
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


def state_json(household: Household, result: StateTaxResult, rates: dict[str, float]) -> dict:
    """Every StateTaxResult field (money to cents), the rule file's notes and marginal rates."""
    state = household.state
    assert state is not None
    out = {"rules": state.name, "states": state.meta.states, "rules_year": state.meta.year}
    if state.meta.figures_year is not None:
        out["figures_year"] = state.meta.figures_year
    if state.meta.year != household.income.year:
        out["indexed_to"] = household.income.year
    out.update(_rounded(result.as_dict()))
    out.pop("state", None)
    out["marginal_rates"] = {kind: round(rate, 6) for kind, rate in rates.items()}
    out["not_modelled"] = list(state.meta.not_modelled)
    return out


def state_table(household: Household, result: StateTaxResult, rates: dict[str, float]) -> str:
    state = household.state
    assert state is not None
    figures = result.as_dict()
    rows: list[tuple[str, str]] = [("State income", _money(figures["state_income"]))]
    rows += [(f"Subtraction: {k}", _money(v)) for k, v in figures["subtractions"].items()]
    rows.append(("State AGI", _money(figures["state_agi"])))
    rows += [(f"Deduction: {k}", _money(v)) for k, v in figures["deductions"].items()]
    rows += [
        ("State taxable income", _money(figures["taxable_income"])),
        ("Bracket tax", _money(figures["bracket_tax"])),
    ]
    rows += [(f"Flat-rate tax: {k}", _money(v)) for k, v in figures["flat_rate_taxes"].items()]
    rows += [(f"Credit: {k}", _money(v)) for k, v in figures["credits"].items()]
    rows += [(f"Surtax: {k}", _money(v)) for k, v in figures["surtaxes"].items()]
    rows += [(f"Relief: {k}", _money(v)) for k, v in figures["reliefs"].items()]
    if state.local is not None:
        rows.append((f"Local tax: {state.local.name}", _money(figures["local_tax"])))
    total_label = "State and local tax" if state.local is not None else "State tax"
    rows.append((total_label, _money(figures["total_tax"])))
    rows += [(f"Marginal rate: {kind}", _percent(rate)) for kind, rate in rates.items()]
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    year = household.income.year
    indexed = f" (indexed to {year})" if state.meta.year != year else ""
    title = f"{state.name}{indexed}: {state.meta.title}"
    lines = [title, ""] + [f"{label:<{width}}  {value:>{value_width}}" for label, value in rows]
    if state.meta.not_modelled:
        lines += ["", "Not modelled: " + "; ".join(state.meta.not_modelled)]
    return "\n".join(lines)


def result_json(household: Household, result: TaxResult, rates: dict[str, float]) -> dict:
    """Every TaxResult field plus effective and marginal rates; money rounded to cents."""
    income = household.income
    out: dict = {
        "rules": household.rules.name,
        "year": income.year,
        "filing_status": income.filing_status,
        "ages": list(income.ages),
    }
    out.update(_rounded(result.as_dict()))
    out["effective_rate"] = round(result.effective_rate, 6)
    out["marginal_rates"] = {kind: round(rate, 6) for kind, rate in rates.items()}
    return out


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def result_table(household: Household, result: TaxResult, rates: dict[str, float]) -> str:
    income = household.income
    ages = "/".join(str(a) for a in income.ages)
    rows: list[tuple[str, str]] = [
        ("Taxable Social Security", _money(result.taxable_social_security)),
        ("Included gains", _money(result.included_gains)),
        ("AGI", _money(result.agi)),
    ]
    rows += [(f"Deduction: {name}", _money(v)) for name, v in result.deductions.items()]
    rows += [
        ("Total deductions", _money(result.total_deductions)),
        ("Taxable income", _money(result.taxable_income)),
        ("  ordinary part", _money(result.ordinary_taxable_income)),
        ("  preferential part", _money(result.preferential_taxable_income)),
        ("Ordinary tax", _money(result.ordinary_tax)),
        ("Capital gains tax", _money(result.capital_gains_tax)),
        ("Credits (subtracted)", _money(result.credits)),
        ("NIIT", _money(result.niit)),
        ("Early-withdrawal penalty", _money(result.early_withdrawal_penalty)),
        ("Total tax", _money(result.total_tax)),
        ("Effective rate (of AGI)", _percent(result.effective_rate)),
    ]
    rows += [(f"Marginal rate: {kind}", _percent(rate)) for kind, rate in rates.items()]
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    title = f"{household.rules.name}, tax year {income.year}, {income.filing_status}, ages {ages}"
    lines = [title, ""] + [f"{label:<{width}}  {value:>{value_width}}" for label, value in rows]
    return "\n".join(lines)


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def _fmt(value: float) -> str:
    return f"{value:g}" if value.is_integer() else f"{value:.2f}"


# ---------------------------------------------------------------------------------------
# A CSV of households


def _run_batch(args: argparse.Namespace, rules: RuleSet, inflation: float) -> int:
    given = [FLAGS[name] for name in FLAGS if name != "year" and getattr(args, name) is not None]
    if given:
        raise InputError(
            f"--input reads households from a file; drop {', '.join(given)} or drop --input"
        )
    if args.json:
        raise InputError("--json prints one household; batch results are CSV (drop --json)")
    default_year = rules.year
    if args.year is not None:
        try:
            default_year = _year({"year": args.year}, rules, rules.year)
        except FieldProblem as problem:
            raise InputError(f"--year: {problem}") from None
    header, rows = tax_households(args.input, rules, inflation, default_year, args.state)
    with_state = args.state is not None or "state" in header
    columns = [*header, *RESULT_COLUMNS, *(STATE_RESULT_COLUMNS if with_state else ())]
    if args.output is None:
        print(_csv_text(columns, rows), end="")
    else:
        write_atomically(args.output, _csv_writer(columns, rows), kind="csv")
        print(f"taxopt: wrote {len(rows)} households to {args.output}")
    return 0


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
    state = _state_figures(household, result)
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


def _csv_writer(columns: list[str], rows: list[dict[str, str]]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_text(_csv_text(columns, rows), encoding="utf-8")

    return write


def _csv_text(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

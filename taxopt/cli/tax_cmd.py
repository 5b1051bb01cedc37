"""`taxopt tax`: one household's tax for one year, or a CSV of households.

Amounts are annual nominal dollars of the tax year; rates are fractions (0.22, not 22).
A tax year after the rule set's own year indexes its thresholds with `--inflation`
(`RuleSet.for_year`). Checking the household and taxing a CSV of them is
`taxopt.tax_batch` (the arithmetic `taxopt.tax.compute_tax` and, with `--state` or a
`state` column, `taxopt.state_tax.compute_state_tax`); this module reads flags and
prints. Federal and state taxes are reported separately.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from taxopt import currency
from taxopt.cli.args import inputs_of
from taxopt.errors import InputError
from taxopt.io import Output, check_outputs, json_text, write_atomically
from taxopt.rules import RuleSet, load_rules
from taxopt.state_tax import StateTaxResult
from taxopt.tax import TaxResult, compute_tax, marginal_rates
from taxopt.tax_batch import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    RESULT_COLUMNS,
    STATE_RESULT_COLUMNS,
    FieldProblem,
    Household,
    build_household,
    households_csv,
    state_figures,
    tax_households,
    tax_year,
)

MAX_INFLATION = 0.5  # a larger figure is almost surely a percent typed as a fraction

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
        help="the part of ordinary income withdrawn early, subject to the rule set's "
        "early-withdrawal penalty (US: 10%%, IRC §72(t))",
    )
    single.add_argument(
        "--ira-distributions",
        help="the part of ordinary income that is traditional IRA/401(k) distributions "
        "or conversions (for state tax; default 0)",
    )
    single.add_argument(
        "--pension-income",
        help="the part of ordinary income that is pensions/annuities (for state tax; "
        "Canada: eligible pension income for the pension income amount)",
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
    state = state_figures(household, result)
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
    if result.levels:
        out["federal_tax"] = round(result.total_tax - result.levels_tax, 2)
        out["levels_tax"] = round(result.levels_tax, 2)
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
        (_preferential_label(household.rules), _money(result.capital_gains_tax)),
        ("Credits (subtracted)", _money(result.credits)),
        ("NIIT", _money(result.niit)),
        ("Early-withdrawal penalty", _money(result.early_withdrawal_penalty)),
    ]
    rows += _layered_rows(household.rules, result)
    rows += [
        ("Total tax", _money(result.total_tax)),
        ("Effective rate (of AGI)", _percent(result.effective_rate)),
    ]
    rows += [(f"Marginal rate: {kind}", _percent(rate)) for kind, rate in rates.items()]
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    title = f"{household.rules.name}, tax year {income.year}, {income.filing_status}, ages {ages}"
    code = household.rules.meta.currency.upper()
    if code != "USD":
        title += f" (amounts in {currency.symbol(code).strip()}, {code})"
    lines = [title, ""] + [f"{label:<{width}}  {value:>{value_width}}" for label, value in rows]
    return "\n".join(lines)


def _preferential_label(rules: RuleSet) -> str:
    """The tax on preferential income, named by the rule set's schedules (US: qualified
    dividends and long-term gains; UK: savings, dividends, capital gains)."""
    names = [p.name.replace("_", " ") for p in rules.preferential]
    if not names:
        return "Tax on preferential income"
    listed = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    return f"Tax on {listed.replace('ltcg', 'long-term gains')}"


def _layered_rows(rules: RuleSet, result: TaxResult) -> list[tuple[str, str]]:
    """Gross-ups, each credit, clawbacks, and each further level's parts (Canada: the
    federal tax, then Ontario's), when the rule set has them."""
    rows: list[tuple[str, str]] = []
    if rules.gross_ups:
        rows.append(("Gross-up (in income)", _money(result.gross_up)))
    rows += [(f"  credit: {k}", _money(v)) for k, v in result.credit_details.items()]
    rows += [(f"Clawback: {k}", _money(v)) for k, v in result.clawbacks.items()]
    if not result.levels:
        return rows
    rows.append(("Federal tax", _money(result.total_tax - result.levels_tax)))
    for level in rules.levels:
        parts = result.levels[level.name]
        rows.append((f"{level.label}: tax on taxable income", _money(parts["tax_on_income"])))
        rows += [
            (f"{level.label}:   {key.replace(':', ': ', 1)}", _money(value))
            for key, value in parts.items()
            if ":" in key
        ]
        rows += [
            (f"{level.label}: credits (subtracted)", _money(parts["credits"])),
            (f"{level.label}: surtax", _money(parts["surtax"])),
            (f"{level.label}: income credits (subtracted)", _money(parts["income_credits"])),
            (f"{level.label}: premiums", _money(parts["premiums"])),
            (f"{level.label} tax", _money(parts["total"])),
        ]
    return rows


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


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
            default_year = tax_year({"year": args.year}, rules, rules.year)
        except FieldProblem as problem:
            raise InputError(f"--year: {problem}") from None
    header, rows = tax_households(args.input, rules, inflation, default_year, args.state)
    with_state = args.state is not None or "state" in header
    columns = [*header, *RESULT_COLUMNS, *(STATE_RESULT_COLUMNS if with_state else ())]
    if args.output is None:
        print(households_csv(columns, rows), end="")
    else:
        write_atomically(args.output, _csv_writer(columns, rows), kind="csv")
        print(f"taxopt: wrote {len(rows)} households to {args.output}")
    return 0


def _csv_writer(columns: list[str], rows: list[dict[str, str]]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_text(households_csv(columns, rows), encoding="utf-8")

    return write

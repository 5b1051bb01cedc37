"""taxopt.compare: plans under several rule sets side by side, its workbook and its CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbook_checks import (
    convert,
    developer_words,
    evaluate,
    formula_cells,
    pages_by_sheet,
    sheet_of,
)

import taxopt
from taxopt.cli import main
from taxopt.compare import (
    COMPARISON_SHEET,
    FIGURES,
    LOCATION_SHEET,
    Comparison,
    _label,
    _money,
    compare,
    comparison_workbook,
    render_table,
)
from taxopt.report.excel import CLIENT_SHEETS, SHEETS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RETIREE = EXAMPLES / "retiree-drawing-2.5-percent.toml"
RETIREE_NAME = taxopt.load_plan(RETIREE).name
BASE = "us-federal-2026"
# Rates of us-federal-2026 (IRC §1(j), Rev. Proc. 2025-32 §4.01): 10, 12, 22, 24, 32, 35, 37%.
BASE_RATES = [0.10, 0.12, 0.22, 0.24, 0.32, 0.35, 0.37]
HIGHER_RATES = [r + 0.05 for r in BASE_RATES]  # every bracket five points higher

REFORM = f"""
extends = "{BASE}"

[meta]
name = "us-2026-higher-rates"
title = "Test reform: every ordinary bracket rate of us-federal-2026 raised by 5 points"

[ordinary]
source = "Test reform written for tests/test_compare.py; thresholds from us-federal-2026"
[ordinary.brackets.single]
rates = {HIGHER_RATES}
[ordinary.brackets.mfj]
rates = {HIGHER_RATES}
"""

UK_PLAN = """
name = "UK saver"
filing_status = "single"
start_year = 2026
retirement_year = 2030
inflation = 0.02
tier_preset = "sober"
[[people]]
name = "Sam"
birth_year = 1965
[profile]
weights = { conservative = 0.6, balanced = 0.4 }
[[accounts]]
name = "sam_isa"
kind = "isa"
owner = "Sam"
balances = { balanced = 100000 }
[[accounts]]
name = "sam_gia"
kind = "gia"
balances = { conservative = 100000 }
"""


@pytest.fixture(scope="module")
def reform_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "higher-rates.toml"
    path.write_text(REFORM)
    return path


@pytest.fixture(scope="module")
def comparison(reform_path) -> Comparison:
    # The retiree plan in fast mode (~0.15 s a pair), two worker processes.
    return compare(RETIREE, [BASE, BASE, reform_path], mode="fast", processes=2)


def row(comparison: Comparison, rules: str):
    table = comparison.table
    return table[table["rules"] == rules].iloc[0]


# ---------------------------------------------------------------------------------------
# The table


def test_one_row_per_pair_with_distinct_labels(comparison):
    assert list(comparison.table["rules"]) == [BASE, f"{BASE} (2)", "us-2026-higher-rates"]
    assert list(comparison.table["status"]) == ["optimal"] * 3
    assert comparison.errors == {}


def test_reform_file_really_raises_every_rate(comparison):
    result = comparison.results[RETIREE_NAME, "us-2026-higher-rates"]
    for status in ("single", "mfj"):
        assert result.rules.ordinary.brackets[status].rates == pytest.approx(HIGHER_RATES)


def test_rule_set_with_itself_shows_zero_differences(comparison):
    same = row(comparison, f"{BASE} (2)")
    for figure in FIGURES:
        assert same[f"{figure}_vs_first"] == 0.0
    assert same["largest_shift"] == "none" and same["largest_shift_points"] == 0.0
    first = row(comparison, BASE)
    shares = [c for c in comparison.table.columns if c.startswith("share_")]
    assert list(same[shares]) == list(first[shares])


def test_higher_rates_raise_lifetime_tax(comparison):
    reform = row(comparison, "us-2026-higher-rates")
    assert reform["lifetime_tax_vs_first"] > 0
    assert reform["effective_rate_vs_first"] > 0
    # The 4% policy sets after-tax spending (net basis), so the extra tax comes out of the
    # estate, not out of spending.
    assert reform["sustainable_spending_vs_first"] == pytest.approx(0.0, abs=0.01)
    assert reform["after_tax_estate_vs_first"] < 0


def test_figures_equal_each_result(comparison):
    for (plan, rules), result in comparison.results.items():
        r = row(comparison, rules)
        assert r["plan"] == plan
        f = result.figures
        assert r["sustainable_spending"] == f.sustainable_spending
        assert r["after_tax_estate"] == f.after_tax_estate
        assert r["lifetime_tax"] == f.lifetime_tax
        y = result.yearly
        lifetime_agi = sum(y["agi"] / y["inflation_factor"])
        assert r["effective_rate"] == pytest.approx(f.lifetime_tax / lifetime_agi, rel=1e-12)


def test_location_shares_from_the_retirement_snapshot(comparison):
    result = comparison.results[RETIREE_NAME, BASE]
    r = row(comparison, BASE)
    at = result.location[result.location["snapshot"] == "retirement"]
    balanced = at[at["tier"] == "balanced"]
    roths = [a.name for a in result.plan.accounts if a.kind == "roth_ira"]  # Lee's and Pat's
    assert len(roths) == 2  # Pat converts into a Roth taxopt opens for Pat, not into Lee's
    in_roth = balanced[balanced["account"].isin(roths)]["dollars"].sum()
    assert r["share_balanced_in_roth"] == pytest.approx(in_roth / balanced["dollars"].sum())
    assert r["weight_balanced"] == pytest.approx(balanced["dollars"].sum() / at["dollars"].sum())
    for tier in result.plan.tier_names:
        places = [r[f"share_{tier}_in_{p}"] for p in ("roth", "deferred", "taxable")]
        if not any(math.isnan(p) for p in places):
            assert sum(places) == pytest.approx(1.0)


def test_largest_shift_is_the_biggest_move_of_the_portfolio(comparison):
    reform, first = row(comparison, "us-2026-higher-rates"), row(comparison, BASE)
    moves = {}
    for column in [c for c in comparison.table.columns if c.startswith("share_")]:
        tier = column.removeprefix("share_").rsplit("_in_", 1)[0]
        weight = f"weight_{tier}"
        moves[column] = reform[column] * reform[weight] - first[column] * first[weight]
    largest = max(abs(m) for m in moves.values())
    # A tier moving between two places moves as much out of one as into the other: any
    # move within rounding of the largest may be the one named.
    tied = [c for c, m in moves.items() if abs(abs(m) - largest) <= 1e-12]
    named = [c for c in tied if reform["largest_shift_points"] == pytest.approx(moves[c])]
    assert named, (reform["largest_shift_points"], {c: moves[c] for c in tied})
    if largest >= 0.0005:
        places = [c.removeprefix("share_").rsplit("_in_", 1) for c in named]
        assert any(reform["largest_shift"].startswith(f"{t} in {p}: ") for t, p in places)


def test_inline_run_matches_the_parallel_one(comparison, reform_path):
    inline = compare(taxopt.load_plan(RETIREE), [BASE, reform_path], mode="fast", processes=1)
    for rules in (BASE, "us-2026-higher-rates"):
        assert row(inline, rules)["lifetime_tax"] == row(comparison, rules)["lifetime_tax"]


# ---------------------------------------------------------------------------------------
# Errors


def test_unsupported_rule_set_is_reported_per_pair(tmp_path):
    uk_plan = tmp_path / "uk-saver.toml"
    uk_plan.write_text(UK_PLAN)
    result = compare([RETIREE, uk_plan], [BASE, "uk-2025-26"], mode="fast", processes=1)
    table = result.table
    statuses = {(p, r): s for p, r, s in table[["plan", "rules", "status"]].itertuples(index=False)}
    assert statuses == {
        (RETIREE_NAME, BASE): "optimal",
        (RETIREE_NAME, "uk-2025-26"): "error",
        ("UK saver", BASE): "error",
        ("UK saver", "uk-2025-26"): "optimal",
    }
    errors = result.errors
    assert (
        "filing_status: 'mfj' covers 2 people, but rule set uk-2025-26 taxes each person "
        "separately and taxopt plans only one-person households under it"
        in errors[RETIREE_NAME, "uk-2025-26"]
    )
    assert str(uk_plan) in errors["UK saver", BASE]  # names the file to fix
    assert "error: see below" in render_table(result)


@pytest.mark.parametrize(
    ("plans", "rules", "message"),
    [
        (RETIREE, ["no-such-rules"], "no rule set named 'no-such-rules'"),
        (RETIREE, [], "no rule sets given"),
        ([], [BASE], "no plans given"),
        (Path(__file__).parent / "data", [BASE], "no plan files"),
    ],
)
def test_user_mistakes_raise_input_error(plans, rules, message):
    with pytest.raises(taxopt.InputError, match=message):
        compare(plans, rules, mode="fast")


def test_bad_processes_and_mode():
    with pytest.raises(taxopt.InputError, match="processes is 0"):
        compare(RETIREE, [BASE], processes=0)
    with pytest.raises(taxopt.InputError, match="mode 'slow' is unknown"):
        compare(RETIREE, [BASE], mode="slow")


# ---------------------------------------------------------------------------------------
# Outputs


@pytest.fixture(scope="module")
def workbook_path(comparison, tmp_path_factory) -> Path:
    return comparison.to_excel(tmp_path_factory.mktemp("cmp") / "compare.xlsx")


def test_workbook_has_the_comparison_then_one_sheet_group_per_rule_set(workbook_path):
    book = openpyxl.load_workbook(workbook_path)
    assert book.sheetnames[:2] == [COMPARISON_SHEET, LOCATION_SHEET]
    for prefix in ("R1 ", "R2 ", "R3 "):
        assert [f"{prefix}{s}"[:31] for s in SHEETS] == [
            n for n in book.sheetnames if n.startswith(prefix)
        ]
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert len(book.sheetnames) == 2 + 3 * len(SHEETS)
    assert len(book[COMPARISON_SHEET]._charts) == 1


def test_comparison_sheet_reads_back_through_pandas(workbook_path, comparison):
    first = pd.read_excel(workbook_path, sheet_name=0, header=None)
    rows = {str(r[0]): list(r[1:]) for r in first.itertuples(index=False)}
    table = comparison.table
    spending = rows["Spending a year after tax (today's $)"]
    assert spending == pytest.approx(list(table["sustainable_spending"]))
    tax_vs = rows[f"Lifetime tax vs {BASE} (today's $)"]
    assert tax_vs == pytest.approx(list(table["lifetime_tax_vs_first"]), abs=1e-6)
    assert rows["This plan's sheets start with"] == ["R1", "R2", "R3"]


def test_comparison_formulas_have_their_results_stored(workbook_path):
    values = openpyxl.load_workbook(workbook_path, data_only=True)
    cells = formula_cells(workbook_path)
    assert any(sheet == COMPARISON_SHEET for sheet, *_ in cells)
    for sheet, coordinate, formula, stored in cells:
        assert stored is not None, (sheet, coordinate)
        want = evaluate(formula, values[sheet])
        assert math.isclose(stored, want, rel_tol=1e-9, abs_tol=1e-6), (sheet, coordinate)


def test_each_group_shows_its_own_result(workbook_path, comparison):
    reform = comparison.results[RETIREE_NAME, "us-2026-higher-rates"]
    ledger = pd.read_excel(workbook_path, sheet_name="R3 Ledger", header=None)
    column = next(
        (ledger[c] for c in ledger.columns if (ledger[c] == "Total tax (nominal $)").any()),
    )
    start = column[column == "Total tax (nominal $)"].index[0] + 1
    taxes = list(column[start : start + len(reform.yearly)])
    assert taxes == pytest.approx(list(reform.yearly["total_tax"]), abs=0.5)
    first = pd.read_excel(workbook_path, sheet_name="R3 Plan", header=None)
    shown = {str(r[0]): r[1] for r in first.itertuples(index=False)}
    assert shown["Lifetime tax (today's $)"] == pytest.approx(reform.figures.lifetime_tax)


def test_comparison_has_no_developer_words(workbook_path):
    book = openpyxl.load_workbook(workbook_path)
    assert developer_words(book[COMPARISON_SHEET]) == []
    assert developer_words(book[LOCATION_SHEET]) == []
    for prefix in ("R1 ", "R2 ", "R3 "):
        for name in CLIENT_SHEETS:
            assert developer_words(book[f"{prefix}{name}"[:31]]) == [], prefix + name


def test_comparison_prints_its_first_page_on_one_landscape_page(workbook_path, tmp_path):
    pdf = convert(workbook_path, tmp_path, "pdf")
    pages = [sheet_of(h, [COMPARISON_SHEET, LOCATION_SHEET]) for h in pages_by_sheet(pdf)]
    assert pages[0] == COMPARISON_SHEET and pages.count(COMPARISON_SHEET) == 1
    ws = openpyxl.load_workbook(workbook_path)[COMPARISON_SHEET]
    assert ws.page_setup.orientation == "landscape"


def test_json_has_no_nan(tmp_path):
    result = compare(RETIREE, [BASE, "uk-2025-26"], mode="fast", processes=1)
    path = result.to_json(tmp_path / "c.json")

    def reject(constant):
        raise ValueError(f"{constant} is not JSON")

    data = json.loads(path.read_text(), parse_constant=reject)
    assert [r["rules"] for r in data["rows"]] == [BASE, "uk-2025-26"]
    assert data["rows"][1]["lifetime_tax"] is None
    assert data["errors"][0]["rules"] == "uk-2025-26"


def test_cli_prints_the_table_and_writes_files(tmp_path, capsys, reform_path):
    out, js = tmp_path / "c.xlsx", tmp_path / "c.json"
    code = main(
        [
            "compare",
            str(RETIREE),
            "--rules",
            BASE,
            "--rules",
            str(reform_path),
            "--mode",
            "fast",
            "--processes",
            "1",
            "-o",
            str(out),
            "--json",
            str(js),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "us-2026-higher-rates" in printed and "LIFETIME TAX" in printed
    assert out.exists() and json.loads(js.read_text())["rule_sets"] == [
        BASE,
        "us-2026-higher-rates",
    ]


def test_cli_reports_a_failed_pair_as_a_row_and_a_warning(tmp_path, capsys):
    """A pair that cannot run is an error row of a run that succeeds (taxopt.cli.compare_cmd);
    only a run where no pair runs fails, and then it writes nothing (tests/test_bad_inputs)."""
    folder = tmp_path / "plans"
    folder.mkdir()
    shutil.copy(RETIREE, folder)
    code = main(
        [
            "compare",
            str(folder),
            "--rules",
            BASE,
            "--rules",
            "uk-2025-26",
            "--mode",
            "fast",
            "--processes",
            "1",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert RETIREE_NAME in captured.out or BASE in captured.out
    assert captured.err.startswith(f"taxopt: warning: {RETIREE_NAME} under uk-2025-26: ")
    assert "Traceback" not in captured.err


def test_cli_time_limit_with_room_changes_nothing_and_progress_names_each_pair(tmp_path, capsys):
    """--time-limit covers the comparison (taxopt.progress); one that leaves room gives the
    rows a run without it gives, and --progress prints a line per pair as it is done."""
    base = ["compare", str(RETIREE), "--rules", BASE, "--rules", BASE, "--mode", "fast"]
    plain, limited = tmp_path / "plain.json", tmp_path / "limited.json"
    assert main([*base, "--processes", "1", "--quiet", "--json", str(plain)]) == 0
    capsys.readouterr()
    code = main(
        [*base, "--processes", "2", "--progress", "--time-limit", "600", "--json", str(limited)]
    )
    err = capsys.readouterr().err.splitlines()
    assert code == 0
    done = [line for line in err if " done: " in line]
    assert len(done) == 2 and all(line.startswith("taxopt: [") for line in done)
    assert f"pair 2/2 done: {RETIREE_NAME} under " in done[1] and done[1].endswith(": optimal")
    rows = json.loads(plain.read_text())["rows"]
    assert json.loads(limited.read_text())["rows"] == rows
    assert json.loads(limited.read_text())["time_limited"] == []


def test_a_spent_time_limit_cuts_every_pair_short_in_the_workers_too():
    """With no time left, each pair (run in worker processes, which get the deadline) is
    either its first plan, listed in `time_limited` with the search's note, or an error
    row asking for a longer limit; never a plan read from a solve the limit interrupted."""
    from taxopt import progress

    with progress.watch(time_limit=1e-9, show=False):
        comparison = compare(RETIREE, [BASE, BASE], mode="exact", processes=2)
    assert set(comparison.results) | set(comparison.errors) == set(comparison.pairs)
    assert set(comparison.time_limited) == set(comparison.results)
    for message in comparison.errors.values():
        assert "raise --time-limit" in message
    for result in comparison.results.values():
        assert result.reconciliation_max_abs_error < 1.0  # a real plan, not an iterate


def test_cli_unknown_rules_is_one_line(capsys):
    code = main(["compare", str(RETIREE), "--rules", "nope", "--mode", "fast"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no rule set named 'nope'" in err


# ---------------------------------------------------------------------------------------
# Properties


@given(st.lists(st.sampled_from(["a", "b", "a (2)", "c"]), max_size=8))
def test_labels_are_unique(names):
    labels = [label for label, _ in _label(names, lambda n: n)]
    assert len(set(labels)) == len(labels)
    assert all(label.startswith(name) for label, name in zip(labels, names, strict=True))
    assert labels[:1] == names[:1]


@given(st.floats(-1e9, 1e9))
def test_money_never_prints_minus_zero(value):
    text = _money(value, signed=True)
    assert text not in ("-0", "+-0") and text[0] in "+-"


# ---------------------------------------------------------------------------------------
# One household under several jurisdictions (accounts mapped by `kinds`)


def test_a_household_whose_accounts_map_runs_under_us_and_uk_rules(tmp_path):
    """The UK example names each account's US kind (`kinds = { US = ... }`): it is planned
    under both, each in its own currency, and the table says the units differ. In the
    workbook each pair's sheets speak its rule set: the UK pair's money cells carry £ and
    its texts say ISA, the US pair's say Roth."""
    plan = EXAMPLES / "uk-higher-rate-saver.toml"
    result = compare([plan], [BASE, "uk-2025-26"], mode="fast", processes=1)
    assert not result.errors
    assert set(result.table["status"]) == {"optimal"}
    footer = render_table(result).splitlines()[-1]
    assert "not converted" in footer and "uk-2025-26 in £" in footer and f"{BASE} in $" in footer
    path = comparison_workbook(result).save(tmp_path / "compare.xlsx")
    book = openpyxl.load_workbook(path)

    def texts(title: str) -> str:
        return " ".join(str(c.value) for row in book[title].iter_rows() for c in row if c.value)

    def pound_cells(title: str) -> int:
        cells = [c for row in book[title].iter_rows() for c in row]
        return sum("£" in (c.number_format or "") for c in cells)

    us, uk = (
        result.sheet_prefix(result.plans[0], BASE),
        result.sheet_prefix(result.plans[0], "uk-2025-26"),
    )
    assert "Roth" in texts(f"{us}Plan") and pound_cells(f"{us}This year") == 0
    assert "Roth" not in texts(f"{uk}Plan") and "ISA" in texts(f"{uk}Plan")
    assert pound_cells(f"{uk}This year") > 0


def test_an_account_without_a_mapping_is_refused_in_one_line_naming_it(tmp_path):
    """Without its US kind the ISA cannot be placed under US rules: that pair is an error
    row whose message is one line naming the field and the mapping to add; the UK pair
    still runs."""
    text = (EXAMPLES / "uk-higher-rate-saver.toml").read_text()
    assert 'kinds = { US = "roth_ira" }\n' in text
    unmapped = tmp_path / "uk-unmapped.toml"
    unmapped.write_text(text.replace('kinds = { US = "roth_ira" }\n', ""))
    result = compare([unmapped], [BASE, "uk-2025-26"], mode="fast", processes=1)
    assert result.table.set_index("rules")["status"].to_dict() == {
        BASE: "error",
        "uk-2025-26": "optimal",
    }
    message = result.errors["UK higher-rate saver", BASE]
    assert "\n" not in message
    assert "accounts[1].kind: 'isa' is not an account kind of rule set us-federal-2026" in message
    assert 'kinds = { US = "roth_ira" }' in message and str(unmapped) in message  # taxed alike


def test_the_comparison_sheet_of_two_currencies_speaks_each_column_and_subtracts_none(tmp_path):
    """US and UK columns side by side: each money cell carries its own symbol ($ beside £),
    a difference across currencies is left out (the data too: a £ less a $ means nothing)
    while the location shift still compares, and no row label says '$' or 'AGI'."""
    plan = EXAMPLES / "uk-higher-rate-saver.toml"
    result = compare([plan], [BASE, "uk-2025-26"], mode="fast", processes=1)
    uk_row = result.table.set_index("rules").loc["uk-2025-26"]
    assert math.isnan(uk_row["sustainable_spending_vs_first"])
    assert uk_row["largest_shift"] != "none"
    path = comparison_workbook(result).save(tmp_path / "compare.xlsx")
    sheet = openpyxl.load_workbook(path)["Comparison"]
    rows = {r[0].value: r[1:3] for r in sheet.iter_rows() if r[0].value}
    spending = rows["Spending a year after tax (today's money)"]
    assert "$" in spending[0].number_format and "£" in spending[1].number_format
    assert spending[1].value == pytest.approx(uk_row["sustainable_spending"])
    assert rows[f"Spending vs {BASE} (today's money)"][1].value == "other currency"
    assert rows["Conversions, lifetime (today's money)"][1].value == "none in this law"
    labels = " ".join(str(label) for label in rows)
    assert "$" not in labels and "adjusted gross" not in labels

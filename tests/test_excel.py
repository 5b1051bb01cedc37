"""The advisor's workbook, read back: sheets, headers, every figure against the Result's
DataFrames, the promised formulas, and (LibreOffice) their recalculated values."""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

import taxopt
from taxopt.report.excel import (
    KEY_ROW,
    LABEL_ROW,
    SHEETS,
    RowRefs,
    sheet_title,
    write_plan_workbook,
)
from taxopt.result import PlanFigures
from taxopt.rules_report import rule_values

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIRST_DATA_ROW = KEY_ROW + 1
# Columns the yearly sheet promises as live formulas (derived from other columns).
YEARLY_FORMULAS = {
    "contributions",
    "withdrawals",
    "roth_conversions",
    "rmd_required",
    "social_security",
    "total_tax",
    "spending",
    "portfolio_closing",
    "spending_real",
    "total_tax_real",
    "withdrawals_real",
    "portfolio_closing_real",
    "after_tax_estate_real",
}
TAXES_FORMULAS = {"total_tax", "average_rate", "agi_real"}


@pytest.fixture(scope="module")
def result():
    # The couple plan has wages, contributions to five accounts, conversions and RMDs:
    # every column group of the yearly sheet is filled. Fast mode: about 0.4 s.
    plan = taxopt.load_plan(EXAMPLES / "couple-near-retirement.toml")
    return taxopt.optimize(
        plan, taxopt.load_rules("us-federal-2026"), mode="fast", with_baselines=False
    )


@pytest.fixture(scope="module")
def with_baseline(result):
    """The result with one made-up alternative, so the baselines block has a row to compare."""
    alternative = PlanFigures(
        sustainable_spending=100_000.0,
        after_tax_estate=200_000.0,
        lifetime_tax=500_000.0,
        first_year_withdrawal_rate=0.05,
    )
    return dataclasses.replace(result, baselines={"all in taxable": alternative})


@pytest.fixture(scope="module")
def workbook_path(with_baseline, tmp_path_factory) -> Path:
    return write_plan_workbook(with_baseline, tmp_path_factory.mktemp("wb") / "plan.xlsx")


@pytest.fixture(scope="module")
def book(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def table(ws) -> tuple[dict[str, int], int]:
    """Column index by key (row 2) and the number of data rows (until the total row)."""
    keys = {c.value: c.column for c in ws[KEY_ROW] if c.value is not None}
    rows = 0
    while ws.cell(FIRST_DATA_ROW + rows, 1).value not in (None, "Total", "Largest |x|"):
        rows += 1
    return keys, rows


def column(ws, col: int, rows: int) -> list:
    return [ws.cell(FIRST_DATA_ROW + i, col).value for i in range(rows)]


def is_formula(value) -> bool:
    return isinstance(value, str) and value.startswith("=")


def close(a: float, b: float) -> bool:
    # LibreOffice writes 15 significant digits.
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-6)


# ---------------------------------------------------------------------------------------
# Structure


def test_sheets_in_order(book):
    assert book.sheetnames == list(SHEETS)


def test_yearly_headers_cover_the_ledger(book, result):
    ws = book["Yearly plan"]
    keys, rows = table(ws)
    assert rows == len(result.yearly)
    accounts = [a.name for a in result.plan.accounts]
    expected = {
        "year",
        "inflation_factor",
        "retired",
        "wages",
        "savings_budget",
        "ordinary_tax",
        "capital_gains_tax",
        "niit",
        "early_withdrawal_penalty",
        "total_tax",
        "spending",
        "spending_real",
        "portfolio_closing",
        "portfolio_closing_real",
        "after_tax_estate_real",
        "age_Alex",
        "age_Blake",
    }
    for prefix in ("opening", "contribution", "withdrawal", "closing"):
        expected |= {f"{prefix}_{a}" for a in accounts}
    assert expected <= set(keys)
    labels = [ws.cell(LABEL_ROW, c).value for c in keys.values()]
    assert all(isinstance(label, str) and label for label in labels)
    assert ws.freeze_panes == "B3"


def test_yearly_values_equal_the_ledger(book, result):
    ws = book["Yearly plan"]
    keys, rows = table(ws)
    yearly = result.yearly
    checked = 0
    for key, col in keys.items():
        cells = column(ws, col, rows)
        if key in YEARLY_FORMULAS:
            assert all(is_formula(v) for v in cells), key
            continue
        if key == "retired":
            assert cells == ["yes" if r else "no" for r in yearly["retired"]]
        elif key in yearly.columns:
            assert all(close(a, b) for a, b in zip(cells, yearly[key], strict=True)), key
            checked += 1
    assert checked >= 30


def test_yearly_formulas_are_the_promised_ones(book, result):
    ws = book["Yearly plan"]
    keys, rows = table(ws)
    letter = {k: get_column_letter(c) for k, c in keys.items()}
    row = FIRST_DATA_ROW
    accounts = [a.name for a in result.plan.accounts]
    # Contributions and withdrawals: SUM over the adjacent per-account columns.
    for prefix, total in (("contribution", "contributions"), ("withdrawal", "withdrawals")):
        first, last = letter[f"{prefix}_{accounts[0]}"], letter[f"{prefix}_{accounts[-1]}"]
        assert ws[f"{letter[total]}{row}"].value == f"=SUM({first}{row}:{last}{row})"
    assert ws[f"{letter['spending_real']}{row}"].value == (
        f"={letter['spending']}{row}/{letter['inflation_factor']}{row}"
    )
    total_row = FIRST_DATA_ROW + rows
    assert ws.cell(total_row, 1).value == "Total"
    tax = letter["total_tax_real"]
    assert ws[f"{tax}{total_row}"].value == f"=SUM({tax}{FIRST_DATA_ROW}:{tax}{total_row - 1})"
    summary = {ws_row[0].value: ws_row[1].value for ws_row in book["Summary"].iter_rows()}
    lifetime = summary["Lifetime tax (sum of each year's tax in today's dollars)"]
    assert lifetime == f"=SUM('Yearly plan'!${tax}${FIRST_DATA_ROW}:${tax}${total_row - 1})"


def test_taxes_values_and_bracket_widths(book, result):
    ws = book["Taxes"]
    keys, rows = table(ws)
    yearly = result.yearly
    for key, col in keys.items():
        cells = column(ws, col, rows)
        if key in TAXES_FORMULAS or key.endswith(("_share_filled", "_room")):
            assert all(is_formula(v) for v in cells), key
        elif key in yearly.columns:
            assert all(close(a, b) for a, b in zip(cells, yearly[key], strict=True)), key
    # 2026 mfj: 12% bracket from $24,800 to $100,800 (Rev. Proc. 2025-32 §4.01, Table 1), so
    # 76,000 wide; indexed at the plan's 2.5% it is 76,000 x 1.025 = 77,900 wide in 2027.
    widths = column(ws, keys["bracket_1_width"], rows)
    assert widths[0] == pytest.approx(76_000)
    assert widths[1] == pytest.approx(77_900)
    # 37% top bracket (from $768,700) has no width.
    assert "bracket_6_filled" in keys and "bracket_6_width" not in keys
    assert ws.cell(LABEL_ROW, keys["bracket_1_filled"]).value == "Bracket 2 (12.0%) filled"


def test_location_dollars_equal_the_result(book, result):
    ws = book["Location"]
    tiers = result.plan.tier_names
    found = 0
    for snapshot, frame in result.location.groupby("snapshot", sort=False):
        title = f"{snapshot.capitalize()}: {int(frame['year'].iloc[0])}"
        start = next(c.row for c in ws["A"] if c.value == title)
        header = [ws.cell(start + 1, 3 + j).value for j in range(len(tiers))]
        assert header == tiers
        for offset, account in enumerate(a.name for a in result.plan.accounts):
            row = start + 2 + offset
            assert ws.cell(row, 1).value == account
            for j, tier in enumerate(tiers):
                want = frame[(frame.account == account) & (frame.tier == tier)].dollars.item()
                assert close(ws.cell(row, 3 + j).value, want)
                found += 1
    assert found == len(result.location)
    assert {"today", "retirement", "age 75", "age 85"} == set(result.location.snapshot)


def test_rules_sheet_lists_every_value_with_its_source(book, result):
    ws = book["Rules"]
    rows = {(r[1].value, r[4].value) for r in ws.iter_rows() if r[1].value}
    values = [v for v in rule_values(result.rules) if v.table not in {"meta", "extends"}]
    assert all((v.path, v.source) in rows for v in values)
    rates = next(r for r in ws.iter_rows() if r[1].value == "ordinary.brackets.mfj.rates")
    assert "Rev. Proc." in rates[4].value
    assert rates[2].value.startswith("[10%, 12%, 22%")


def test_summary_client_assumptions_and_baselines(book, with_baseline):
    ws = book["Summary"]
    pairs = {r[0].value: r[1].value for r in ws.iter_rows() if r[0].value}
    plan = with_baseline.plan
    assert pairs["Plan"] == plan.name
    assert pairs["Filing status"] == "mfj"
    assert pairs["People"].startswith("Alex, born 1965, age 61 in 2026")
    assert pairs["Rule set"].startswith("us-federal-2026: ")
    assert pairs["Inflation (yearly)"] == plan.inflation
    assert pairs["Mode / method / status"] == "fast / lp / optimal"
    tiers = {r[0].value: r for r in ws.iter_rows() if r[0].value in plan.tier_names}
    for tier in plan.tiers:
        assert tiers[tier.name][1].value == tier.expected_return
        assert tiers[tier.name][4].value == tier.volatility
    alternative = next(r for r in ws.iter_rows() if r[0].value == "all in taxable")
    assert alternative[1].value == 100_000.0
    assert all(is_formula(c.value) for c in alternative[5:8])


def test_empty_baselines_say_so(result, tmp_path):
    book = openpyxl.load_workbook(write_plan_workbook(result, tmp_path / "p.xlsx"))
    texts = [c.value for c in book["Summary"]["A"] if isinstance(c.value, str)]
    assert any(t.startswith("No simple alternatives were evaluated") for t in texts)


def test_charts_names_and_print_setup(book):
    charts = book["Charts"]._charts
    kinds = [(type(c).__name__, getattr(c, "grouping", None)) for c in charts]
    assert kinds == [("AreaChart", "stacked"), ("BarChart", "stacked"), ("LineChart", "standard")]
    assert len(charts[0].series) == 5 and len(charts[1].series) == 5
    names = set(book.defined_names)
    assert {
        "YearlyPlan",
        "Taxes",
        "Reconciliation",
        "Inflation",
        "LifetimeTax",
        "SustainableSpending",
        "Location_retirement",
        "Location_age_85",
    } <= names
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage


# ---------------------------------------------------------------------------------------
# Recalculated by a real spreadsheet engine


@pytest.fixture(scope="module")
def recalculated(workbook_path, tmp_path_factory):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
    out = tmp_path_factory.mktemp("recalc")
    profile = tmp_path_factory.mktemp("lo-profile")  # own profile: no clash with other runs
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(workbook_path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return openpyxl.load_workbook(out / workbook_path.name, data_only=True)


def test_recalculated_yearly_formulas_equal_the_ledger(recalculated, result):
    ws = recalculated["Yearly plan"]
    keys, rows = table(ws)
    yearly = result.yearly
    for key in YEARLY_FORMULAS & set(yearly.columns):
        cells = column(ws, keys[key], rows)
        assert all(close(a, b) for a, b in zip(cells, yearly[key], strict=True)), key
    total_row = FIRST_DATA_ROW + rows
    for key in ("total_tax", "withdrawals", "contributions", "spending"):
        assert close(ws.cell(total_row, keys[key]).value, yearly[key].sum()), key
    assert close(ws.cell(total_row, keys["total_tax_real"]).value, result.figures.lifetime_tax)


def test_recalculated_headline_figures_equal_the_result(recalculated, with_baseline):
    ws = recalculated["Summary"]
    pairs = {r[0].value: r[1].value for r in ws.iter_rows() if r[0].value}
    f = with_baseline.figures
    y = with_baseline.yearly
    assert close(
        pairs["Sustainable spending, first retirement year (after tax)"], f.sustainable_spending
    )
    assert close(
        pairs[f"After-tax estate at the end of {with_baseline.plan.end_year}"], f.after_tax_estate
    )
    assert close(pairs["Lifetime tax (sum of each year's tax in today's dollars)"], f.lifetime_tax)
    assert close(
        pairs["First-year withdrawal rate (net of contributions)"], f.first_year_withdrawal_rate
    )
    lifetime_agi = (y["agi"] / y["inflation_factor"]).sum()
    assert close(
        pairs["Effective rate: lifetime tax / lifetime AGI"], f.lifetime_tax / lifetime_agi
    )
    assert close(
        pairs["Model vs ledger: largest yearly difference (nominal $)"],
        with_baseline.reconciliation_max_abs_error,
    )
    table_ = with_baseline.baselines_table
    row = next(r for r in ws.iter_rows() if r[0].value == "all in taxable")
    gains = [c.value for c in row[5:8]]
    want = table_.loc[
        "all in taxable", ["gain_in_sustainable_spending", "gain_in_after_tax_estate", "tax_saved"]
    ]
    assert all(close(a, b) for a, b in zip(gains, want, strict=True))


def test_recalculated_taxes_location_and_reconciliation(recalculated, result):
    taxes = recalculated["Taxes"]
    keys, rows = table(taxes)
    for i in range(rows):
        row = FIRST_DATA_ROW + i
        filled = taxes.cell(row, keys["bracket_1_filled"]).value
        width = taxes.cell(row, keys["bracket_1_width"]).value
        assert close(taxes.cell(row, keys["bracket_1_share_filled"]).value, filled / width)
        assert close(taxes.cell(row, keys["total_tax"]).value, result.yearly["total_tax"].iloc[i])
    ws = recalculated["Location"]
    tiers = result.plan.tier_names
    share_acct, share_port = len(tiers) + 6, 2 * len(tiers) + 7  # the blocks' first columns
    for snapshot, frame in result.location.groupby("snapshot", sort=False):
        title = f"{snapshot.capitalize()}: {int(frame['year'].iloc[0])}"
        start = next(c.row for c in ws["A"] if c.value == title)
        for offset, account in enumerate(a.name for a in result.plan.accounts):
            for j, tier in enumerate(tiers):
                want = frame[(frame.account == account) & (frame.tier == tier)].iloc[0]
                assert close(
                    ws.cell(start + 2 + offset, share_acct + j).value, want.share_of_account
                )
                assert close(
                    ws.cell(start + 2 + offset, share_port + j).value, want.share_of_portfolio
                )
    recon = recalculated["Reconciliation"]
    keys, rows = table(recon)
    errors = column(recon, keys["tax_error"], rows)
    assert all(close(a, b) for a, b in zip(errors, result.reconciliation["tax_error"], strict=True))


def test_recalculation_has_no_error_cells(recalculated):
    bad = [
        f"{ws.title}!{c.coordinate}={c.value}"
        for ws in recalculated.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith(("#", "Err:"))
    ]
    assert bad == []


# ---------------------------------------------------------------------------------------
# Saving: atomic, with an extension hook


class _Unwritable:
    """A cell value that fails while openpyxl serializes the sheet (mid-write)."""

    def __str__(self) -> str:
        raise OSError("disk full (simulated)")

    __repr__ = __str__


def _break_on_save(workbook) -> None:
    cell = workbook.create_sheet("Broken")["A1"]
    cell._value, cell.data_type = _Unwritable(), "n"  # bypass openpyxl's type check


def test_failure_mid_write_leaves_no_file(result, tmp_path):
    target = tmp_path / "plan.xlsx"
    with pytest.raises(OSError, match="disk full"):
        write_plan_workbook(result, target, extend=_break_on_save)
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_write_keeps_the_existing_file(result, tmp_path):
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"the advisor's previous workbook")
    with pytest.raises(OSError, match="disk full"):
        write_plan_workbook(result, target, extend=_break_on_save)
    assert target.read_bytes() == b"the advisor's previous workbook"
    assert list(tmp_path.iterdir()) == [target]


def test_extend_adds_sheets_before_the_save(result, tmp_path):
    def stress(workbook):
        workbook.create_sheet("Stress test")["A1"] = "added by extend"

    path = write_plan_workbook(result, tmp_path / "plan.xlsx", extend=stress)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [*SHEETS, "Stress test"]
    assert book["Stress test"]["A1"].value == "added by extend"


def test_result_to_excel_writes_the_workbook(result, tmp_path):
    path = result.to_excel(tmp_path / "out.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == list(SHEETS)


# ---------------------------------------------------------------------------------------
# Properties of the helpers


@given(st.text(max_size=40), st.sampled_from(SHEETS))
def test_sheet_titles_fit_excel(prefix, base):
    title = sheet_title(prefix, base)
    assert len(title) <= 31 and title == (prefix + base)[:31]


@given(st.lists(st.integers(1, 60), min_size=1, max_size=12, unique=True), st.integers(3, 500))
def test_row_sum_references_exactly_the_given_cells(columns, row):
    letters = {f"k{c}": get_column_letter(c) for c in columns}
    formula = RowRefs(letters, row).sum(list(letters))
    inner = formula.removeprefix("SUM(").removesuffix(")")
    if ":" in inner:
        first, last = inner.split(":")
        cells = {
            f"{get_column_letter(c)}{row}"
            for c in range(
                openpyxl.utils.column_index_from_string(first[: -len(str(row))]),
                openpyxl.utils.column_index_from_string(last[: -len(str(row))]) + 1,
            )
        }
    else:
        cells = set(inner.split(","))
    assert cells == {f"{letter}{row}" for letter in letters.values()}

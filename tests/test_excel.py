"""The advisor's workbook, read back as a client's viewer and an auditor would: stored
results of every formula, the headline numbers through pandas, plain words on client sheets,
this year's actions against the ledger, and (LibreOffice) how it prints."""

from __future__ import annotations

import math
import re
import types
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbook_checks import (
    charts_and_breaks,
    convert,
    developer_words,
    evaluate,
    formula_cells,
    pages_by_sheet,
    pdf_text,
    sheet_of,
)

import taxopt
from taxopt.report.book import MAX_SHEET_TITLE, PRINT_HEIGHT_PT, clean, sheet_title
from taxopt.report.excel import CLIENT_SHEETS, SHEETS, write_plan_workbook
from taxopt.report.headroom import headroom
from taxopt.report.tables import MAX_COLUMNS, Column, Table, split, sum_formula
from taxopt.report.this_year import account_actions, lot_sales
from taxopt.tax import TaxInput

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
US_2026 = taxopt.load_rules("us-federal-2026")


@pytest.fixture(scope="module")
def result():
    # The couple has wages, contributions to five accounts, conversions, RMDs and a taxable
    # account with gains: every part of the workbook is filled. Fast mode, with baselines.
    plan = taxopt.load_plan(EXAMPLES / "couple-near-retirement.toml")
    return taxopt.optimize(plan, US_2026, mode="fast")


@pytest.fixture(scope="module")
def path(result, tmp_path_factory) -> Path:
    return write_plan_workbook(result, tmp_path_factory.mktemp("wb") / "plan.xlsx")


@pytest.fixture(scope="module")
def values(path):
    return openpyxl.load_workbook(path, data_only=True)


def rows_of(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def find_row(ws, label: str) -> list:
    return next(r for r in rows_of(ws) if label in r)


def column_below(ws, header: str) -> list:
    """Values under the first header cell `header`, down to the total row or a blank."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == header:
                out, r = [], cell.row + 1
                while ws.cell(r, 1).value not in (None, "Total") and isinstance(
                    ws.cell(r, 1).value, int | float
                ):
                    out.append(ws.cell(r, cell.column).value)
                    r += 1
                return out
    raise AssertionError(f"no header {header!r} on {ws.title}")


def all_parts(ws, header: str) -> list:
    """A column's values over every page of its table (the header repeats on each page)."""
    out = []
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == header:
                r = cell.row + 1
                while isinstance(ws.cell(r, 1).value, int | float):
                    out.append(ws.cell(r, cell.column).value)
                    r += 1
    return out


# ---------------------------------------------------------------------------------------
# Stored values


def test_sheets_in_order(values):
    assert values.sheetnames == list(SHEETS)


def test_every_formula_has_its_result_stored(path, values):
    cells = formula_cells(path)
    assert len(cells) > 50
    for sheet, coordinate, formula, stored in cells:
        assert stored is not None, f"{sheet}!{coordinate} {formula} has no stored result"
        want = evaluate(formula, values[sheet])
        assert math.isclose(stored, want, rel_tol=1e-9, abs_tol=1e-6), (sheet, coordinate)


def total_below(ws, header: str) -> float:
    """The total row's cell under the first header cell `header`."""
    cell = next(c for row in ws.iter_rows() for c in row if c.value == header)
    r = cell.row + 1
    while ws.cell(r, 1).value != "Total":
        r += 1
    return ws.cell(r, cell.column).value


def test_totals_equal_the_ledger(values, result):
    ws = values["Year by year"]
    y = result.yearly
    n = len(y)
    assert total_below(ws, "Income tax, total (nominal $)") == pytest.approx(
        y["total_tax"].sum(), abs=0.5 * n
    )
    assert total_below(ws, "Income tax (today's $)") == pytest.approx(
        result.figures.lifetime_tax, abs=0.5 * n
    )
    assert total_below(ws, "Converted to Roth (nominal $)") == pytest.approx(
        y["roth_conversions"].sum(), abs=0.5 * n
    )


def test_instructions_equal_the_ledger(values, result):
    ws = values["Year by year"]
    y = result.yearly
    assert all_parts(ws, "Year")[: len(y)] == list(y["year"])
    spending = all_parts(ws, "Spending after tax (today's $)")
    assert spending == pytest.approx(list(y["spending_real"]), abs=0.5)
    convert_cols = sorted({h for h in _headers(ws) if h.startswith("Convert to Roth from")})
    assert len(convert_cols) == 2
    converted = [sum(v) for v in zip(*(all_parts(ws, h) for h in convert_cols), strict=True)]
    assert converted == pytest.approx(list(y["roth_conversions"]), abs=1.0)


def _headers(ws) -> list:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_ledger_appendix_keeps_every_figure(values, result):
    ws = values["Ledger"]
    numbers = [
        c.value
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, int | float) and not isinstance(c.value, bool)
    ]
    assert len(numbers) >= result.yearly.select_dtypes("number").size * 0.9
    assert all_parts(ws, "Total tax (nominal $)") == pytest.approx(
        list(result.yearly["total_tax"]), abs=0.5
    )


def test_pandas_reads_the_headline_numbers(path, result):
    first = pd.read_excel(path, sheet_name=0, header=None)
    figures = {str(r[0]): r[1] for r in first.itertuples(index=False)}
    f = result.figures
    assert figures["Spending a year, after tax (today's $)"] == pytest.approx(
        f.sustainable_spending
    )
    assert figures["Estate after tax (today's $)"] == pytest.approx(f.after_tax_estate)
    assert figures["Lifetime tax (today's $)"] == pytest.approx(f.lifetime_tax)
    table = result.baselines_table
    saved = table.loc["guide_rule_of_thumb", "tax_saved"]
    assert figures["Lifetime tax saved (today's $)"] == pytest.approx(saved)
    saved_pv = table.loc["guide_rule_of_thumb", "tax_saved_pv"]
    assert figures["Tax saved, present value (today's $)"] == pytest.approx(saved_pv)


def test_first_sheet_shows_risk_and_present_value_when_the_result_has_them(result, tmp_path):
    stress = types.SimpleNamespace(
        success_rate=0.87, safe_spending=121_500.0, target=0.9, paths=2000, seed=1, tolerance=50
    )
    figures = types.SimpleNamespace(**vars(result.figures))
    figures.lifetime_tax_pv, figures.discount_rate = 250_000.0, 0.05
    richer = types.SimpleNamespace(**{k: getattr(result, k) for k in vars(result)})
    richer.baselines_table = result.baselines_table
    richer.yearly = result.yearly
    richer.reconciliation_max_abs_error = result.reconciliation_max_abs_error
    richer.stress, richer.figures, richer.return_basis = stress, figures, "median"
    richer.tier_returns = {t.name: t.expected_return / 2 for t in result.plan.tiers}
    path = write_plan_workbook(richer, tmp_path / "richer.xlsx")
    first = pd.read_excel(path, sheet_name=0, header=None)
    shown = {str(r[0]): r[1] for r in first.itertuples(index=False)}
    assert shown["Chance this spending lasts (success rate)"] == pytest.approx(0.87)
    assert shown["Safe spending a year (today's $)"] == pytest.approx(121_500)
    assert shown["Lifetime tax, present value (today's $)"] == pytest.approx(250_000)
    inputs = pd.read_excel(path, sheet_name="Inputs", header=None).astype(str)
    assert inputs.apply(lambda col: col.str.contains("median path")).any().any()


def test_no_developer_words_on_client_sheets(path):
    book = openpyxl.load_workbook(path)
    found = [hit for name in CLIENT_SHEETS for hit in developer_words(book[name])]
    assert found == []


def test_solver_details_only_on_the_reconciliation_sheet(values):
    recon = rows_of(values["Reconciliation"])
    assert any(r[0] == "Solver status" for r in recon)


# ---------------------------------------------------------------------------------------
# This year's actions


def test_this_year_actions_equal_the_ledger(result):
    first = result.yearly.iloc[0]
    actions = account_actions(result)
    for account, action in zip(result.plan.accounts, actions, strict=True):
        assert action.contribute == pytest.approx(first[f"contribution_{account.name}"])
        assert action.withdraw == pytest.approx(first[f"withdrawal_{account.name}"])
        assert action.convert_out == pytest.approx(first[f"conversion_out_{account.name}"])
        assert action.rmd_due == pytest.approx(first[f"rmd_{account.name}"])
        change = action.contribute - action.withdraw - action.convert_out
        assert action.after == pytest.approx(action.opening + change, abs=0.01)
    # The lots sold, priced from the plan's basis, realize the ledger's gain for the year.
    gains = sum(s.gain for s in lot_sales(result))
    assert gains == pytest.approx(first["realized_gains"], abs=0.01)


def test_this_year_room_for_the_couple(values, result):
    """2026 mfj: the 22% bracket ends at $211,400 (Rev. Proc. 2025-32 §4.01, Table 1); NIIT
    starts at $250,000 of MAGI (IRC §1411(b)); taxable income above the 0% band's top
    ($98,900 mfj, Rev. Proc. 2025-32 §4.03) leaves no room at 0%."""
    first = result.yearly.iloc[0]
    rows = {r[0]: r[4] for r in rows_of(values["This year"]) if isinstance(r[0], str)}
    before_24 = rows["More ordinary income (a conversion, say) before the 24% bracket ($)"]
    assert before_24 == pytest.approx(211_400 - first["ordinary_taxable_income"], abs=0.5)
    niit = rows["Income (MAGI) left below the net investment income tax threshold ($)"]
    assert niit == pytest.approx(250_000 - first["agi"], abs=0.5)
    assert first["taxable_income"] > 98_900
    assert rows["More long-term gains that can be realized at 0% ($)"] == pytest.approx(0)
    assert rows["Expected income tax, total ($)"] == pytest.approx(first["total_tax"])


def test_headroom_of_a_single_filer_by_hand():
    """Single, 2026, $50,000 of wages: standard deduction $16,100 leaves $33,900 taxable,
    in the 12% bracket that ends at $50,400 (Rev. Proc. 2025-32 §4.01 Table 3, §4.14):
    $16,500 of room. The 0% band ends at $49,450 of taxable income (§4.03): $15,550 of gains
    at 0%. NIIT threshold $200,000 (IRC §1411(b)): $150,000 of MAGI below it."""
    room = headroom(US_2026, TaxInput("single", (40,), ordinary_income=50_000, year=2026))
    assert room.bracket_rate == 0.12 and room.next_bracket_rate == 0.22
    assert room.ordinary_room == pytest.approx(16_500, abs=0.5)
    assert room.zero_rate_gains_room == pytest.approx(15_550, abs=0.5)
    assert room.surtax_room["niit"] == pytest.approx(150_000)


# ---------------------------------------------------------------------------------------
# Printing


def test_print_setup_and_legible_instruction_tables(path):
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.oddHeader.center.text and "&P" in ws.oddFooter.right.text
    ws = book["Year by year"]
    font = max(c.font.sz or 10 for row in ws.iter_rows(min_row=8, max_row=12) for c in row)
    assert (ws.page_setup.scale or 100) / 100 * font >= 8
    header_rows = [r for r in ws.iter_rows() if r[0].value == "Year"]
    assert header_rows
    for row in header_rows:
        assert len([c for c in row if c.value is not None]) <= MAX_COLUMNS


@pytest.fixture(scope="module")
def pdf_pages(path, tmp_path_factory) -> list[str | None]:
    pdf = convert(path, tmp_path_factory.mktemp("pdf"), "pdf")
    return [sheet_of(header, list(SHEETS)) for header in pages_by_sheet(pdf)]


def test_first_sheet_prints_on_one_page(pdf_pages):
    assert pdf_pages[0] == "Plan"
    assert pdf_pages.count("Plan") == 1
    assert None not in pdf_pages


def test_charts_print_one_to_a_page_and_none_is_split(path, pdf_pages):
    layout = charts_and_breaks(path)
    spans, breaks, scale = layout["Charts"]
    assert pdf_pages.count("Charts") == len(spans) == 4
    book = openpyxl.load_workbook(path)
    for name, (spans, breaks, scale) in layout.items():
        ws = book[name]
        for start, end in spans:
            assert not [b for b in breaks if start < b <= end], (name, start, end, breaks)
            page_start = max([b for b in breaks if b <= start], default=0)
            height = sum(
                (ws.row_dimensions[r + 1].height or 15.0) for r in range(page_start, end + 1)
            )
            assert height * scale / 100 <= PRINT_HEIGHT_PT, (name, start, end)


def test_libreoffice_recalculates_the_stored_results(path, tmp_path):
    again = openpyxl.load_workbook(
        convert(path, tmp_path, "xlsx", recalculate=True), data_only=True
    )
    for sheet, coordinate, _formula, stored in formula_cells(path):
        assert again[sheet][coordinate].value == pytest.approx(stored, rel=1e-9, abs=1e-6)


# ---------------------------------------------------------------------------------------
# Saving


def test_failure_mid_write_keeps_the_existing_file(result, tmp_path):
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"the advisor's previous workbook")

    def broken(book):
        raise OSError("disk full (simulated)")

    with pytest.raises(OSError, match="disk full"):
        write_plan_workbook(result, target, extend=broken)
    assert target.read_bytes() == b"the advisor's previous workbook"
    assert list(tmp_path.iterdir()) == [target]


def test_extend_adds_sheets_before_the_save(result, tmp_path):
    def stress(book):
        sheet = book.add_sheet("Stress test")
        sheet.write(0, 0, "added by extend")

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
    assert len(title) <= MAX_SHEET_TITLE and title == (prefix + base)[:MAX_SHEET_TITLE]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_clean_never_stores_negative_zero_or_noise(value):
    out = clean(value, "money")
    if out is None:
        assert value != value or math.isinf(value)
    elif abs(value) < 0.5:
        assert out == 0.0 and math.copysign(1.0, out) == 1.0
    else:
        assert out == value


@given(st.lists(st.integers(0, 300), min_size=1, max_size=40, unique=True))
def test_sum_formula_covers_exactly_the_rows(rows):
    rows = sorted(rows)
    formula = sum_formula(2, rows)
    covered = set()
    for part in formula.removeprefix("SUM(").removesuffix(")").split(","):
        first, _, last = part.partition(":")
        a, b = int(first[1:]) - 1, int((last or first)[1:]) - 1
        covered |= set(range(a, b + 1))
    assert covered == set(rows)


@given(st.integers(1, 60), st.integers(0, 4))
def test_split_keeps_keys_and_every_column_once(n, keys):
    cols = [Column(f"c{i}", [i]) for i in range(n + keys)]
    parts = split(Table("t", cols, keys=keys))
    for part in parts:
        assert part.columns[:keys] == cols[:keys]
        assert len(part.columns) <= MAX_COLUMNS
    rest = [c for p in parts for c in p.columns[keys:]]
    assert rest == cols[keys:]


def test_charts_are_honest_and_styled(path):
    """Straight lines, Arial named for every text (bold too), axes kept shown, value axes
    bounded from the data; the plan's four chart subjects are there."""
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    assert len(charts) == 5  # the first sheet's and the Charts sheet's four
    titles = " ".join(charts)
    for subject in (
        "Income tax by kind",
        "Roth conversions against the bracket tops",
        "Where the money comes from",
        "Balances by kind of account",
    ):
        assert subject in titles
    for xml in charts:
        assert '<c:smooth val="1"/>' not in xml
        runs = re.findall(r"<a:(?:defRPr|rPr)[^>]*>(.*?)</a:(?:defRPr|rPr)>", xml, re.S)
        assert runs and all('typeface="Arial"' in run for run in runs)
        assert xml.count('<c:delete val="0"/>') == xml.count("</c:scaling>")
        assert '<c:delete val="1"/>' not in xml
        assert "<c:min val=" in xml and "<c:max val=" in xml
        assert "Today&apos;s dollars" in xml or "Today's dollars" in xml


def test_printed_pages_show_no_negative_zero(path, tmp_path):
    text = pdf_text(convert(path, tmp_path, "pdf"), layout=False)
    assert re.findall(r"(?<![\w.,])-0(?:\.0+)?%?(?![\d.,])", text) == []


@pytest.mark.parametrize("name", ["retiree-drawing-2.5-percent", "young-accumulator"])
def test_other_examples_read_in_plain_words(name, tmp_path):
    """The retiree's plan opens a Roth for conversions and keeps notes; the accumulator has
    one person and no traditional account: neither leaks an identifier to a client sheet."""
    plan = taxopt.load_plan(EXAMPLES / f"{name}.toml")
    result = taxopt.optimize(plan, US_2026, mode="fast", with_baselines=False)
    book = openpyxl.load_workbook(write_plan_workbook(result, tmp_path / "plan.xlsx"))
    assert [hit for sheet in CLIENT_SHEETS for hit in developer_words(book[sheet])] == []
    first = pd.read_excel(tmp_path / "plan.xlsx", sheet_name=0, header=None)
    shown = {str(r[0]): r[1] for r in first.itertuples(index=False)}
    spending = shown["Spending a year, after tax (today's $)"]
    assert spending == pytest.approx(result.figures.sustainable_spending)


def test_conversion_sentence_says_what_the_ledger_charges(result):
    """The Plan sheet's conversion sentence: 'no tax' only when the ledger charges none in
    every conversion year, and the stopping rate is the ledger's rate on the next dollar."""
    from taxopt.report.story import FLOW_FLOOR, conversion_sentence

    sentence = conversion_sentence(result)
    y = result.yearly
    converting = y[y["roth_conversions"] > FLOW_FLOOR]
    assert not converting.empty, "the couple converts"
    free = bool((converting["total_tax"] < FLOW_FLOOR).all())
    assert ("they cost no tax" in sentence) == free, sentence
    assert f"{converting['marginal_ordinary_rate'].max():.0%} in tax" in sentence, sentence


def test_a_plan_that_owes_no_tax_still_writes_its_workbook(tmp_path):
    """Only a Roth and no other income: no tax in any year, so the tax chart has no series
    (xlsxwriter refuses an empty chart); the Charts sheet leaves that chart out."""
    from openpyxl import load_workbook

    from taxopt.optimize import optimize
    from taxopt.plan import plan_from_dict
    from taxopt.rules import load_rules

    plan = plan_from_dict(
        {
            "name": "roth only",
            "filing_status": "single",
            "start_year": 2026,
            "retirement_year": 2026,
            "horizon_age": 70,
            "people": [{"name": "Ann", "birth_year": 1960}],
            "tiers": [
                {"name": "index", "expected_return": 0.05, "yield": 0.0, "yield_character": "none"}
            ],
            "profile": {"weights": {"index": 1.0}},
            "accounts": [
                {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {"index": 100_000}}
            ],
            "objective": {"kind": "max_spending", "bequest_floor": 0},
        }
    )
    result = optimize(plan, load_rules("us-federal-2026"), with_baselines=False)
    assert result.ledger.lifetime_tax_real == 0.0
    path = tmp_path / "plan.xlsx"
    result.to_excel(path)
    assert "Charts" in load_workbook(path).sheetnames


def test_a_note_naming_a_rule_set_field_is_not_sent_to_the_plan_file():
    """Notes may name a rule-set field; the Inputs sheet names the rule set, not 'the plan
    file', and still words plan-file fields as before."""
    from taxopt.report.inputs import _rule_set_paths
    from taxopt.rules import load_rules

    rules = load_rules("uk-2025-26")
    note = "above £268,275 (account_kinds.sipp.tax_free_lifetime_limit); (withdrawal.rate)"
    assert _rule_set_paths(note, rules) == "above £268,275 (rule set uk-2025-26); (withdrawal.rate)"
    note = "x (contribution_limits[sipp].after_withdrawal)"
    assert _rule_set_paths(note, rules) == "x (rule set uk-2025-26)"


def test_this_year_shows_the_state_tax_its_total_includes(result, tmp_path):
    """With a state the expected total is federal + state; the sheet shows both, and the
    ledger's federal tax is the sum of the federal lines above them."""
    plan = result.plan.model_copy(update={"state": "ca"})
    with_state = taxopt.optimize(plan, US_2026, mode="fast", with_baselines=False, paths=0)
    book = openpyxl.load_workbook(write_plan_workbook(with_state, tmp_path / "ca.xlsx"))
    rows = {r[0]: r[4] for r in rows_of(book["This year"]) if isinstance(r[0], str)}
    federal, state = rows["Federal income tax ($)"], rows["State income tax, CA ($)"]
    assert state > 0
    assert rows["Expected income tax, total ($)"] == pytest.approx(federal + state, abs=0.5)
    first = with_state.yearly.iloc[0]
    parts = first[["ordinary_tax", "capital_gains_tax", "niit", "early_withdrawal_penalty"]]
    assert federal == pytest.approx(parts.sum(), abs=0.5)  # US plans here claim no credits

"""The stress-test workbook read back: figures stored as values (pandas sees them), plain
words, the fans in today's dollars with straight lines, and a few landscape pages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from workbook_checks import (
    charts_and_breaks,
    convert,
    developer_words,
    formula_cells,
    pages_by_sheet,
)

import taxopt
from taxopt.report.book import PRINT_HEIGHT_PT
from taxopt.report.stress_sheet import SHEET, write_stress_workbook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def simulation():
    plan = taxopt.load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    result = taxopt.optimize(
        plan, taxopt.load_rules("us-federal-2026"), mode="fast", with_baselines=False
    )
    return taxopt.simulate(result, paths=200, seed=3, withdrawal="guardrails")


@pytest.fixture(scope="module")
def path(simulation, tmp_path_factory) -> Path:
    return write_stress_workbook(simulation, tmp_path_factory.mktemp("stress") / "stress.xlsx")


def test_pandas_sees_the_success_rate_and_the_percentiles(path, simulation):
    sheet = pd.read_excel(path, sheet_name=0, header=None)
    labels = sheet[0].astype(str)
    rate_row = sheet[labels == "Success rate (spending met every year)"].iloc[0]
    assert rate_row[3] == pytest.approx(simulation.success_rate)
    pct = simulation.percentiles
    header = sheet.index[sheet[1] == "Spending, 5th percentile (today's $)"][0]
    first_year = sheet.iloc[header + 1]
    assert first_year[0] == pct.index[0]
    assert first_year[1] == pytest.approx(pct["spending_real_p5"].iloc[0])


def test_values_only_and_plain_words(path):
    assert formula_cells(path) == []
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [SHEET]
    assert developer_words(book[SHEET]) == []


def test_fan_lines_are_straight_with_fonts_and_visible_axes(path):
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    fans = [c for c in charts if "<c:lineChart>" in c]
    assert len(fans) == 2
    for xml in fans:
        assert '<c:smooth val="1"/>' not in xml
        assert 'typeface="Arial"' in xml
        assert '<c:delete val="1"/>' not in xml
        assert xml.count('<c:delete val="0"/>') == xml.count("</c:scaling>") == 2
        assert "Today&apos;s dollars" in xml or "Today's dollars" in xml


def test_prints_on_a_few_landscape_pages_with_no_chart_split(path, tmp_path):
    pages = pages_by_sheet(convert(path, tmp_path, "pdf"))
    assert 3 <= len(pages) <= 6
    ws = openpyxl.load_workbook(path)[SHEET]
    assert ws.page_setup.orientation == "landscape"
    spans, breaks, scale = charts_and_breaks(path)[SHEET]
    assert len(spans) == 3
    for start, end in spans:
        assert not [b for b in breaks if start < b <= end]
        page_start = max([b for b in breaks if b <= start], default=0)
        height = sum(ws.row_dimensions[r + 1].height or 15.0 for r in range(page_start, end + 1))
        assert height * scale / 100 <= PRINT_HEIGHT_PT

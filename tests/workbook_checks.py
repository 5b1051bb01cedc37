"""Checks shared by the workbook tests (plan, comparison, stress): stored formula results,
developer words on client sheets, and printing through LibreOffice."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

# Identifiers that must never reach a client page.
FORBIDDEN = [
    "max_spending",
    "max_estate",
    "min_tax",
    "guide_rule_of_thumb",
    "same_mix_everywhere",
    "conventional_withdrawals",
    "fixed_real",
    "constant_percentage",
    "fixed_amount",
    "HiGHS",
    "CBC",
    "PuLP",
    "regime-lp",
    "milp",
    "solver",
    "taxopt.",
    "optimize(",
    "with_baselines",
]
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


def developer_words(ws) -> list[str]:
    found = []
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            text = cell.value
            hits = [t for t in FORBIDDEN if t.lower() in text.lower()]
            hits += SNAKE_CASE.findall(text)
            found += [f"{ws.title}!{cell.coordinate}: {h}" for h in hits]
    return found


# ---------------------------------------------------------------------------------------
# Formulas and their stored results


def formula_cells(path: Path) -> list[tuple[str, str, str, float | None]]:
    """(sheet, cell, formula, stored result) for every formula in the workbook."""
    formulas = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    out = []
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    stored = values[ws.title][cell.coordinate].value
                    out.append((ws.title, cell.coordinate, cell.value, stored))
    return out


def evaluate(formula: str, ws) -> float:
    """The value of the formulas the reports write: =SUM(ranges) and =A1-B1, from `ws`'s
    stored values."""
    body = formula.removeprefix("=")
    if body.startswith("SUM(") and body.endswith(")"):
        total = 0.0
        for part in body[4:-1].split(","):
            low_col, low_row, high_col, high_row = range_boundaries(part)
            for r in range(low_row, high_row + 1):
                for c in range(low_col, high_col + 1):
                    total += ws.cell(r, c).value or 0.0
        return total
    a, b = body.split("-")
    return (ws[a].value or 0.0) - (ws[b].value or 0.0)


# ---------------------------------------------------------------------------------------
# LibreOffice


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
    return found


_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def convert(path: Path, out: Path, to: str, recalculate: bool = False) -> Path:
    """LibreOffice headless conversion of `path` into `out` (its own profile)."""
    profile = out / "profile"
    if recalculate:  # recalculate every formula on load, ignoring the stored results
        user = profile / "user"
        user.mkdir(parents=True, exist_ok=True)
        (user / "registrymodifications.xcu").write_text(_RECALC_ALWAYS)
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return out / (path.stem + "." + to)


def pdf_text(pdf: Path, layout: bool = True) -> str:
    """The printed text, pages separated by form feeds (pdftotext)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed: apt-get install poppler-utils")
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pages_by_sheet(pdf: Path) -> list[str]:
    """The sheet each printed page belongs to, read from the page header (which names it)."""
    text = pdf_text(pdf)
    sheets = []
    for page in text.split("\f"):
        lines = [line for line in page.splitlines() if line.strip()]
        if lines:
            sheets.append(re.split(r"\s{2,}", lines[0].strip()))
    return sheets


def sheet_of(header: list[str], titles: list[str]) -> str | None:
    """The sheet title among `titles` that a page header names (client | sheet | date)."""
    return next((part for part in header if part in titles), None)


def charts_and_breaks(path: Path) -> dict[str, tuple[list[tuple[int, int]], list[int], int]]:
    """Per sheet: chart row spans (0-based from, to), manual page breaks (0-based first row
    of each new page) and the print scale."""
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        spans = []
        for chart in ws._charts:
            anchor = chart.anchor
            start = anchor._from.row
            to = getattr(anchor, "to", None)
            # The last row the chart covers: `to` is where it ends, inside that row or at its top.
            end = start if to is None else (to.row if to.rowOff > 0 else to.row - 1)
            spans.append((start, end))
        breaks = [b.id for b in ws.row_breaks.brk]
        out[ws.title] = (spans, breaks, ws.page_setup.scale or 100)
    return out

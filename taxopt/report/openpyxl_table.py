"""A plain openpyxl table writer for analysts' workbooks (the batch summary).

The advisor's, comparison and stress workbooks are written with taxopt.report.book, which
stores every formula's result; this writer keeps the batch summary's format: two header
rows (a label and the column key), one row per record, totals as live formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet

from taxopt.io import write_atomically

MONEY = "#,##0;-#,##0;0"
CENTS = "#,##0.00;-#,##0.00;0.00"
PERCENT = "0.0%"
RATE = "0.00%"
FACTOR = "0.0000"
INTEGER = "0"
TEXT = "General"
LABEL_ROW, KEY_ROW = 1, 2  # header rows of a table sheet; data starts on row 3


_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_KEY_FONT = Font(italic=True, color="808080", size=8)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")

# ---------------------------------------------------------------------------------------
# Tables: columns of values or per-row formulas, two header rows, an optional total row

Formula = Callable[["RowRefs"], str]


@dataclass(frozen=True)
class Col:
    """One column of a table sheet: ledger values, or a formula built from the row's cells.

    `total`: "sum" adds a SUM in the total row, "maxabs" the largest absolute value.
    """

    key: str
    label: str
    fmt: str = MONEY
    values: Sequence[Any] | None = None
    formula: Formula | None = None
    total: str | None = None
    width: float = 13.0


class RowRefs:
    """Cell addresses of one row by column key; `sheet` refs for other sheets' formulas."""

    def __init__(self, letters: dict[str, str], row: int):
        self.letters, self.row = letters, row

    def __call__(self, key: str) -> str:
        return f"{self.letters[key]}{self.row}"

    def sum(self, keys: Sequence[str]) -> str:
        """SUM over the keys' cells: a range when the columns are adjacent."""
        index = sorted(column_index_from_string(self.letters[k]) for k in keys)
        if index == list(range(index[0], index[-1] + 1)):
            first, last = get_column_letter(index[0]), get_column_letter(index[-1])
            return f"SUM({first}{self.row}:{last}{self.row})"
        return "SUM(" + ",".join(self(k) for k in keys) + ")"


@dataclass
class TableLayout:
    """Where a table landed: column letter per key, data rows, total row (or None)."""

    sheet: Worksheet
    letters: dict[str, str]
    first_row: int
    last_row: int
    total_row: int | None

    def column(self, key: str) -> str:
        """Absolute reference of a column's data cells, with the sheet name."""
        letter = self.letters[key]
        sheet = quote_sheetname(self.sheet.title)
        return f"{sheet}!${letter}${self.first_row}:${letter}${self.last_row}"

    def cell(self, key: str, row: int) -> str:
        return f"{quote_sheetname(self.sheet.title)}!${self.letters[key]}${row}"

    @property
    def ref(self) -> str:
        last = get_column_letter(len(self.letters))
        return f"A{LABEL_ROW}:{last}{self.last_row}"


def write_table(ws: Worksheet, cols: Sequence[Col], rows: int, freeze_col: int = 2) -> TableLayout:
    """Write `cols` as a table from row 1: labels, keys, `rows` data rows, then totals."""
    letters = {c.key: get_column_letter(i) for i, c in enumerate(cols, start=1)}
    if len(letters) != len(cols):
        raise ValueError("table columns must have distinct keys")
    first = KEY_ROW + 1
    last = first + rows - 1
    for i, col in enumerate(cols, start=1):
        label = ws.cell(LABEL_ROW, i, col.label)
        label.font, label.fill, label.alignment = _BOLD, _HEADER_FILL, _WRAP
        ws.cell(KEY_ROW, i, col.key).font = _KEY_FONT
        ws.column_dimensions[letters[col.key]].width = col.width
        for r in range(rows):
            row = first + r
            if col.formula is not None:
                value = col.formula(RowRefs(letters, row))
            else:
                value = _cell_value(col.values[r]) if col.values is not None else None
            ws.cell(row, i, value).number_format = col.fmt
    total_row = last + 1 if any(c.total for c in cols) else None
    if total_row is not None:
        _write_totals(ws, cols, letters, first, last, total_row)
    ws.row_dimensions[LABEL_ROW].height = 45
    ws.freeze_panes = ws.cell(first, freeze_col)
    ws.print_title_rows = f"{LABEL_ROW}:{KEY_ROW}"
    return TableLayout(ws, letters, first, last, total_row)


def _write_totals(ws: Worksheet, cols, letters, first: int, last: int, row: int) -> None:
    kinds = {c.total for c in cols if c.total}
    ws.cell(row, 1, "Largest |x|" if kinds == {"maxabs"} else "Total").font = _BOLD
    for i, col in enumerate(cols, start=1):
        span = f"{letters[col.key]}{first}:{letters[col.key]}{last}"
        if col.total == "sum":
            formula = f"=SUM({span})"
        elif col.total == "maxabs":
            formula = f"=MAX(MAX({span}),-MIN({span}))"
        else:
            ws.cell(row, i).fill = _TOTAL_FILL
            continue
        cell = ws.cell(row, i, formula)
        cell.number_format, cell.font, cell.fill = col.fmt, _BOLD, _TOTAL_FILL


def _cell_value(value: Any) -> Any:
    """numpy scalars -> Python; NaN -> empty."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def save_workbook(workbook: Workbook, path: str | Path) -> Path:
    """Save via a temp file and rename: a failure leaves no partial file behind."""
    return write_atomically(path, workbook.save, kind="xlsx")

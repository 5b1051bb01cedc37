"""Tables that print legibly: at most MAX_COLUMNS columns per printed table, the key columns
(year, ages) repeated in every part, the header repeated at the top of every page, page
breaks between tables and never through a header; totals as SUM formulas with stored results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from taxopt.report.book import PRINT_WIDTH_PT, ROW_PT, Sheet, clean, column_points

MAX_COLUMNS = 16
# A part's columns fit the page at this print scale or larger: 10-point text prints at 8.
LEGIBLE_SCALE = 0.8
WIDTH_BUDGET_PT = PRINT_WIDTH_PT / LEGIBLE_SCALE
HEADER_LINE_PT = 12.5
HEADER_CHAR_PX = 7.5  # a bold 10-point character, pixels (a column is about 9 per unit)
MIN_ROWS_ON_PAGE = 4  # a table starts on a new page unless this many rows fit below its header


@dataclass(frozen=True)
class Column:
    """One column: header (with its unit), values, number kind, whether it gets a total."""

    label: str
    values: Sequence[Any]
    kind: str = "money"
    total: bool = False
    width: float = 10.0
    style: str = "body"  # a style of taxopt.report.book, e.g. "center" for yes/no


@dataclass
class Table:
    title: str
    columns: list[Column]
    keys: int = 1  # leading columns repeated in every part (year, ages)
    note: str = ""

    @property
    def rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


@dataclass
class Placed:
    """Where a table's data landed: sheet rows of each data row, total row, columns."""

    title: str
    data_rows: list[int] = field(default_factory=list)
    total_row: int | None = None
    labels: list[str] = field(default_factory=list)


def split(
    table: Table, limit: int = MAX_COLUMNS, budget_pt: float = WIDTH_BUDGET_PT
) -> list[Table]:
    """Parts of at most `limit` columns and `budget_pt` printed width (unscaled), each
    starting with the table's key columns, so every part prints at a legible scale."""
    keys, rest = table.columns[: table.keys], table.columns[table.keys :]
    key_pt = sum(column_points(c.width) for c in keys)
    chunks: list[list[Column]] = [[]]
    used = key_pt
    for col in rest:
        width = column_points(col.width)
        if chunks[-1] and (used + width > budget_pt or len(keys) + len(chunks[-1]) >= limit):
            chunks.append([])
            used = key_pt
        chunks[-1].append(col)
        used += width
    if len(chunks) == 1:
        return [table]
    # As many parts as the budget needs, the columns spread evenly over them.
    size = -(-len(rest) // len(chunks))
    chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
    return [
        replace(table, title=f"{table.title} (part {i + 1} of {len(chunks)})", columns=keys + c)
        for i, c in enumerate(chunks)
    ]


FIRST_COLUMN_MIN = 28.0  # width units: the first column of a sheet of accounts


def first_column_width(labels, minimum: float = FIRST_COLUMN_MIN) -> float:
    """A first column wide enough for its longest label (a width unit is one digit; a
    label's characters average about 0.8 of one in the body font)."""
    return max([minimum, *(0.8 * len(str(label)) + 2.0 for label in labels)])


def widths_for(tables: Sequence[Table], minimum: Sequence[float] = ()) -> list[float]:
    """Width of each sheet column: the widest column any table puts there."""
    n = max([len(t.columns) for t in tables] + [len(minimum)])
    out = [minimum[i] if i < len(minimum) else 0.0 for i in range(n)]
    for table in tables:
        for i, col in enumerate(table.columns):
            out[i] = max(out[i], col.width, _fits_longest_word(col.label))
    return out


def _fits_longest_word(label: str) -> float:
    """Width at which the header's longest word is not broken inside (bold characters of
    HEADER_CHAR_PX in a column of about 9 pixels a unit)."""
    longest = max((len(w) for w in label.split()), default=0)
    return math.ceil(longest * HEADER_CHAR_PX / 9 + 1) if longest > 11 else 0.0


def write_tables(sheet: Sheet, tables: Sequence[Table], new_page_each: bool = True) -> list[Placed]:
    """Write tables one after another (each split to printable parts), flowing down pages."""
    placed = []
    for n, table in enumerate(tables):
        for part in split(table):
            if new_page_each and (n or placed) and sheet.used_pt > 0:
                sheet.page_break()
            placed.append(write_table(sheet, part))
    return placed


def write_table(sheet: Sheet, table: Table) -> Placed:
    """Caption, header, rows (header repeated after each page break), then totals."""
    place = Placed(table.title, labels=[c.label for c in table.columns])
    sheet.keep(2 * ROW_PT + header_pt(table, sheet.widths) + MIN_ROWS_ON_PAGE * ROW_PT)
    _caption(sheet, table, continued=False)
    totals = any(c.total for c in table.columns)
    remaining = table.rows + (1 if totals else 0)
    limit = _rows_this_page(sheet, table, remaining)
    on_page = 0
    for i in range(table.rows):
        if on_page == limit:
            sheet.page_break()
            _caption(sheet, table, continued=True)
            limit, on_page = _rows_this_page(sheet, table, remaining), 0
        row = sheet.advance()
        place.data_rows.append(row)
        for col, column in enumerate(table.columns):
            sheet.write(row, col, column.values[i], column.kind, column.style)
        on_page += 1
        remaining -= 1
    if totals:
        if on_page == limit:
            sheet.page_break()
            _caption(sheet, table, continued=True)
        place.total_row = _totals(sheet, table, place.data_rows)
    if table.note:
        sheet.text_row(table.note, "note")
    sheet.skip()
    return place


def _rows_this_page(sheet: Sheet, table: Table, remaining: int) -> int:
    """Rows to put on the current page: all that are left if they fit, else spread evenly
    over the pages they need, so the last page does not carry a lonely few."""
    if sheet.fit_page:
        return remaining
    here = max(1, math.floor((sheet.page_pt - sheet.used_pt) / ROW_PT))
    if remaining <= here:
        return remaining
    full = max(1, math.floor((sheet.page_pt - 20.0 - header_pt(table, sheet.widths)) / ROW_PT))
    pages = 1 + math.ceil(max(0, remaining - here) / full)
    return min(here, math.ceil(remaining / pages))


def header_pt(table: Table, widths: list[float] | None = None) -> float:
    """Height that shows every wrapped header label in full."""
    lines = 1
    for i, col in enumerate(table.columns):
        width = widths[i] if widths and i < len(widths) else col.width
        per_line = max(4, int((width * 9) / HEADER_CHAR_PX) - 1)
        words, line, count = col.label.split(), 0, 1
        for word in words:
            if line and line + 1 + len(word) > per_line:
                count += 1
                line = len(word)
            else:
                line += (1 if line else 0) + len(word)
            while line > per_line:  # a word longer than the column breaks inside it
                count += 1
                line -= per_line
        lines = max(lines, count)
    return lines * HEADER_LINE_PT + 4.0


def _caption(sheet: Sheet, table: Table, continued: bool) -> None:
    title = table.title + (" (continued)" if continued else "")
    sheet.text_row(title, "section", 20.0)
    if not any(c.label for c in table.columns):
        return  # a list of label and value pairs has no header
    row = sheet.advance(header_pt(table, sheet.widths))
    for col, column in enumerate(table.columns):
        sheet.write(row, col, column.label, style="header")


def _totals(sheet: Sheet, table: Table, data_rows: list[int]) -> int:
    row = sheet.advance()
    sheet.write(row, 0, "Total", style="total")
    for col, column in enumerate(table.columns):
        if col == 0:
            continue
        if not column.total:
            sheet.write(row, col, None, style="total")
            continue
        value = sum(clean(v, column.kind) or 0.0 for v in column.values)
        sheet.formula(row, col, "=" + sum_formula(col, data_rows), value, column.kind, "total")
    return row


def sum_formula(col: int, rows: Sequence[int]) -> str:
    """SUM over a column's cells in `rows` (0-based), one range per contiguous run."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    parts = [
        xl_rowcol_to_cell(a, col)
        if a == b
        else f"{xl_rowcol_to_cell(a, col)}:{xl_rowcol_to_cell(b, col)}"
        for a, b in runs
    ]
    return "SUM(" + ",".join(parts) + ")"

"""Native charts that tell the truth: straight lines, axes from the data with units, explicit
fonts (a typeface for bold too), axes kept visible in Excel, legends below the plot.

Series read ranges of a data sheet: `Series(sheet_title, col, first_row, last_row)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xlsxwriter.chart import Chart
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from taxopt.report.book import FONT, Book

TITLE_FONT = {"name": FONT, "size": 11, "bold": True}
AXIS_TITLE_FONT = {"name": FONT, "size": 9, "bold": False}
AXIS_FONT = {"name": FONT, "size": 9}
LEGEND_FONT = {"name": FONT, "size": 9}
PALETTE = ["#1F4E78", "#C55A11", "#548235", "#7F6000", "#7030A0", "#2E75B6", "#A5A5A5", "#BF9000"]
GRID = {"visible": True, "line": {"color": "#D9D9D9", "width": 0.5}}
WIDTH_PX, HEIGHT_PX = 900, 560  # a chart on a page of its own, under its caption


@dataclass(frozen=True)
class Series:
    name: str
    sheet: str
    col: int
    first_row: int
    last_row: int
    values: Sequence[float] = ()  # the cells' values, for the axis range
    last_col: int | None = None  # a range along row `first_row` instead of down `col`

    def ref(self) -> str:
        a = xl_rowcol_to_cell(self.first_row, self.col, row_abs=True, col_abs=True)
        if self.last_col is not None:
            b = xl_rowcol_to_cell(self.first_row, self.last_col, row_abs=True, col_abs=True)
        else:
            b = xl_rowcol_to_cell(self.last_row, self.col, row_abs=True, col_abs=True)
        return f"={quote_sheetname(self.sheet)}!{a}:{b}"


def nice_bounds(values: Sequence[float], stacked: Sequence[Sequence[float]] = ()) -> tuple:
    """Axis (min, max) from the data: 0 when the data never goes below it, else a round
    number just under the lowest value; a round number just over the highest."""
    lows = [v for v in values if v is not None and math.isfinite(v)]
    highs = list(lows)
    for group in stacked:
        totals = [
            sum(v for v in vs if v is not None and math.isfinite(v))
            for vs in zip(*group, strict=True)
        ]
        highs += totals
    if not highs:
        return 0.0, 1.0
    low, high = min(lows) if lows else 0.0, max(highs)
    low = 0.0 if low >= 0 else -_round_up(-low)
    high = _round_up(high) if high > 0 else 0.0
    if high <= low:
        high = low + 1.0
    return low, high


def _round_up(x: float) -> float:
    if x <= 0:
        return 0.0
    step = 10 ** math.floor(math.log10(x))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * step >= x:
            return m * step
    return 10 * step


def make_chart(
    book: Book,
    kind: str,
    title: str,
    y_title: str,
    categories: Series,
    series: Sequence[Series],
    *,
    subtype: str | None = None,
    y_format: str = "#,##0",
    x_title: str = "Year",
    lines: Sequence[Series] = (),
    y_bounds: tuple[float, float] | None = None,
    colors: Sequence[str] = (),
) -> Chart:
    """A chart of `kind` (column, area, line) over years, with optional straight lines on
    top (bracket tops, spending), styled for print."""
    chart = book.add_chart(kind, subtype)
    palette = list(colors) or PALETTE
    for i, s in enumerate(series):
        chart.add_series(_series(kind, s, categories, palette[i % len(palette)], book.say))
    if lines:
        overlay = book.add_chart("line")
        for j, s in enumerate(lines):
            color = PALETTE[(len(series) + j) % len(PALETTE)]
            dashed = j > 0 and kind == "line"
            overlay.add_series(_series("line", s, categories, color, book.say, dash=dashed))
        chart.combine(overlay)
    stacked = subtype == "stacked"
    values = [v for s in (*series, *lines) for v in s.values]
    groups = [[s.values for s in series]] if stacked else []
    low, high = y_bounds or nice_bounds(values, groups)
    say = book.say
    title, x_title, y_title = (
        say(title),
        say(x_title) if x_title else x_title,
        say(y_title) if y_title else y_title,
    )
    chart.set_title({"name": title, "name_font": TITLE_FONT, "overlay": False})
    category_axis, value_axis = (
        (chart.set_y_axis, chart.set_x_axis)
        if kind == "bar"
        else (chart.set_x_axis, chart.set_y_axis)
    )
    category_axis(
        {
            "name": x_title,
            "name_font": AXIS_TITLE_FONT,
            "num_font": AXIS_FONT,
            "visible": True,
            "interval_unit": max(1, len(categories.values) // 12 or 1),
            "position_axis": "on_tick" if kind in ("line", "area") else "between",
            "line": {"color": "#808080"},
        }
    )
    value_axis(
        {
            "name": y_title,
            "name_font": AXIS_TITLE_FONT,
            "num_font": AXIS_FONT,
            "num_format": y_format,
            "min": low,
            "max": high,
            "visible": True,
            "major_gridlines": GRID,
            "line": {"color": "#808080"},
        }
    )
    chart.set_legend({"position": "bottom", "font": LEGEND_FONT})
    chart.set_chartarea({"border": {"none": True}})
    return chart


def _series(kind: str, s: Series, categories: Series, color: str, say, dash: bool = False) -> dict:
    spec = {
        "name": say(s.name),
        "categories": categories.ref(),
        "values": s.ref(),
    }
    if kind == "line":
        line = {"color": color, "width": 2.0}
        if dash:
            line["dash_type"] = "dash"
        spec.update(line=line, smooth=False, marker={"type": "none"})
    elif kind == "area":
        spec.update(fill={"color": color}, border={"none": True})
    else:
        spec.update(fill={"color": color}, border={"none": True}, gap=40)
    return spec

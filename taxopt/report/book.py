"""The workbook layer under every taxopt report: stored values, explicit fonts, printing.

Written with XlsxWriter because it stores a formula's result beside the formula
(`write_formula(..., value=)`): mail and phone previews, Protected View and
`pandas.read_excel` show the figure without recalculating. openpyxl cannot write cached
results, so it is used only to read workbooks back (tests).

Printing is laid out here, not left to the viewer: every sheet is landscape with an explicit
print scale (the widest content fits the page width), and a sheet flows its blocks (tables,
charts) down pages, breaking before a block that would not fit, so no table is cut through
its header and no chart is split. Pages are US Letter, landscape (set in the file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.chart import Chart
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from taxopt.currency import number_format
from taxopt.io import write_atomically
from taxopt.report.vocabulary import Vocabulary

FONT = "Arial"  # LibreOffice substitutes the metric-compatible Liberation Sans
BODY_PT = 10
ROW_PT = 12.75  # default row height, points (Excel's for 10-point Arial)
MAX_SHEET_TITLE = 31  # Excel's limit
DEFAULT_COL_CHARS = 8.43  # width of a column never set

# Landscape US Letter (points), the paper every sheet names.
PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 792.0, 612.0
MARGIN_SIDE_IN, MARGIN_TOP_IN, MARGIN_HEADER_IN = 0.4, 0.75, 0.3
PRINT_WIDTH_PT = PAGE_WIDTH_PT - 2 * 72 * MARGIN_SIDE_IN
PRINT_HEIGHT_PT = PAGE_HEIGHT_PT - 2 * 72 * MARGIN_TOP_IN
PAGE_FILL = 0.95  # use this share of a page: room for the viewer's rounding of row heights
MIN_SCALE = 10  # percent: Excel's lowest print scale

DISCLAIMER = (
    "Illustration from the stated assumptions, not a guarantee or tax advice; "
    "confirm with a tax professional before acting."
)

NUMBER_FORMATS = {
    "money": "#,##0;-#,##0;0",
    "cents": "#,##0.00;-#,##0.00;0.00",
    "percent": "0.0%",
    "rate": "0.00%",
    "factor": "0.0000",
    "integer": "0",
    "year": "0",
    "text": "General",
}
# Half the displayed unit: a value closer to zero is rounding noise and is stored as 0,
# so no cell shows "-0" or "-0.00".
_NOISE = {"money": 0.5, "cents": 0.005, "percent": 0.0005, "rate": 0.00005, "factor": 0.00005}

_BLUE = "#1F4E78"
_STYLES: dict[str, dict[str, Any]] = {
    "body": {},
    "indented": {"align": "left", "indent": 1},  # text right after a right-aligned figure
    "bold": {"bold": True},
    "title": {"bold": True, "font_size": 16, "font_color": _BLUE},
    "subtitle": {"font_size": 11, "font_color": "#404040"},
    "section": {"bold": True, "font_size": 12, "font_color": _BLUE},
    "header": {
        "bold": True,
        "bg_color": "#DDEBF7",
        "text_wrap": True,
        "valign": "top",
        "bottom": 1,
    },
    "note": {"italic": True, "font_size": 9, "font_color": "#404040"},
    "wrap": {"text_wrap": True, "valign": "top"},
    "wrapnote": {
        "text_wrap": True,
        "valign": "top",
        "italic": True,
        "font_size": 9,
        "font_color": "#404040",
    },
    "total": {"bold": True, "top": 1},
    "big": {"bold": True, "font_size": 13},
    "boldleft": {"bold": True, "align": "left"},
    "center": {"align": "center"},
    "rightnote": {"align": "right", "italic": True, "font_color": "#404040"},
}


def sheet_title(prefix: str, base: str) -> str:
    """`prefix + base` cut to Excel's 31 characters."""
    return (prefix + base)[:MAX_SHEET_TITLE]


def column_points(width_chars: float) -> float:
    """Printed width of a column `width_chars` wide, points: Excel draws a character of the
    default font 7 pixels wide, LibreOffice about 9 (measured on its PDFs); lay out for the
    wider, with the 5-pixel padding."""
    pixels = 0 if width_chars <= 0 else width_chars * 9 + 5
    return pixels * 0.75


def clean(value: Any, kind: str = "text") -> Any:
    """numpy scalars -> Python, NaN/None -> None, rounding noise -> 0 (never "-0")."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return None
        if abs(value) < _NOISE.get(kind, 0.0):
            return 0.0
        return value + 0.0  # -0.0 -> 0.0
    return value


class Book:
    """One workbook: cached formats, the client and date for headers, atomic saving."""

    def __init__(
        self,
        client: str,
        date: dt.date | None = None,
        currency: str = "USD",
        vocabulary: Vocabulary | None = None,
    ):
        self.client = client
        self.currency = currency  # ISO 4217: money cells and texts show its symbol
        self.vocabulary = vocabulary or Vocabulary(currency=currency)
        self.dollar_sign = False  # money cells in USD show '$' (columns in several currencies)
        self.date = date or dt.date.today()
        self._buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(
            self._buffer,
            {
                "in_memory": True,
                "default_format_properties": {"font_name": FONT, "font_size": BODY_PT},
            },
        )
        self._formats: dict[tuple, Format] = {}
        self.sheets: list[Sheet] = []

    def format(self, style: str = "body", kind: str = "text", **extra: Any) -> Format:
        key = (style, kind, self.currency, self.dollar_sign, tuple(sorted(extra.items())))
        if key not in self._formats:
            props = {
                "font_name": FONT,
                "font_size": BODY_PT,
                "valign": "top",
                **_STYLES[style],
                **extra,
            }
            if kind in ("money", "cents"):
                props["num_format"] = number_format(
                    NUMBER_FORMATS[kind], self.currency, self.dollar_sign
                )
            elif kind != "text":
                props["num_format"] = NUMBER_FORMATS[kind]
            self._formats[key] = self.workbook.add_format(props)
        return self._formats[key]

    @contextlib.contextmanager
    def speaking(self, currency: str, vocabulary: Vocabulary):
        """Write in `currency` and `vocabulary` inside the block (one result's sheets)."""
        saved = self.currency, self.vocabulary
        self.currency, self.vocabulary = currency, vocabulary
        try:
            yield self
        finally:
            self.currency, self.vocabulary = saved

    def say(self, text: str) -> str:
        """A text written in US terms and dollars, in the rule set's words and currency."""
        return self.vocabulary.say(text)

    def add_sheet(self, title: str, client: str | None = None) -> Sheet:
        sheet = Sheet(self, title, client or self.client)
        self.sheets.append(sheet)
        return sheet

    def add_chart(self, kind: str, subtype: str | None = None) -> Chart:
        options = {"type": kind}
        if subtype:
            options["subtype"] = subtype
        return self.workbook.add_chart(options)

    def save(self, path: str | Path) -> Path:
        """Finish every sheet's print setup and write the file atomically."""
        for sheet in self.sheets:
            sheet.finish()
        self.workbook.close()
        data = keep_axes_shown(self._buffer.getvalue())
        return write_atomically(path, lambda tmp: tmp.write_bytes(data), kind="xlsx")


def keep_axes_shown(xlsx: bytes) -> bytes:
    """Write `<c:delete val="0"/>` on every chart axis that does not say otherwise.

    XlsxWriter leaves the element out for a visible axis; some Excel versions then hide
    the axis. The element follows `c:scaling` in every axis (ECMA-376 CT_CatAx, CT_ValAx).
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/charts/chart"):
                text = data.decode("utf-8")
                text = re.sub(r"</c:scaling>(?!<c:delete)", '</c:scaling><c:delete val="0"/>', text)
                data = text.encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


class Sheet:
    """A worksheet with a write cursor that flows blocks down printed pages.

    Call `set_widths` first (it fixes the print scale from the widest row of columns), then
    place blocks with `keep(height)`: a block that does not fit on the current page starts
    a new one. Heights are in points before scaling.
    """

    def __init__(self, book: Book, title: str, client: str):
        self.book = book
        self.title = title
        self.ws: Worksheet = book.workbook.add_worksheet(title)
        self.client = client
        self.row = 0
        self.widths: list[float] = []
        self.scale = 100
        self.fit_page = False
        self.used_pt = 0.0  # height used on the current page
        self.breaks: list[int] = []
        self.heights: dict[int, float] = {}
        self.print_cols: int | None = None  # print only the first columns (data beyond)
        self.chart_cols = 0  # columns that charts reach to (for the print area)
        self.fixed_scale: int | None = None  # print at this scale, pages across if need be
        self.ws.set_default_row(ROW_PT)
        self.ws.hide_gridlines(2)

    # -- geometry ----------------------------------------------------------------------

    def set_widths(self, widths: Sequence[float]) -> None:
        self.widths = list(widths)
        for col, width in enumerate(self.widths):
            self.ws.set_column(col, col, width)
        self._rescale()

    def content_width_pt(self) -> float:
        extra = max(0, self.chart_cols - len(self.widths)) * column_points(DEFAULT_COL_CHARS)
        return sum(column_points(w) for w in self.widths) + extra

    def _rescale(self) -> None:
        ratio = PRINT_WIDTH_PT / max(self.content_width_pt(), 1.0)
        self.scale = max(MIN_SCALE, min(100, math.floor(ratio * 100)))

    @property
    def page_pt(self) -> float:
        """Usable page height in unscaled points."""
        return PRINT_HEIGHT_PT * PAGE_FILL * 100.0 / self.scale

    def keep(self, height_pt: float) -> None:
        """Start a new page before a block of `height_pt` that would not fit on this one."""
        if self.fit_page:
            return
        if self.used_pt > 0 and self.used_pt + height_pt > self.page_pt:
            self.page_break()

    def page_break(self) -> None:
        if self.row > 0 and (not self.breaks or self.breaks[-1] != self.row):
            self.breaks.append(self.row)
        self.used_pt = 0.0

    def skip(self, rows: int = 1) -> None:
        """Leave blank rows (at the top of a page, none)."""
        for _ in range(rows):
            if self.used_pt > 0:
                self.used_pt += ROW_PT
                self.row += 1

    def advance(self, height_pt: float = ROW_PT) -> int:
        """The current row, then move down one row of `height_pt`."""
        row = self.row
        if height_pt != ROW_PT:
            self.ws.set_row(row, height_pt)
            self.heights[row] = height_pt
        self.used_pt += height_pt
        self.row += 1
        return row

    # -- cells -------------------------------------------------------------------------

    def write(self, row: int, col: int, value: Any, kind: str = "text", style: str = "body"):
        value = clean(value, kind)
        fmt = self.book.format(style, kind)
        if value is None:
            self.ws.write_blank(row, col, None, fmt)
        elif isinstance(value, bool):
            self.ws.write_string(row, col, "yes" if value else "no", fmt)
        elif isinstance(value, float):
            self.ws.write_number(row, col, value, fmt)
        else:
            self.ws.write_string(row, col, self.book.say(str(value)), fmt)

    def formula(
        self, row: int, col: int, formula: str, value: float, kind: str, style: str = "body"
    ) -> None:
        """A formula with its result stored, so viewers that do not recalculate show it."""
        self.ws.write_formula(row, col, formula, self.book.format(style, kind), clean(value, kind))

    def text_row(self, text: str, style: str = "body", height_pt: float = ROW_PT) -> int:
        row = self.advance(height_pt)
        self.write(row, 0, text, style=style)
        return row

    def wrapped(self, text: str, last_col: int, lines: int = 2, style: str = "wrap") -> int:
        """A paragraph merged across columns 0..last_col, `lines` lines high."""
        height = max(1, lines) * 13.0
        row = self.advance(height)
        text = self.book.say(text)
        self.ws.merge_range(row, 0, row, last_col, text, self.book.format(style))
        return row

    def insert_chart(self, chart: Chart, col: int, width_px: int, height_px: int) -> int:
        """Place a chart at the cursor on one page; return the rows it covers."""
        height_pt = height_px * 0.75
        self.keep(height_pt)
        row = self.row
        chart.set_size({"width": width_px, "height": height_px})
        self.ws.insert_chart(row, col, chart, {"object_position": 3})
        rows = math.ceil(height_pt / ROW_PT)
        self.row += rows
        self.used_pt += rows * ROW_PT
        self.note_chart(col, width_px)
        self._rescale()
        return rows

    def note_chart(self, col: int, width_px: int) -> None:
        """Remember how far right a chart reaches, so the print area covers it.

        The file anchors a chart to cells computed at Excel's 7 pixels a width unit;
        LibreOffice stretches it over the same cells, so count columns that way, plus one.
        """
        x = width_px
        while x > 0:
            width = self.widths[col] if col < len(self.widths) else DEFAULT_COL_CHARS
            x -= width * 7 + 5
            col += 1
        self.chart_cols = max(self.chart_cols, col + 1)

    # -- printing ----------------------------------------------------------------------

    def fit_one_page(self) -> None:
        """Print this sheet on one page: the scale fits both its width and its height."""
        self.fit_page = True

    def finish(self) -> None:
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(1)  # US Letter
        ws.set_margins(
            left=MARGIN_SIDE_IN, right=MARGIN_SIDE_IN, top=MARGIN_TOP_IN, bottom=MARGIN_TOP_IN
        )
        if self.fit_page:
            height = sum(self.heights.get(r, ROW_PT) for r in range(self.row))
            by_height = PRINT_HEIGHT_PT * PAGE_FILL / max(height, 1.0)
            by_width = PRINT_WIDTH_PT / max(self.content_width_pt(), 1.0)
            self.scale = max(MIN_SCALE, min(100, math.floor(min(by_height, by_width) * 100)))
        if self.fixed_scale is not None:
            self.scale = self.fixed_scale
        ws.set_print_scale(self.scale)
        cols = max(self.print_cols or len(self.widths), self.chart_cols)
        if cols:
            ws.print_area(0, 0, max(self.row, 1) - 1, cols - 1)
        if self.breaks and not self.fit_page:
            ws.set_h_pagebreaks(self.breaks)
        client = _escape(self.client)
        date = self.book.date.isoformat()
        small = f'&"{FONT},Regular"&8 '
        ws.set_header(
            f'&L{small}{client}&C&"{FONT},Bold"&9 &A&R{small}{date}', margin=MARGIN_HEADER_IN
        )
        ws.set_footer(
            f"&L{small}{_escape(DISCLAIMER)}&R{small}Page &P of &N", margin=MARGIN_HEADER_IN
        )


def _escape(text: str) -> str:
    return text.replace("&", "&&")

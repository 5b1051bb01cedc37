"""The first sheet a client reads, on one printed landscape page: the plan in plain words,
the headline figures with their risk, the value against the rule of thumb, one chart."""

from __future__ import annotations

import math

from taxopt.report import story
from taxopt.report.book import Sheet, column_points
from taxopt.report.charts import Series, make_chart

TEXT_COLS = 3  # label, value, note
CHART_PX = (400, 380)
CHART_COL_CHARS = 10.0
# Text columns, a gap, then columns under the chart wide enough for it in any viewer.
WIDTHS = [34.0, 12.0, 30.0, 1.0] + [CHART_COL_CHARS] * math.ceil(
    CHART_PX[0] / (CHART_COL_CHARS * 9 + 5)
)
CHAR_PT = 5.6  # average width of a character of 10-point Arial as LibreOffice sets it, points


def _lines(text: str, width_pt: float, char_pt: float = CHAR_PT) -> int:
    return max(1, math.ceil(len(text) * char_pt / (width_pt - 6)))


def write_first_sheet(sheet: Sheet, result, chart_data: dict[str, Series], client: str) -> None:
    plan = result.plan
    sheet.set_widths(WIDTHS)
    sheet.fit_one_page()
    text_width = sum(column_points(w) for w in WIDTHS[:TEXT_COLS])

    def paragraph(text: str, style: str = "wrap") -> None:
        lines = _lines(text, text_width)
        row = sheet.advance(13.0 * lines + 2)
        text = sheet.book.say(text)
        sheet.ws.merge_range(row, 0, row, TEXT_COLS - 1, text, sheet.book.format(style))

    sheet.text_row(f"{client}: the plan", "title", 24.0)
    chart_row = sheet.row
    paragraph(
        f"Prepared {sheet.book.date:%B %d, %Y}. Amounts are in today's dollars "
        f"({plan.start_year} dollars) unless marked nominal. " + story.assumptions_sentence(result),
        "wrapnote",
    )
    sheet.text_row("What the plan recommends", "section", 20.0)
    paragraph(story.spending_sentence(result))
    chosen = story.scenario_sentence(result)
    if chosen:
        paragraph(chosen)
    placement = story.tier_placement(result)
    if placement:
        paragraph("Where each tier lives at retirement: " + "; ".join(placement) + ".")
    if sheet.book.vocabulary.has_conversions:
        paragraph(story.conversion_sentence(result))
    paragraph(story.withdrawal_order(result))
    for sentence in story.claiming_sentences(result):
        paragraph(sentence)
    sheet.text_row("The figures", "section", 20.0)
    note_pt = column_points(WIDTHS[2])
    for h in story.headlines(result):
        row = sheet.advance(max(15.0, 12.0 * _lines(h.note, note_pt, 4.6) + 2))
        sheet.write(row, 0, h.label, style="wrap")
        sheet.write(row, 1, h.value, h.kind, "bold")
        sheet.write(row, 2, h.note, style="wrapnote")
    versus = story.against_rule_of_thumb(result)
    title = "Against the rule of thumb"
    if versus is not None:
        title += f" ({versus.label.removeprefix('Rule of thumb: ')})"
    sheet.text_row(title, "section", 20.0)
    if versus is None:
        paragraph("Not compared with the rule of thumb in this run.")
    else:
        rows = [
            ("More spending a year (today's $)", versus.spending_gain),
            ("Larger estate after tax (today's $)", versus.estate_gain),
            ("Lifetime tax saved (today's $)", versus.tax_saved),
        ]
        if versus.tax_saved_pv is not None:  # the figure the summary line uses
            rows.append(("Tax saved, present value (today's $)", versus.tax_saved_pv))
        for label, value in rows:
            row = sheet.advance()
            sheet.write(row, 0, label)
            sheet.write(row, 1, value, "money", "bold")
        paragraph(versus.explanation)
    paragraph(
        "The next sheets: this year's actions, the year-by-year instructions, the inputs to "
        "confirm, taxes, charts, the rules with their sources and a glossary.",
        "wrapnote",
    )
    end_row = sheet.row
    sheet.row = chart_row
    chart = income_chart(sheet, result, chart_data)
    chart.set_size({"width": CHART_PX[0], "height": CHART_PX[1]})
    sheet.ws.insert_chart(chart_row, TEXT_COLS + 1, chart, {"object_position": 3})
    sheet.note_chart(TEXT_COLS + 1, CHART_PX[0])
    sheet.row = max(end_row, chart_row + math.ceil(CHART_PX[1] * 0.75 / 15.0))


def income_chart(sheet: Sheet, result, data: dict[str, Series]):
    """Income sources stacked against spending after tax, today's dollars."""
    sources = [
        s
        for name, s in data.items()
        if name.startswith("Withdrawals from") or name in ("Social Security and pensions", "Wages")
    ]
    sources = [s for s in sources if any(abs(v) > 0.5 for v in s.values)]
    return make_chart(
        sheet.book,
        "column",
        "Where the money comes from, and what is spent",
        "Today's dollars a year",
        data["Year"],
        sources,
        subtype="stacked",
        lines=[data["Spending after tax"]],
    )

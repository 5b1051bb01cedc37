"""Reference sheets: the rule set with a source for every value, the glossary, and the
reconciliation of the optimizer with the ledger (the only sheet with solver details)."""

from __future__ import annotations

from taxopt.report.book import ROW_PT, Sheet
from taxopt.report.labels import glossary
from taxopt.report.tables import Column, Table, write_tables
from taxopt.rules_report import format_value, rule_values


def write_rules(sheet: Sheet, rules) -> None:
    meta = rules.meta
    sheet.set_widths([30, 36, 64])
    sheet.text_row(f"Tax law: {meta.title}", "title", 24.0)
    for label, value in (
        ("Rule set", rules.name),
        ("Jurisdiction", meta.jurisdiction),
        ("Year of the amounts", str(meta.year)),
        ("Extends", rules.extends or "(none)"),
        ("Indexing", "amounts marked indexed grow with the plan's inflation after that year"),
    ):
        row = sheet.advance()
        sheet.write(row, 0, label, style="bold")
        sheet.write(row, 1, value)
    if meta.description:
        sheet.wrapped(meta.description, 2, lines=3)
    sheet.skip()
    values = [v for v in rule_values(rules) if v.table not in {"meta", "extends"}]
    if not sheet.book.vocabulary.is_us:  # switches the rule set leaves off (rmd = false)
        values = [v for v in values if v.value is not False]
    widths = [30.0, 36.0, 64.0]
    header = ["Item", "Value", "Source"]
    sheet.keep(20 + 30 + 4 * ROW_PT)
    sheet.text_row("Every value with its source", "section", 20.0)
    _header(sheet, header)
    for v in values:
        cells = [_breakable(v.path), format_value(v.value, v.path), v.source]
        lines = max(_lines(text, width) for text, width in zip(cells, widths, strict=True))
        height = max(ROW_PT, 12.5 * lines + 2)
        if sheet.used_pt + height > sheet.page_pt:
            sheet.page_break()
            _header(sheet, header)
        row = sheet.advance(height)
        for col, text in enumerate(cells):
            sheet.ws.write_string(row, col, sheet.book.say(text), sheet.book.format("wrap"))


def _breakable(path: str) -> str:
    """A rule path that may wrap after its dots, brackets and underscores (zero-width
    spaces), so a long path shows in full in a narrow column."""
    for mark in (".", "[", "_"):
        path = path.replace(mark, mark + "\u200b")
    return path


def _header(sheet: Sheet, labels: list[str]) -> None:
    row = sheet.advance(18.0)
    for col, label in enumerate(labels):
        sheet.write(row, col, label, style="header")


def _lines(text: str, width_chars: float) -> int:
    """Lines a wrapped text takes in a column (about 1.1 characters a width unit)."""
    per_line = max(8, int(width_chars * 1.1))
    return max(1, -(-len(text) // per_line))


def write_glossary(sheet: Sheet, rules=None) -> None:
    sheet.set_widths([22, 100])
    sheet.text_row("Glossary", "title", 24.0)
    sheet.skip()
    for term, meaning in glossary(rules):
        row = sheet.advance(12.5 * _lines(meaning, 100) + 3)
        sheet.write(row, 0, term, style="bold")
        sheet.ws.write_string(row, 1, sheet.book.say(meaning), sheet.book.format("wrap"))


def write_reconciliation(sheet: Sheet, result) -> None:
    frame = result.reconciliation
    errors = [c for c in frame.columns if c.endswith("_error")]
    sheet.set_widths([6, *([10.5] * (3 * len(errors)))])
    sheet.text_row("Reconciliation: the optimizer against the ledger", "title", 24.0)
    sheet.text_row(
        "The ledger replays the optimizer's decisions with the tax calculator; every other "
        "sheet shows the ledger's figures. Nominal dollars.",
        "note",
    )
    sheet.skip()
    size = result.model_size or {}
    facts = [
        ("Mode", result.mode),
        ("Method", result.method),
        ("Solver status", result.status),
        ("Objective value", "" if result.objective is None else f"{result.objective:,.2f}"),
        ("Build seconds", f"{result.build_seconds:.3f}"),
        ("Solve seconds", f"{result.solve_seconds:.3f}"),
        *((f"Model {k.replace('_', ' ')}", f"{v:,}") for k, v in size.items()),
        ("Largest yearly difference ($)", f"{result.reconciliation_max_abs_error:,.2f}"),
    ]
    for label, value in facts:
        row = sheet.advance()
        sheet.ws.merge_range(row, 0, row, 2, sheet.book.say(label), sheet.book.format("bold"))
        sheet.ws.merge_range(row, 3, row, 5, str(value), sheet.book.format("body"))
    sheet.skip()
    cols = [Column("Year", list(frame["year"]), "year", width=6)]
    for error in errors:
        what = error.removesuffix("_error").replace("_", " ")
        cols += [
            Column(
                f"Model: {what} ($)", list(frame[f"model_{error.removesuffix('_error')}"]), "cents"
            ),
            Column(
                f"Ledger: {what} ($)",
                list(frame[f"ledger_{error.removesuffix('_error')}"]),
                "cents",
            ),
            Column(f"Difference: {what} ($)", list(frame[error]), "cents"),
        ]
    write_tables(sheet, [Table("Each year", cols)], new_page_each=False)

"""Reference sheets: the rule set with a source for every value, the glossary, and the
reconciliation of the optimizer with the ledger (the only sheet with solver details)."""

from __future__ import annotations

from taxopt.report.book import Sheet
from taxopt.report.labels import GLOSSARY
from taxopt.report.tables import Column, Table, write_table, write_tables
from taxopt.rules_report import format_value, rule_values


def write_rules(sheet: Sheet, rules) -> None:
    meta = rules.meta
    sheet.set_widths([34, 44, 90])
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
    write_table(
        sheet,
        Table(
            "Every value with its source",
            [
                Column("Item", [v.path for v in values], "text", width=34),
                Column("Value", [format_value(v.value, v.path) for v in values], "text", width=44),
                Column("Source", [v.source for v in values], "text", width=90),
            ],
        ),
    )


def write_glossary(sheet: Sheet) -> None:
    sheet.set_widths([24, 110])
    sheet.text_row("Glossary", "title", 24.0)
    sheet.skip()
    for term, meaning in GLOSSARY:
        row = sheet.advance(28.0 if len(meaning) > 120 else 15.0)
        sheet.write(row, 0, term, style="bold")
        sheet.ws.write_string(row, 1, meaning, sheet.book.format("wrap"))


def write_reconciliation(sheet: Sheet, result) -> None:
    frame = result.reconciliation
    errors = [c for c in frame.columns if c.endswith("_error")]
    sheet.set_widths([24, *([13] * (1 + 3 * len(errors)))])
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
        sheet.write(row, 0, label, style="bold")
        sheet.write(row, 1, str(value))
    sheet.skip()
    cols = [Column("Year", list(frame["year"]), "year", width=6)]
    for error in errors:
        what = error.removesuffix("_error").replace("_", " ")
        cols += [
            Column(f"Model: {what} ($)", list(frame[f"model_{error.removesuffix('_error')}"]), "cents"),
            Column(f"Ledger: {what} ($)", list(frame[f"ledger_{error.removesuffix('_error')}"]), "cents"),
            Column(f"Difference: {what} ($)", list(frame[error]), "cents"),
        ]
    write_tables(sheet, [Table("Each year", cols)], new_page_each=False)

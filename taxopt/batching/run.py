"""batch(households, rules) -> DataFrame: every household under every rule set, resumable.

The steps: read the households (taxopt.batching.households), make one plain unit of work per
household x rule set with its key (taxopt.batching.store), skip the keys the output folder's
journal already holds, run the rest on an engine (taxopt.batching.engines), append each row to
the journal as it comes, then write the results table, the per-household files and the
summary workbook.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import taxopt
from taxopt.batching.engines import run_units, worker_count
from taxopt.batching.households import Household, HouseholdsInput, read_households
from taxopt.batching.progress import Progress
from taxopt.batching.store import (
    REDO_STATUSES,
    SUMMARY,
    Journal,
    artifact_path,
    rules_digest,
    unit_key,
    write_table,
)
from taxopt.compare import FIGURES, RulesInput, _label, _load_rule_sets
from taxopt.errors import InputError
from taxopt.io import write_atomically, write_json
from taxopt.plan import Plan

FIGURES_COLUMNS = [  # the row's figures, in the order the table shows them
    "sustainable_spending",
    "after_tax_estate",
    "lifetime_tax",
    "lifetime_tax_pv",
    "lifetime_agi",
    "effective_rate",
    "first_year_withdrawal_rate",
    "safe_spending",
    "success_rate",
    "gain_in_spending_vs_guide",
    "gain_in_estate_vs_guide",
    "tax_saved_vs_guide",
    "first_year",
    "first_year_conversions",
    "first_year_withdrawals",
    "first_year_contributions",
]
LEADING = ["household", "rules", "status", "solve_status", *FIGURES_COLUMNS]
TRAILING = [
    "mode",
    "method",
    "reconciliation_max_abs_error",
    "optimize_seconds",
    "seconds",
    "error",
    "key",
]
TEXT = ("status", "solve_status", "mode", "method", "error")
TIMING = ("seconds", "optimize_seconds")  # columns that differ run to run


def batch(
    households: HouseholdsInput,
    rules: RulesInput | Sequence[RulesInput],
    *,
    template: Plan | dict | str | Path | None = None,
    out: str | Path | None = None,
    mode: str | None = None,
    baselines: bool = True,
    workers: int | None = None,
    dask: str | None = None,
    json: bool = False,
    workbooks: bool = False,
    summary: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Optimize every household under every rule set; one row per pair (see taxopt.batching.work).

    households: a folder of plan files, plan files, Plans or plan dicts; or a household table
    (CSV, Excel, Parquet path or a DataFrame) with `template`, a plan whose fields the
    table's columns set (taxopt.batching.paths). rules: rule-set names, files or RuleSets.
    out: a folder for results.csv/.parquet and the journal that makes a re-run resume;
    `json`/`workbooks` add households/<household>__<rules>.json/.xlsx, `summary` summary.xlsx.
    workers: local processes (default: every core; 1 runs here). dask: a scheduler address or
    `local:N`. mode: fast or exact (default: each plan's option). baselines: also replay the
    rules of thumb (the gain columns). progress: a progress line (default: on a terminal).
    """
    if mode not in (None, "fast", "exact"):
        raise InputError(f"batch: mode '{mode}' is unknown; use fast or exact")
    if workers is not None and workers < 1:
        raise InputError(f"batch: workers is {workers}; give 1 or more")
    if (json or workbooks or summary) and out is None:
        raise InputError("batch: per-household files and the summary need an output folder (out)")
    if out is not None:
        _check_folder(Path(out))
    people = read_households(households, template)
    labelled = _label(_load_rule_sets(rules), lambda item: item[1].name)
    rule_sets = {label: rule_set for label, (_given, rule_set) in labelled}
    settings = {"mode": mode, "baselines": baselines}
    units = _units(people, rule_sets, settings, {"json": json, "workbook": workbooks})

    journal = Journal(out) if out is not None else None
    rows = journal.read() if journal else {}
    todo = [u for u in units if not _done(u, rows.get(u["key"]), out)]
    rows = {u["key"]: rows[u["key"]] for u in units if u["key"] in rows}
    bar = Progress(len(todo), len(units) - len(todo), worker_count(workers, dask), progress)
    finished = False
    try:
        for outcome in run_units(todo, rule_sets, workers=workers, dask_target=dask):
            row = outcome["row"]
            if out is not None:
                _write_artifacts(out, row, outcome["artifacts"])
                journal.append(row)
            rows[row["key"]] = row
            bar.update(row)
        finished = True
    finally:
        bar.close()
        if journal:
            journal.close()
        if out is not None and not finished:  # interrupted: keep a table of what is done
            write_table(results_table(units, rows), out)
    table = results_table(units, rows)
    table.attrs.update(computed=len(todo), reused=len(units) - len(todo))
    if out is not None:
        write_table(table, out)
        if summary:
            from taxopt.batching.summary import write_summary

            write_summary(table, Path(out) / SUMMARY)
    return table


def _check_folder(out: Path) -> None:
    """The output folder, created; refused before any work if it cannot hold the results."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: the output folder is a file; give a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"{out}: the output folder is not writable; give another folder")


def _units(people: list[Household], rule_sets: dict, settings: dict, outputs: dict) -> list[dict]:
    version = taxopt.__version__
    digests = {label: rules_digest(r) for label, r in rule_sets.items()}
    units = []
    for household in people:
        for label in rule_sets:
            key = unit_key(
                household.id,
                household.plan,
                household.problem,
                label,
                digests[label],
                settings,
                version,
            )
            units.append(
                {
                    "household": household.id,
                    "source": household.source,
                    "plan": household.plan,
                    "problem": household.problem,
                    "cells": [list(cell) for cell in household.cells],
                    "rules": label,
                    "settings": {**settings, **outputs},
                    "key": key,
                }
            )
    return units


def _done(unit: dict, row: dict | None, out: str | Path | None) -> bool:
    """Whether a journal row answers this unit (and its asked-for files exist)."""
    if row is None or row.get("status") in REDO_STATUSES:
        return False
    if row.get("status") != "ok":
        return True
    wanted = [s for s, flag in ((".json", "json"), (".xlsx", "workbook")) if unit["settings"][flag]]
    return all(artifact_path(out, unit["household"], unit["rules"], s).exists() for s in wanted)


def _write_artifacts(out: str | Path, row: dict, artifacts: dict) -> None:
    if "json" in artifacts:
        write_json(artifact_path(out, row["household"], row["rules"], ".json"), artifacts["json"])
    if "xlsx" in artifacts:
        data = artifacts["xlsx"]
        write_atomically(
            artifact_path(out, row["household"], row["rules"], ".xlsx"),
            lambda path: path.write_bytes(data),
        )


def results_table(units: list[dict], rows: dict[str, dict]) -> pd.DataFrame:
    """The rows in input order (household, then rule set), with the differences from each
    household's first rule set (<figure>_vs_first)."""
    ordered = [rows[u["key"]] for u in units if u["key"] in rows]
    table = pd.DataFrame(ordered)
    for column in [*LEADING, *TRAILING]:
        if column not in table:
            table[column] = "" if column in TEXT else math.nan
    table[list(TEXT)] = table[list(TEXT)].fillna("")  # a failed row has no mode or method
    first_rules = units[0]["rules"] if units else None
    first = table[table["rules"] == first_rules].set_index("household")
    first_ok = table["household"].map(first["status"] == "ok").astype("boolean").fillna(False)
    usable = (table["status"] == "ok") & first_ok.astype(bool)
    changes = []
    for figure in FIGURES:
        column = f"{figure}_vs_first"
        difference = table[figure].astype(float) - table["household"].map(first[figure]).astype(
            float
        )
        table[column] = difference.where(usable)
        changes.append(column)
    shares = sorted(c for c in table.columns if c.startswith("share_"))
    weights = sorted(c for c in table.columns if c.startswith("weight_"))
    columns = [*LEADING, *changes, *shares, *weights, *TRAILING]
    return table[columns].reset_index(drop=True)

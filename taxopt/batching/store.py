"""Where a batch keeps its rows: a journal appended as each household finishes, and the
results table (CSV, and Parquet when pyarrow is installed) written from it.

Each household x rule set is keyed by a hash of its plan data, the rule set's content (the
rule file and every file it extends, as merged), the settings that change a result (mode,
baselines) and taxopt's version. A re-run reads the journal and skips the keys already done;
a changed household, rule file or version has a new key and runs again.

The journal (`journal.jsonl`, one JSON row a line) is appended with one write per row and
flushed to disk, so an interrupted run loses at most the households in flight; a line cut
short by a crash is ignored when read. The results table is written atomically (a temporary
file renamed over the old one) at the end of a run, and when a run is interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd

from taxopt.io import write_atomically
from taxopt.rules import RuleSet

JOURNAL = "journal.jsonl"
TABLE = "results"  # results.csv, results.parquet
PER_HOUSEHOLD = "households"  # folder of per-household JSON and workbooks
SUMMARY = "summary.xlsx"
REDO_STATUSES = {"crashed"}  # rows a re-run computes again even with an unchanged key


def rules_digest(rules: RuleSet) -> str:
    """A hash of the rule set's content: the merged data of its file and what it extends."""
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()


def unit_key(
    household: str,
    plan: dict | None,
    problem: str | None,
    rules: str,
    digest: str,
    settings: dict,
    version: str,
) -> str:
    """The key of one household x rule set: equal keys give equal rows."""
    payload = {
        "household": household,
        "plan": plan,
        "problem": problem,
        "rules": rules,
        "rules_digest": digest,
        "settings": settings,
        "taxopt": version,
    }
    text = json.dumps(payload, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Journal:
    """The rows finished so far, one JSON line each, appended as they come."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / JOURNAL
        self._fd: int | None = None

    def read(self) -> dict[str, dict]:
        """The latest row of each key; a torn last line (an interrupted write) is skipped."""
        rows: dict[str, dict] = {}
        if not self.path.exists():
            return rows
        with self.path.open("rb") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(row, dict) and "key" in row:
                    rows[row["key"]] = row
        return rows

    def append(self, row: dict) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if os.fstat(self._fd).st_size and not _ends_with_newline(self.path):
                os.write(self._fd, b"\n")  # a torn line from a killed run stays on its own
        line = json.dumps(row, default=_plain, allow_nan=True) + "\n"
        os.write(self._fd, line.encode())  # one write per row: the line is whole or absent
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def has_parquet() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """results.csv, and results.parquet when pyarrow is installed; each written atomically."""
    folder = Path(folder)
    written = [write_atomically(folder / f"{TABLE}.csv", lambda p: table.to_csv(p, index=False))]
    if has_parquet():
        written.append(
            write_atomically(
                folder / f"{TABLE}.parquet", lambda p: table.to_parquet(p, index=False)
            )
        )
    return written


def artifact_path(folder: str | Path, household: str, rules: str, suffix: str) -> Path:
    """households/<household>__<rules>.<suffix> (ids a file name cannot hold are cleaned)."""
    name = f"{_safe(household)}__{_safe(rules)}{suffix}"
    return Path(folder) / PER_HOUSEHOLD / name


def _safe(text: str) -> str:
    """The text if a file name can hold it; else a cleaned form plus a short hash of the
    text, so that two ids never share a file."""
    cleaned = re.sub(r"[^\w.-]+", "_", text).strip("._")
    if cleaned == text:
        return text
    return f"{cleaned or 'x'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"

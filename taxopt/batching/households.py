"""The households of a batch: plan files, a folder of them, or a table plus a template plan.

Each household becomes plain plan data (a dict, as a plan file holds it) with an id and a
label for messages. Nothing is validated here beyond the table's shape: a household whose
data is wrong fails on its own row when it runs, naming the household, the column and the fix.

A table (CSV, Excel, Parquet or a DataFrame) has one row per household. The column
`household` names it (default: its row, as a spreadsheet numbers it); every other column is
a field path into the template plan (see taxopt.batching.paths).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from taxopt.batching.paths import ColumnPath, apply_cells, is_blank, plain, resolve_columns
from taxopt.compare import _label
from taxopt.errors import InputError, TaxoptError
from taxopt.plan import Plan, plan_from_dict, read_plan_data

ID_COLUMN = "household"
PLAN_SUFFIXES = (".toml", ".json")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".parquet", ".pq")
PARQUET_HINT = "pip install 'taxopt[batch]' (pyarrow)"


@dataclass(frozen=True)
class Household:
    id: str
    source: str  # names the household in messages: "clients.csv: household 'h1'"
    plan: dict | None  # plan data as a plan file holds it; None when it could not be read
    cells: tuple[tuple[str, str, object], ...] = ()  # (column, plan field, value) set on it
    problem: str | None = None  # why the plan data could not be read


HouseholdsInput = pd.DataFrame | str | Path | Plan | dict | Iterable


def read_households(given: HouseholdsInput, template: Plan | dict | str | Path | None = None):
    """The batch's households, in order, with distinct ids."""
    if isinstance(given, pd.DataFrame) or _is_table_file(given):
        if template is None:
            raise InputError(
                f"{_name(given)}: a household table needs a template plan (--template PLAN) "
                "whose fields its columns override"
            )
        frame, source, first_row = _read_table(given)
        return table_households(frame, template, source, first_row)
    if template is not None:
        raise InputError(
            "--template applies to a household table (CSV, Excel, Parquet); plan files are "
            "complete plans, so drop --template or give a table"
        )
    households = _plan_households(given)
    if not households:
        raise InputError("batch: no households given; pass plan files, a folder or a table")
    return _distinct(households)


def table_households(
    frame: pd.DataFrame, template: Plan | dict | str | Path, source: str, first_row: int = 1
) -> list[Household]:
    """One household per row: the template with the row's non-blank cells set."""
    template_data, defaults = _template(template)
    columns = [str(c) for c in frame.columns]
    ids = _row_ids(frame, source, first_row)
    paths = resolve_columns([c for c in columns if c != ID_COLUMN], template_data, defaults, source)
    households = []
    for row_id, (_, row) in zip(ids, frame.iterrows(), strict=True):
        cells = [(path, row[path.column]) for path in paths]
        households.append(
            Household(
                id=row_id,
                source=f"{source}: household '{row_id}'",
                plan=apply_cells(template_data, defaults, cells),
                cells=tuple(
                    (path.column, path.field, plain(value))
                    for path, value in cells
                    if not is_blank(value)
                ),
            )
        )
    return households


# ---------------------------------------------------------------------------------------
# Tables


def _is_table_file(given: object) -> bool:
    return isinstance(given, str | Path) and Path(given).suffix.lower() in TABLE_SUFFIXES


def _name(given: object) -> str:
    return str(given) if isinstance(given, str | Path) else "households"


def _read_table(given: pd.DataFrame | str | Path) -> tuple[pd.DataFrame, str, int]:
    """(table, name for messages, row number of the first household as a user counts it)."""
    if isinstance(given, pd.DataFrame):
        return given.reset_index(drop=True), "households", 1
    path = Path(given)
    if not path.is_file():
        raise InputError(f"{path}: no such household table")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Only an empty cell is blank (the template's value): "nan", "NA" or "null" typed
            # in a cell is refused as not a number, never read as "keep the template".
            table = pd.read_csv(path, skipinitialspace=True, keep_default_na=False, na_values=[""])
            return table, str(path), 2
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, keep_default_na=False, na_values=[""]), str(path), 2
        return pd.read_parquet(path), str(path), 1
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow; {PARQUET_HINT}") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        kind = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}.get(suffix, "Excel")
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable {kind} table: {reason}") from None


def _row_ids(frame: pd.DataFrame, source: str, first_row: int) -> list[str]:
    if frame.empty:
        raise InputError(f"{source}: the table has no households; add a row per household")
    ids = []
    for i in range(len(frame)):
        given = frame[ID_COLUMN].iloc[i] if ID_COLUMN in frame else None
        ids.append(str(plain(given)) if not is_blank(given) else f"row {first_row + i}")
    seen: dict[str, int] = {}
    for i, row_id in enumerate(ids):
        if row_id in seen:
            raise InputError(
                f"{source}: household '{row_id}' appears on rows {first_row + seen[row_id]} "
                f"and {first_row + i}; give each household its own id in the '{ID_COLUMN}' column"
            )
        seen[row_id] = i
    return ids


def _template(template: Plan | dict | str | Path) -> tuple[dict, dict | None]:
    """(template data as written, the same with every default filled, or None if invalid)."""
    if isinstance(template, Plan):
        data = template.model_dump(by_alias=True, mode="json")
        return data, data
    data = dict(template) if isinstance(template, dict) else read_plan_data(template)
    try:
        defaults = plan_from_dict(data).model_dump(by_alias=True, mode="json")
    except TaxoptError:
        defaults = None  # the table's columns may supply what the template lacks
    return data, defaults


# ---------------------------------------------------------------------------------------
# Plan files


def _plan_households(given: object) -> list[Household]:
    items = [given] if isinstance(given, Plan | dict | str | Path) else list(given)
    households: list[Household] = []
    for n, item in enumerate(items, start=1):
        if isinstance(item, Plan):
            data = item.model_dump(by_alias=True, mode="json")
            households.append(Household(item.name, f"plan '{item.name}'", data))
        elif isinstance(item, dict):
            name = str(item.get("name") or f"plan {n}")
            households.append(Household(name, f"plan '{name}'", dict(item)))
        elif isinstance(item, str | Path) and Path(item).is_dir():
            files = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in PLAN_SUFFIXES)
            if not files:
                raise InputError(f"{item}: the folder has no plan files (.toml or .json)")
            households += [_plan_file(f) for f in files]
        elif isinstance(item, str | Path):
            households.append(_plan_file(Path(item)))
        else:
            raise InputError(
                f"batch: households item {n} is a {type(item).__name__}; give a Plan, plan "
                "data (dict), a plan file, a folder of plan files or a table"
            )
    return households


def _plan_file(path: Path) -> Household:
    try:
        return Household(path.stem, str(path), read_plan_data(path))
    except TaxoptError as exc:
        return Household(path.stem, str(path), None, problem=str(exc))


def _distinct(households: list[Household]) -> list[Household]:
    """Ids made distinct: a repeated id becomes 'id (2)', 'id (3)', ..."""
    labelled = _label(households, lambda household: household.id)
    return [replace(household, id=label) for label, household in labelled]


__all__ = ["ColumnPath", "Household", "read_households", "table_households"]

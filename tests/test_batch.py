"""taxopt.batch: many households x rule sets, resumable, on a process pool or Dask.

The machinery tests use a nine-year plan (tests/data/batch/short-couple.toml) in fast mode
without baselines: they are about the batch, not the optimizer. Every figure is checked
against a direct `taxopt.optimize` call on the same plan (the second witness).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import taxopt
import taxopt.batching.work as work
from taxopt.batching import batch, read_households
from taxopt.batching.run import TIMING
from taxopt.batching.store import Journal
from taxopt.batching.summary import distribution
from taxopt.cli import main
from taxopt.compare import pair_figures
from taxopt.errors import InputError
from taxopt.plan import load_plan, plan_from_dict

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TEMPLATE = ROOT / "tests" / "data" / "batch" / "short-couple.toml"
CURRENT, REFORM = "us-federal-2026", "us-federal-2026-pre-tcja"
FAST = {"mode": "fast", "baselines": False, "progress": False}


def households_table(n: int = 4) -> pd.DataFrame:
    """n households from the short template: different ages, balances and benefits."""
    return pd.DataFrame(
        {
            "household": [f"h{i}" for i in range(n)],
            "people.0.birth_year": [1950 - i for i in range(n)],
            "accounts.ann_ira.balances.conservative": [300_000 + 50_000 * i for i in range(n)],
            "accounts.joint_taxable.balances.aggressive": [20_000 + 10_000 * i for i in range(n)],
            "income.Ann Social Security.annual": [30_000 - 2_000 * i for i in range(n)],
        }
    )


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that measure time (they differ run to run)."""
    return table.drop(columns=list(TIMING)).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# The batch equals one optimize call per household


def test_batch_of_the_examples_equals_three_optimize_calls():
    rules = taxopt.load_rules(CURRENT)
    table = batch(EXAMPLES, [CURRENT], workers=2, progress=False)
    files = sorted(EXAMPLES.glob("*.toml"))
    assert list(table["household"]) == [f.stem for f in files]
    assert set(table["status"]) == {"ok"}
    for file, row in zip(files, table.to_dict(orient="records"), strict=True):
        result = taxopt.optimize(load_plan(file), rules)
        f = result.figures
        assert row["sustainable_spending"] == pytest.approx(f.sustainable_spending, rel=1e-9)
        assert row["after_tax_estate"] == pytest.approx(f.after_tax_estate, rel=1e-9, abs=1e-6)
        assert row["lifetime_tax"] == pytest.approx(f.lifetime_tax, rel=1e-9)
        assert row["first_year_withdrawal_rate"] == pytest.approx(
            f.first_year_withdrawal_rate, rel=1e-9
        )
        guide = result.baselines["guide_rule_of_thumb"]
        assert row["tax_saved_vs_guide"] == pytest.approx(guide.lifetime_tax - f.lifetime_tax)
        for key, value in pair_figures(result).items():
            assert row[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key
        # The first-year actions, summed from the decisions the ledger replayed.
        yearly = result.yearly.set_index("year").loc[result.plan.start_year]
        assert row["first_year_withdrawals"] == pytest.approx(yearly["withdrawals"], abs=1e-6)
        assert row["first_year_contributions"] == pytest.approx(yearly["contributions"], abs=1e-6)
        assert row["method"] == result.method and row["mode"] == "exact"
        for tier in result.plan.tier_names:  # each tier's dollars are somewhere, once
            places = [row[f"share_{tier}_in_{p}"] for p in ("roth", "deferred", "taxable")]
            if row[f"weight_{tier}"] > 0:
                assert sum(places) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# A bad household is a failed row; the rest run


def test_bad_cells_fail_their_row_with_household_column_and_fix():
    table = households_table(5).astype(object)
    table.loc[1, "people.0.birth_year"] = "19x0"
    table.loc[3, "accounts.joint_taxable.balances.aggressive"] = 5_000  # below its basis 10,000
    table["filing_status"] = ["mfj", "mfj", "mfj", "mfj", "married"]
    result = batch(table, [CURRENT], template=TEMPLATE, workers=2, **FAST)
    assert list(result["status"]) == ["ok", "failed", "ok", "failed", "failed"]
    assert result.loc[[0, 2], "sustainable_spending"].gt(0).all()
    errors = list(result["error"])
    assert errors[1] == (
        "households: household 'h1': column 'people.0.birth_year' ('19x0'): Input should be "
        "a valid integer, unable to parse string as an integer; give a whole number"
    )
    assert errors[3].startswith(
        "households: household 'h3': column 'accounts.joint_taxable.balances.aggressive' "
        "(5000): accounts[2].basis.aggressive: 10,000 is more than the balance 5,000"
    )
    assert errors[3].endswith("lower the basis")
    assert errors[4].startswith(
        "households: household 'h4': column 'filing_status' ('married'): 'married' is not "
        "defined by rule set us-federal-2026; use 'mfj'"  # the status for its two people
    )
    assert all("\n" not in e for e in errors)
    assert math.isnan(result.loc[1, "sustainable_spending"])


def test_nan_typed_in_a_csv_cell_fails_its_row_and_only_an_empty_cell_is_blank(tmp_path):
    """An empty cell keeps the template's value; 'nan', 'NA' or 'null' typed in a cell is
    not a number (pandas reads all three as missing by default, which ran the household on
    the template's balance as if the cell were empty)."""
    table = households_table(4).astype(object)
    column = "accounts.joint_taxable.balances.aggressive"
    table.loc[1, column] = "nan"
    table.loc[2, column] = "NA"
    table.loc[3, column] = ""
    path = tmp_path / "households.csv"
    table.to_csv(path, index=False)
    result = batch(path, [CURRENT], template=TEMPLATE, workers=1, **FAST)
    assert list(result["status"]) == ["ok", "failed", "failed", "ok"]
    assert f"column '{column}' ('nan'): " in result.loc[1, "error"]
    assert f"column '{column}' ('NA'): " in result.loc[2, "error"]


def test_a_misspelt_column_is_one_error_before_any_household_runs():
    table = households_table(2).rename(columns={"people.0.birth_year": "people.0.birth_yr"})
    with pytest.raises(InputError) as caught:
        batch(table, [CURRENT], template=TEMPLATE, **FAST)
    assert str(caught.value) == (
        "households: column 'people.0.birth_yr': people.0 has no field 'birth_yr'; "
        "use one of name, birth_year"
    )
    table = households_table(2).rename(
        columns={"accounts.ann_ira.balances.conservative": "accounts.ira.balances.conservative"}
    )
    with pytest.raises(InputError, match="accounts has no entry 'ira'.*1 \\(bob_roth\\)"):
        batch(table, [CURRENT], template=TEMPLATE, **FAST)


def test_a_plan_file_that_cannot_be_read_is_a_failed_row(tmp_path):
    (tmp_path / "good.toml").write_text(TEMPLATE.read_text())
    (tmp_path / "broken.toml").write_text("name = [unclosed\n")
    table = batch(tmp_path, [CURRENT], **FAST)
    status = dict(zip(table["household"], table["status"], strict=True))
    assert status == {"broken": "failed", "good": "ok"}
    error = table.set_index("household").loc["broken", "error"]
    assert error.startswith(f"{tmp_path / 'broken.toml'}: not valid TOML")


# ---------------------------------------------------------------------------------------
# Resuming


class CountingOptimize:
    """The real optimizer, counted; optionally interrupted (Ctrl-C) at one call."""

    def __init__(self, interrupt_at: int | None = None):
        self.calls, self.interrupt_at = 0, interrupt_at
        self.real = work.optimize

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return self.real(*args, **kwargs)


def test_an_interrupted_run_resumes_without_recomputing_finished_rows(tmp_path, monkeypatch):
    table = households_table(3)
    rules = [CURRENT, REFORM]  # 6 rows
    out = tmp_path / "out"
    interrupted = CountingOptimize(interrupt_at=3)
    monkeypatch.setattr(work, "optimize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batch(table, rules, template=TEMPLATE, out=out, workers=1, **FAST)
    assert len(Journal(out).read()) == 2
    assert len(pd.read_csv(out / "results.csv")) == 2  # the table of what was done

    resumed = CountingOptimize()
    monkeypatch.setattr(work, "optimize", resumed)
    table_resumed = batch(table, rules, template=TEMPLATE, out=out, workers=1, **FAST)
    assert resumed.calls == 4  # 6 rows, 2 done before the interruption
    assert table_resumed.attrs == {"computed": 4, "reused": 2}

    again = CountingOptimize()
    monkeypatch.setattr(work, "optimize", again)
    batch(table, rules, template=TEMPLATE, out=out, workers=1, **FAST)
    assert again.calls == 0

    fresh = batch(table, rules, template=TEMPLATE, workers=1, **FAST)
    pd.testing.assert_frame_equal(comparable(table_resumed), comparable(fresh))
    on_disk = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(comparable(on_disk), comparable(table_resumed))


def test_a_changed_household_rule_file_or_version_is_recomputed(tmp_path, monkeypatch):
    rules_file = tmp_path / "reform.toml"
    rules_file.write_text(f'extends = "{REFORM}"\n')
    table = households_table(3)
    out = tmp_path / "out"
    batch(table, [rules_file], template=TEMPLATE, out=out, workers=1, **FAST)

    def calls_for(changed_table) -> int:
        counter = CountingOptimize()
        monkeypatch.setattr(work, "optimize", counter)
        batch(changed_table, [rules_file], template=TEMPLATE, out=out, workers=1, **FAST)
        return counter.calls

    changed = table.copy()
    changed.loc[1, "accounts.ann_ira.balances.conservative"] = 123_000
    assert calls_for(changed) == 1
    rules_file.write_text(
        f'extends = "{REFORM}"\n[meta]\ndescription = "the same law, described anew"\n'
    )
    assert calls_for(changed) == 3
    monkeypatch.setattr(taxopt, "__version__", "99.0")
    assert calls_for(changed) == 3
    assert calls_for(changed) == 0


def test_a_killed_run_loses_only_the_households_in_flight(tmp_path):
    table_file = tmp_path / "clients.csv"
    households_table(8).to_csv(table_file, index=False)
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "taxopt", "batch", str(table_file), "--template", str(TEMPLATE),
        "--rules", CURRENT, "-o", str(out), "--workers", "1", "--mode", "fast",
        "--no-baselines", "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the batch finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = Journal(out).read()
    assert 2 <= len(done_before) < 8

    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{8 - len(done_before)} run now, {len(done_before)} already done" in finished.stdout
    lines = [line for line in journal.read_text().splitlines() if line.strip()]
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys)) == 8  # no finished household ran twice
    assert len(pd.read_csv(out / "results.csv")) == 8


def test_the_journal_skips_a_line_cut_short(tmp_path):
    journal = Journal(tmp_path)
    journal.append({"key": "a", "status": "ok"})
    journal.close()
    with (tmp_path / "journal.jsonl").open("a") as handle:
        handle.write('{"key": "b", "sta')  # a write cut short by a crash
    journal = Journal(tmp_path)
    assert set(journal.read()) == {"a"}
    journal.append({"key": "c", "status": "ok"})
    journal.close()
    assert set(Journal(tmp_path).read()) == {"a", "c"}


# ---------------------------------------------------------------------------------------
# Engines


def test_dask_local_cluster_gives_the_process_pool_result():
    from dask.distributed import LocalCluster

    table = households_table(4)
    rules = [CURRENT, REFORM]
    pool = batch(table, rules, template=TEMPLATE, workers=2, **FAST)
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        on_dask = batch(table, rules, template=TEMPLATE, dask=cluster.scheduler_address, **FAST)
    assert set(pool["status"]) == {"ok"}
    pd.testing.assert_frame_equal(comparable(on_dask), comparable(pool))


# ---------------------------------------------------------------------------------------
# The command, the files and the summary


def test_cli_writes_tables_per_household_files_and_summary(tmp_path, capsys):
    table = households_table(3).astype(object)
    table.loc[2, "people.0.birth_year"] = 1800
    table_file = tmp_path / "clients.xlsx"
    table.to_excel(table_file, index=False)
    out = tmp_path / "out"
    argv = [
        "batch", str(table_file), "--template", str(TEMPLATE), "--rules", CURRENT,
        "--rules", REFORM, "-o", str(out), "--mode", "fast", "--no-baselines",
        "--workers", "2", "--json", "--workbooks", "--summary",
    ]  # fmt: skip
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "3 households x 2 rule sets: 6 run now, 0 already done" in captured.out
    assert (
        "taxopt: h2 under us-federal-2026: " + f"{table_file}: household 'h2': column "
        "'people.0.birth_year' (1800): Input should be greater than or equal to 1900"
    ) in captured.err

    results = pd.read_csv(out / "results.csv")
    assert list(results["status"]) == ["ok", "ok", "ok", "ok", "failed", "failed"]
    text = ["solve_status", "error", "mode", "method"]  # CSV reads an empty text as NaN
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet"),
        results.fillna({c: "" for c in text}),
        check_dtype=False,
    )
    # Each household's change is its reform row minus its current-law row.
    h0 = results[results["household"] == "h0"].set_index("rules")
    assert h0.loc[REFORM, "lifetime_tax_vs_first"] == pytest.approx(
        h0.loc[REFORM, "lifetime_tax"] - h0.loc[CURRENT, "lifetime_tax"]
    )
    assert h0.loc[CURRENT, "lifetime_tax_vs_first"] == 0
    files = sorted(p.name for p in (out / "households").iterdir())
    assert files == sorted(
        f"h{i}__{r}{s}" for i in (0, 1) for r in (CURRENT, REFORM) for s in (".json", ".xlsx")
    )
    assert load_workbook(out / "households" / f"h0__{CURRENT}.xlsx").sheetnames[0] == "Plan"

    summary = load_workbook(out / "summary.xlsx")
    assert summary.sheetnames == [
        "Summary", "Distributions", "Largest gains", "Changes", "Where tiers live", "Failures",
    ]  # fmt: skip
    sheet = summary["Distributions"]
    header = [c.value for c in sheet[2]]
    rows = {
        (r[0], r[1]): dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(3, values_only=True)
    }
    spending = results[(results["rules"] == CURRENT) & (results["status"] == "ok")]
    median = float(spending["sustainable_spending"].median())  # two households: their mean
    assert median == pytest.approx(spending["sustainable_spending"].mean())
    assert rows[CURRENT, "sustainable_spending"]["median"] == pytest.approx(median)
    assert rows[CURRENT, "sustainable_spending"]["households"] == 2
    failures = list(summary["Failures"].iter_rows(3, values_only=True))
    assert [(f[0], f[1], f[2]) for f in failures] == [
        ("h2", CURRENT, "failed"),
        ("h2", REFORM, "failed"),
    ]


def test_distribution_percentiles_match_numpy():
    import numpy as np

    values = [10.0, 40.0, 20.0, 30.0, 1000.0]
    table = pd.DataFrame(
        {"household": list("abcde"), "rules": "r", "status": "ok", "lifetime_tax": values}
    )
    stats = distribution(table, ["lifetime_tax"]).iloc[0]
    assert stats["median"] == 30.0 and stats["max"] == 1000.0 and stats["households"] == 5
    assert stats["p25"] == np.percentile(values, 25) == 20.0
    assert stats["p95"] == pytest.approx(np.percentile(values, 95))


# ---------------------------------------------------------------------------------------
# Reading households


def test_column_paths_set_fields_by_position_name_alias_and_defaults():
    table = pd.DataFrame(
        {
            "household": ["a"],
            "people.Bob.birth_year": [1955],
            "accounts.bob_roth.balances.reserve": [1_000],  # a key the template lacks
            "tiers.conservative.yield": [0.02],  # from the preset; `yield` is an alias
            "objective.bequest_floor": [5_000.0],
            "contributions.annual": [float("nan")],  # blank: the template's value stays
        }
    )
    [household] = read_households(table, TEMPLATE)
    plan = plan_from_dict(household.plan)
    assert plan.people[1].birth_year == 1955
    assert plan.accounts[1].balances == {"aggressive": 60000, "balanced": 40000, "reserve": 1000}
    assert next(t for t in plan.tiers if t.name == "conservative").yield_rate == 0.02
    assert plan.objective.bequest_floor == 5_000
    assert plan.contributions.annual == 0
    assert [c[0] for c in household.cells] == list(table.columns[1:5])


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("people.2.birth_year", "people has no entry '2'"),
        ("accounts.ann_ira.balances", "is a table or list, not one value"),
        ("start_year.month", "start_year is a single value"),
        ("people..name", "not a field path"),
    ],
)
def test_column_paths_that_cannot_be_set_are_refused(column, message):
    with pytest.raises(InputError, match=message):
        read_households(pd.DataFrame({column: [1]}), TEMPLATE)


def test_tables_read_from_csv_excel_and_parquet_agree(tmp_path):
    table = households_table(3)
    plans = []
    for name, write in [
        ("t.csv", lambda p: table.to_csv(p, index=False)),
        ("t.xlsx", lambda p: table.to_excel(p, index=False)),
        ("t.parquet", lambda p: table.to_parquet(p, index=False)),
    ]:
        write(tmp_path / name)
        plans.append([h.plan for h in read_households(tmp_path / name, TEMPLATE)])
    assert plans[0] == plans[1] == plans[2]
    with pytest.raises(InputError, match="needs a template plan"):
        read_households(tmp_path / "t.csv")
    duplicated = table.assign(household=["a", "b", "a"])
    with pytest.raises(InputError, match="household 'a' appears on rows 1 and 3"):
        read_households(duplicated, TEMPLATE)


def test_synthetic_households_are_seeded_and_valid():
    sys.path.insert(0, str(EXAMPLES / "population"))
    from generate import synthetic_households

    first = synthetic_households(300, seed=3)
    assert first == synthetic_households(300, seed=3)
    assert first != synthetic_households(300, seed=4)
    rules = taxopt.load_rules(CURRENT)
    couples = 0
    for data in first:
        plan = plan_from_dict(data, source=data["name"])
        plan.check_against(rules, source=data["name"])
        age = plan.start_year - plan.people[0].birth_year
        assert 30 <= age <= 75
        couples += plan.filing_status == "mfj"
        retirement_age = plan.retirement_year - plan.people[0].birth_year
        if age >= 65:
            assert plan.retirement_year == plan.start_year
        else:
            assert 60 <= retirement_age <= 67
    assert 0.5 < couples / len(first) < 0.7  # drawn with probability 0.6


WITHOUT_EXTRAS = (  # the command as on an install without taxopt[batch] and taxopt[dask]
    "import sys\n"
    "for name in ('pyarrow', 'dask', 'dask.distributed'):\n"
    "    sys.modules[name] = None\n"
    "from taxopt.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_missing_optional_packages_get_one_line_with_the_extra_to_install(tmp_path):
    def run(*argv: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", WITHOUT_EXTRAS, "batch", *argv, "--rules", CURRENT]
        command += ["--template", str(TEMPLATE), "--mode", "fast", "--no-baselines", "--quiet"]
        return subprocess.run(command, capture_output=True, text=True)

    households_table(1).to_parquet(tmp_path / "t.parquet", index=False)
    households_table(1).to_csv(tmp_path / "t.csv", index=False)
    parquet = run(str(tmp_path / "t.parquet"), "-o", str(tmp_path / "a"))
    assert parquet.returncode == 2
    assert parquet.stderr == (
        f"taxopt: {tmp_path / 't.parquet'}: reading Parquet needs pyarrow; "
        "pip install 'taxopt[batch]' (pyarrow)\n"
    )
    csv = run(str(tmp_path / "t.csv"), "-o", str(tmp_path / "b"))
    assert csv.returncode == 0, csv.stderr
    assert "results.parquet needs pyarrow: pip install 'taxopt[batch]'" in csv.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["journal.jsonl", "results.csv"]
    on_dask = run(str(tmp_path / "t.csv"), "-o", str(tmp_path / "c"), "--dask", "local:1")
    assert on_dask.returncode == 2
    assert on_dask.stderr == ("taxopt: --dask needs dask.distributed; pip install 'taxopt[dask]'\n")


def test_an_output_folder_that_is_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(InputError, match="results: the output folder is a file"):
        batch(households_table(1), [CURRENT], template=TEMPLATE, out=tmp_path / "results", **FAST)
    assert (tmp_path / "results").read_text() == "not a folder"

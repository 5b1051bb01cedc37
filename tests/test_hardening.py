"""Safe outputs, progress and the time limit, and an optimizer never reported behind a rule
of thumb (the bad-input corpus is tests/test_bad_inputs.py)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

import taxopt
from taxopt import progress
from taxopt.baselines import baseline_engines
from taxopt.errors import InputError, SolverError, TaxoptError
from taxopt.io import (
    Output,
    check_outputs,
    json_text,
    outputs_together,
    write_atomically,
    write_json,
)
from taxopt.ledger import replay
from taxopt.optimize import hold_against_baselines, plan_score
from taxopt.policy import PolicyRun
from taxopt.result import plan_figures

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COUPLE = EXAMPLES / "couple-near-retirement.toml"


# ---------------------------------------------------------------------------------------
# Outputs


def test_a_failure_inside_outputs_together_leaves_every_earlier_output(tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.csv"
    first.write_text("old a")
    second.write_text("old b")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), outputs_together():
        write_json(first, {"new": 1})
        write_atomically(second, broken, kind="csv")
    assert first.read_text() == "old a" and second.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.csv"]  # no temp left


def test_outputs_together_renames_all_at_the_end(tmp_path: Path):
    first = tmp_path / "a.json"
    with outputs_together():
        write_json(first, {"new": 1})
        assert not first.exists()  # not before every output is written
    assert json.loads(first.read_text()) == {"new": 1}


def test_a_symlinked_output_is_written_through(tmp_path: Path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_json(link, [1, 2])
    assert link.is_symlink() and json.loads(real.read_text()) == [1, 2]


def test_non_finite_figures_are_named_not_written(tmp_path: Path):
    with pytest.raises(TaxoptError, match=r"rows\[1\]\.tax is not a finite number"):
        write_json(tmp_path / "x.json", {"rows": [{"tax": 1.0}, {"tax": float("inf")}]})
    assert not (tmp_path / "x.json").exists()
    assert "Infinity" not in json_text({"a": 1.5})


def test_output_checks_name_the_flag_and_the_fix(tmp_path: Path):
    plan = tmp_path / "plan.toml"
    plan.write_text("x")
    with pytest.raises(InputError, match=r"^-o plan\.toml: this output is an Excel workbook"):
        check_outputs([Output(str(plan.name), "xlsx", "-o")])
    os.chdir(tmp_path)
    (tmp_path / "same.json").symlink_to(plan)
    with pytest.raises(InputError, match="is an input of this run"):
        check_outputs([Output("same.json", "json", "--json")], inputs=[str(plan)])


def test_a_folder_root_cannot_write_to_is_refused_before_any_work():
    # Permission bits do not stop root; /proc refuses new files to everyone.
    with pytest.raises(InputError, match="is not writable"):
        check_outputs([Output("/proc/taxopt-test.json", "json", "--json")])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores modes")
def test_a_read_only_folder_is_refused(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match="is not writable"):
            check_outputs([Output(str(folder / "x.json"), "json", "--json")])
    finally:
        folder.chmod(0o755)


# ---------------------------------------------------------------------------------------
# Progress and the time limit


@pytest.fixture(scope="module")
def couple():
    return taxopt.load_plan(COUPLE), taxopt.load_rules("us-federal-2026")


def test_progress_prints_a_line_per_search_step(couple, capsys):
    plan, rules = couple
    with progress.watch(show=True):
        taxopt.optimize(plan, rules, with_baselines=False, paths=0)
    err = capsys.readouterr().err.splitlines()
    assert any("LP relaxation solved" in line for line in err)
    assert any("regime LP 1: optimal" in line for line in err)
    assert all(line.startswith("taxopt: [") for line in err)


def test_no_progress_lines_unless_asked(couple, capsys):
    plan, rules = couple
    taxopt.optimize(plan, rules, mode="fast", with_baselines=False, paths=0)
    assert capsys.readouterr().err == ""


def test_a_time_limit_that_leaves_no_time_stops_the_search_and_says_so(couple):
    """Each solve gets 0.01 s: the search either finds its first plan and stops there (with
    a note) or finds none (an error saying to raise the limit)."""
    plan, rules = couple
    try:
        with progress.watch(time_limit=1e-9, show=False):
            result = taxopt.optimize(plan, rules, with_baselines=False, paths=0)
    except SolverError as exc:
        assert "raise --time-limit" in str(exc)
    else:
        assert any("time limit was reached during the search" in n for n in result.notes)


# ---------------------------------------------------------------------------------------
# Never reported behind a rule of thumb


def _weak_result(plan, rules, good):
    """The plan's own figures replaced by a feasible but poor plan: the same-mix rule of
    thumb spending half its level (so every rule of thumb beats it)."""
    engine = baseline_engines(plan, rules, good)["same_mix_everywhere"]
    level = engine.run().level_real * 0.5
    state = engine.initial_state()
    working = [y for y in plan.years if y < plan.retirement_year]
    retired = [y for y in plan.years if y >= plan.retirement_year]
    pre, pre_closing = engine.walk(state, working, lambda y: engine.solve_year(y, 0.0))
    outcomes, closing = engine.run_level(level, state, retired, stop=False)
    run = PolicyRun(plan, pre + outcomes, pre_closing + closing, 0.0, level)
    decisions = run.decisions("weak")
    ledger = replay(plan, rules, decisions)
    return dataclasses.replace(
        good, decisions=decisions, ledger=ledger, figures=plan_figures(plan, ledger), notes=[]
    )


def test_a_rule_of_thumb_that_wins_restarts_the_search_from_its_decisions(couple):
    plan, rules = couple
    good = taxopt.optimize(plan, rules, with_baselines=False, paths=0)
    weak = _weak_result(plan, rules, good)
    final = hold_against_baselines(plan, rules, weak, "highs", 1)
    score = plan_score(plan, rules, final.figures, final.ledger)
    assert final.method.startswith("regime-lp from ")
    assert score > plan_score(plan, rules, weak.figures, weak.ledger) + 1000.0
    for figures in final.baselines.values():
        assert figures.sustainable_spending <= score + 1.0
    assert not any("rule of thumb" in n for n in final.notes)
    # The restarted plan is exact: the model and the ledger agree within $1 a year.
    assert final.reconciliation_max_abs_error < 1.0


def test_when_no_restart_is_possible_the_summary_says_the_rule_wins(couple):
    from taxopt.cli.optimize_cmd import summary_text

    plan, rules = couple
    good = taxopt.optimize(plan, rules, with_baselines=False, paths=0)
    weak = _weak_result(plan, rules, good)
    with progress.watch(time_limit=1e-9, show=False):
        final = hold_against_baselines(plan, rules, weak, "highs", 1)
    assert final.method == weak.method
    [note] = [n for n in final.notes if "rule of thumb" in n]
    assert "does better than the optimized plan by $" in note
    assert "a year of spending" in note and "time limit" in note
    text = summary_text(final)
    assert "note: the rule of thumb" in text
    assert "more tax" in text or "less tax" in text or "the same tax" in text

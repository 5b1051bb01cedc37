"""The array handoff to HiGHS (taxopt.solve.highs_lp) against PuLP's own handoff.

Witness: PuLP's pulp.HiGHS.buildSolverModel, which adds the same problem one column and one
row at a time; both models are read back from HiGHS (getLp) and compared entry by entry,
then both are solved and must give the same objective and column values.
"""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pulp
import pytest

from taxopt import load_plan, load_rules
from taxopt.model import build_model
from taxopt.solve import columns, highs_lp, resolve, solve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def retiree():
    return load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml"), load_rules("us-federal-2026")


def _pulp_lp(ctx, mip: bool):
    """The HighsLp PuLP's own handoff builds for ctx.prob."""
    solver = pulp.HiGHS(msg=False, mip=mip)
    solver.createAndConfigureSolver(ctx.prob)
    solver.buildSolverModel(ctx.prob)
    return ctx.prob.solverModel


def _triplets(matrix) -> np.ndarray:
    """(row, column, value) of every entry, sorted: the same whether HiGHS holds the
    matrix row-wise (after PuLP's addRow calls) or column-wise (after passModel)."""
    start, index = np.asarray(matrix.start_), np.asarray(matrix.index_)
    outer = np.repeat(np.arange(len(start) - 1), np.diff(start))
    rowwise = matrix.format_ == highspy.MatrixFormat.kRowwise
    rows, cols = (outer, index) if rowwise else (index, outer)
    order = np.lexsort((cols, rows))
    return np.column_stack([rows[order], cols[order], np.asarray(matrix.value_)[order]])


def _arrays(lp) -> dict:
    return {
        "col_cost": np.asarray(lp.col_cost_),
        "col_lower": np.asarray(lp.col_lower_),
        "col_upper": np.asarray(lp.col_upper_),
        "row_lower": np.asarray(lp.row_lower_),
        "row_upper": np.asarray(lp.row_upper_),
        "matrix": _triplets(lp.a_matrix_),
        "integrality": np.asarray([int(t) for t in lp.integrality_]),
    }


@pytest.mark.parametrize("mode,mip", [("fast", True), ("exact", True), ("exact", False)])
def test_array_handoff_builds_the_lp_pulp_builds(retiree, mode, mip):
    plan, rules = retiree
    ctx = build_model(plan, rules, mode)
    theirs = _pulp_lp(ctx, mip)
    mine = highspy.Highs()
    mine.setOptionValue("output_flag", False)
    mine.passModel(highs_lp(ctx, mip=mip))
    a, b = _arrays(theirs.getLp()), _arrays(mine.getLp())
    assert a["col_cost"].size == len(columns(ctx)) and a["matrix"].size > 0
    if not mip or not ctx.binaries:  # PuLP leaves integrality empty for an LP
        a["integrality"] = b["integrality"] = np.zeros(0)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert sorted(int(t) for t in b["integrality"]).count(1) == (ctx.binaries if mip else 0)


def test_array_handoff_solves_as_pulp_does(retiree):
    plan, rules = retiree
    ctx = build_model(plan, rules, "fast")
    theirs = _pulp_lp(ctx, mip=True)
    theirs.setOptionValue("solver", "ipm")
    theirs.run()
    report = solve(ctx)
    assert report.status == "optimal"
    assert theirs.getInfo().objective_function_value == pytest.approx(
        ctx.prob.solverModel.getInfo().objective_function_value, abs=0.0
    )
    values = np.array([v.varValue for v in columns(ctx)])
    assert np.array_equal(values, np.asarray(theirs.getSolution().col_value))


def test_resolve_after_a_bound_change_matches_a_fresh_solve(retiree):
    """The warm re-solve (dual simplex from the last basis) and a fresh solve of the
    changed model agree on the objective."""
    plan, rules = retiree
    ctx = build_model(plan, rules, "fast")
    first = solve(ctx)
    withdrawals = [v for v in ctx.variables["withdraw"].values() if (v.varValue or 0) > 1.0]
    assert withdrawals, "the plan withdraws something"
    withdrawals[0].upBound = 0.0
    warm = resolve(ctx)
    fresh = solve(ctx)
    assert warm.status == fresh.status == "optimal"
    assert warm.objective == pytest.approx(fresh.objective, rel=1e-7)
    assert fresh.objective <= first.objective + 1e-6


def test_an_lp_stopped_by_the_time_limit_is_no_plan(retiree):
    """An interior-point solve cut short holds an iterate, not a feasible point (HiGHS
    reports no primal solution): it must not come back as a "feasible" plan to be read.
    (Read as one, a --time-limit run reported $0 of spending and every RMD unmet.)"""
    plan, rules = retiree
    ctx = build_model(plan, rules, "exact")
    report = solve(ctx, time_limit=1e-6, relax=True, rough=True)
    assert report.status == "not_solved" and report.objective is None
    assert solve(ctx, relax=True, rough=True).status == "optimal"  # the same LP, given time

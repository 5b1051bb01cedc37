"""Solving the model: HiGHS through highspy by default, CBC as the fallback.

PuLP stays the modelling layer; HiGHS gets the model as arrays in one call (`highs_lp`,
the same LP PuLP's own per-column and per-row handoff builds) and its solution is copied
back into PuLP's variables. Statuses become plain-language errors; a MIP may start from a
known solution; a model whose bounds changed is re-solved warm (`resolve`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import pulp

from taxopt.errors import SolverError
from taxopt.model.context import ModelContext

# Measured on the bundled couple plan (benchmarks/results/highs_options.md): HiGHS' interior
# point method solves these LPs two to three times faster than its dual or primal simplex,
# and more so on long horizons; a MIP starts from the regime solution when we have one.
HIGHS_OPTIONS: dict = {"solver": "ipm"}
# A starting plan only needs its kinks' sides, not the last cent: a looser IPM optimality
# tolerance (HiGHS' default is 1e-8) and no crossover to a vertex take about 40% off the
# relaxed exact LP's solve (45 years: 0.58 -> 0.34 s; 80 years: 1.8 -> 1.2 s).
START_TOLERANCE = 1e-6
START_OPTIONS: dict = {"ipm_optimality_tolerance": START_TOLERANCE, "run_crossover": "off"}


@dataclass
class SolveReport:
    status: str  # "optimal", "feasible" (time limit with a solution), "infeasible", ...
    objective: float | None
    seconds: float
    solver: str
    mip_gap: float | None = None


_BANNER_SHOWN = False


def _consume_highs_banner() -> None:
    """HiGHS prints its banner to stdout on the first Highs() of a process, whatever the
    options; create that first instance with stdout pointed at /dev/null so CLI output and
    JSON on stdout stay clean."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _BANNER_SHOWN = True


def _cbc(time_limit: float | None, gap: float | None, relax: bool):
    """PuLP's CBC, the fallback; `relax` solves a MIP's LP relaxation (binaries as [0, 1])."""
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap, mip=not relax)


def solve(
    ctx: ModelContext,
    solver: str = "highs",
    time_limit: float | None = None,
    gap: float | None = None,
    start: dict | None = None,
    relax: bool = False,
    rough: bool = False,
) -> SolveReport:
    """Solve ctx.prob; fall back to CBC if HiGHS is unavailable or errors."""
    started = time.perf_counter()
    if solver == "highs":
        try:
            status = _solve_highs(ctx, time_limit, gap, start, relax, rough)
            return _report(ctx, status, solver, started)
        except ImportError:
            pass
    elif solver != "cbc":
        raise SolverError(f"unknown solver '{solver}'; use highs or cbc")
    try:
        status = ctx.prob.solve(_cbc(time_limit, gap, relax))
    except pulp.PulpSolverError as exc:
        raise SolverError(f"solver cbc failed: {exc}") from None
    return _report(ctx, status, "cbc", started)


def columns(ctx: ModelContext) -> list:
    """ctx.prob's variables in PuLP's column order (sorted by name), listed once per model:
    PuLP's `variables()` walks every constraint on each call."""
    prob = ctx.prob
    cached = getattr(prob, "_taxopt_columns", None)
    if cached is not None and cached[0] == len(prob.constraints):
        return cached[1]
    listed = list(prob.variables())
    prob._taxopt_columns = (len(prob.constraints), listed)
    return listed


def highs_lp(ctx: ModelContext, mip: bool = True):
    """ctx.prob as one highspy.HighsLp, handed over in a single passModel: the same columns,
    rows, bounds and coefficients (zeros left out) in the same order as PuLP's per-column
    and per-row calls (pulp.HiGHS.buildSolverModel), built from arrays. Sets each variable's
    and constraint's `index` as PuLP does."""
    import highspy
    import numpy as np

    prob, inf = ctx.prob, highspy.kHighsInf
    cols = columns(ctx)
    sign = -1.0 if prob.sense == pulp.LpMaximize else 1.0
    objective = prob.objective or {}
    for i, var in enumerate(cols):
        var.index = i
    lp = highspy.HighsLp()
    lp.num_col_ = len(cols)
    lp.col_cost_ = np.array([sign * objective.get(v, 0.0) for v in cols], dtype=float)
    lp.col_lower_ = np.array([-inf if v.lowBound is None else v.lowBound for v in cols], float)
    lp.col_upper_ = np.array([inf if v.upBound is None else v.upBound for v in cols], float)
    lower, upper, start, col_of, coefficient = [], [], [0], [], []
    for i, constraint in enumerate(prob.constraints.values()):
        constraint.index = i
        lb, ub = constraint.getLb(), constraint.getUb()
        lower.append(-inf if lb is None else lb)
        upper.append(inf if ub is None else ub)
        for var, value in constraint.items():
            if value != 0:
                col_of.append(var.index)
                coefficient.append(value)
        start.append(len(col_of))
    lp.num_row_ = len(lower)
    lp.row_lower_ = np.array(lower, dtype=float)
    lp.row_upper_ = np.array(upper, dtype=float)
    # Row-wise, as PuLP's addRow calls leave HiGHS' matrix.
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(col_of, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(coefficient, dtype=float)
    if mip and any(v.cat == pulp.LpInteger for v in cols):
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if v.cat == pulp.LpInteger else
            highspy.HighsVarType.kContinuous
            for v in cols
        ]  # fmt: skip
    return lp


def _solve_highs(ctx, time_limit, gap, start, relax, rough) -> int:
    """One HiGHS solve of ctx.prob through highs_lp; the solution goes back into PuLP's
    variables and constraints (values, reduced costs, duals, slacks) and the HiGHS model
    stays on ctx.prob.solverModel for `resolve`. Returns PuLP's status."""
    import highspy

    _consume_highs_banner()
    model = highspy.Highs()
    model.setOptionValue("output_flag", False)
    if gap is not None:
        model.setOptionValue("mip_rel_gap", gap)
    if time_limit is not None:
        model.setOptionValue("time_limit", float(time_limit))
    for key, value in {**HIGHS_OPTIONS, **(START_OPTIONS if rough else {})}.items():
        model.setOptionValue(key, value)
    model.passModel(highs_lp(ctx, mip=not relax))
    ctx.prob.solverModel = model
    if start:
        solution = highspy.HighsSolution()
        solution.col_value = [float(start.get(v.name, 0.0)) for v in columns(ctx)]
        solution.value_valid = True
        model.setSolution(solution)
    model.run()
    status = _read_highs(ctx)
    # Whether ctx now holds what a plain solve (solve_for_duals) would give again: the same
    # model, options and start, so the same vertex and duals (HiGHS is deterministic).
    ctx.prob._taxopt_plain_solve = (
        not (rough or relax or start or gap is not None)
        and model.getModelStatus() == highspy.HighsModelStatus.kOptimal
    )
    return status


def holds_plain_solve(ctx: ModelContext) -> bool:
    """Whether ctx's values, reduced costs and duals are those of a plain HiGHS solve of the
    model as it stands (solve(ctx) with no start, no relaxation, default options), optimal:
    solving it again would give the same figures."""
    return getattr(ctx.prob, "_taxopt_plain_solve", False)


def _read_highs(ctx: ModelContext) -> int:
    """Copy HiGHS' solution into ctx.prob (as pulp.HiGHS.findSolutionValues does) and return
    PuLP's status."""
    import highspy

    model, prob = ctx.prob.solverModel, ctx.prob
    state = model.getModelStatus()
    solution = model.getSolution()
    cols, rows = columns(ctx), list(prob.constraints.values())
    if len(solution.col_value) == len(cols) and len(solution.row_value) == len(rows):
        for var, value, dual in zip(cols, solution.col_value, solution.col_dual, strict=True):
            var.varValue, var.dj = value, dual
        for row, value, dual in zip(rows, solution.row_value, solution.row_dual, strict=True):
            slack = row.constant + value
            row.slack = -slack if row.sense == pulp.LpConstraintLE else slack
            row.pi = dual
    ok = highspy.HighsModelStatus
    if state == ok.kOptimal:
        status = (pulp.LpStatusOptimal, pulp.LpSolutionOptimal)
    elif state in (ok.kInfeasible, ok.kUnboundedOrInfeasible):
        status = (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)
    elif state == ok.kUnbounded:
        status = (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded)
    elif (
        state
        in (
            ok.kObjectiveBound,
            ok.kObjectiveTarget,
            ok.kInterrupt,
            ok.kTimeLimit,
            ok.kIterationLimit,
        )
        and model.getObjectiveValue() != highspy.kHighsInf
        and _has_feasible_point(model)
    ):
        status = (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
    else:
        status = (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
    prob.assignStatus(*status)
    return status[0]


def _has_feasible_point(model) -> bool:
    """Whether a stopped solve holds a feasible point: a MIP's incumbent does; an LP's
    interrupted interior-point iterate does not (HiGHS reports no primal solution), and
    reading it as a plan gave nonsense (zero spending, RMDs unmet)."""
    import highspy

    try:
        status = model.getInfo().primal_solution_status
    except AttributeError:  # an older highspy without the field: trust the objective
        return True
    return int(status) == int(highspy.SolutionStatus.kSolutionStatusFeasible)


def resolve(ctx: ModelContext, solver: str = "highs") -> SolveReport:
    """Re-solve ctx.prob after changes to its variables' bounds only (nothing else), from
    HiGHS' last basis: dual simplex takes a few hundred pivots where a fresh interior-point
    solve of the 45-year model takes half a second. Solves afresh where there is no HiGHS
    model to start from, or when the warm start does not settle."""
    model = getattr(ctx.prob, "solverModel", None)
    if solver != "highs" or model is None or ctx.binaries:
        return solve(ctx, solver)
    import highspy
    import numpy as np

    started = time.perf_counter()
    inf = highspy.kHighsInf
    cols = columns(ctx)
    model.changeColsBounds(
        len(cols),
        np.array([v.index for v in cols], dtype=np.int32),
        np.array([-inf if v.lowBound is None else v.lowBound for v in cols], dtype=float),
        np.array([inf if v.upBound is None else v.upBound for v in cols], dtype=float),
    )
    model.setOptionValue("solver", "simplex")
    ctx.prob._taxopt_plain_solve = False  # a warm simplex vertex may differ from a plain one
    model.run()
    report = _report(ctx, _read_highs(ctx), solver, started)
    if report.status not in ("optimal", "infeasible"):
        return solve(ctx, solver)
    return report


def basis(ctx: ModelContext):
    """HiGHS' basis of ctx.prob's last solve (None when HiGHS did not solve it), for
    `restore_basis`."""
    model = getattr(ctx.prob, "solverModel", None)
    return model.getBasis() if model is not None and hasattr(model, "getBasis") else None


def restore_basis(ctx: ModelContext, saved) -> None:
    """Make `saved` (from `basis`) the starting point of the next `resolve`: after a re-solve
    whose answer was not kept, the next one starts from the plan's own optimum again."""
    model = getattr(ctx.prob, "solverModel", None)
    if model is not None and saved is not None and saved.valid:
        model.setBasis(saved)


def _report(ctx: ModelContext, status: int, used: str, started: float) -> SolveReport:
    """The solve's outcome in plain words, read from ctx.prob after PuLP's solve."""
    seconds = time.perf_counter() - started
    name = pulp.LpStatus.get(status, "Undefined")
    solution_ok = ctx.prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if name == "Optimal" and ctx.prob.sol_status == pulp.LpSolutionIntegerFeasible:
        label = "feasible"  # stopped by the time limit with a solution in hand
    elif name == "Optimal":
        label = "optimal"
    elif name == "Infeasible":
        label = "infeasible"
    elif name == "Unbounded":
        label = "unbounded"
    else:
        label = "feasible" if solution_ok else "not_solved"
    objective = pulp.value(ctx.prob.objective) if label in ("optimal", "feasible") else None
    return SolveReport(label, objective, seconds, used, _mip_gap(ctx, used))


def _mip_gap(ctx: ModelContext, solver: str) -> float | None:
    model = getattr(ctx.prob, "solverModel", None)
    if solver != "highs" or model is None or ctx.binaries == 0:
        return None
    try:
        return float(model.getInfo().mip_gap)
    except Exception:  # noqa: BLE001 - info is a nicety, never fatal
        return None


def values(ctx: ModelContext) -> dict[str, float]:
    """Every variable's value by name (a MIP start for a later solve)."""
    return {v.name: (v.varValue or 0.0) for v in columns(ctx)}

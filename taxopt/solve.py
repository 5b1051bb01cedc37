"""Solving the model: HiGHS through highspy by default, CBC as the fallback.

Statuses become plain-language errors; a MIP may start from a known solution.
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


class _HighsWithStart(pulp.HiGHS):
    """PuLP's highspy interface, optionally handing HiGHS a starting solution first."""

    def __init__(self, start: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.start = start

    def callSolver(self, lp):
        if self.start:
            import highspy

            solution = highspy.HighsSolution()
            columns = lp.variables()
            solution.col_value = [float(self.start.get(v.name, 0.0)) for v in columns]
            solution.value_valid = True
            lp.solverModel.setSolution(solution)
        lp.solverModel.run()


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


def make_solver(
    name: str,
    msg: bool = False,
    time_limit: float | None = None,
    gap: float | None = None,
    start: dict | None = None,
    relax: bool = False,
    rough: bool = False,
):
    """A PuLP solver; `relax` solves a MIP's LP relaxation (binaries as [0, 1]); `rough`
    solves to START_OPTIONS' tolerance (HiGHS only), for a starting plan."""
    if name == "highs":
        if not msg:
            _consume_highs_banner()
        return _HighsWithStart(
            start=start,
            msg=msg,
            timeLimit=time_limit,
            gapRel=gap,
            mip=not relax,
            **HIGHS_OPTIONS,
            **(START_OPTIONS if rough else {}),
        )
    if name == "cbc":
        return pulp.PULP_CBC_CMD(msg=msg, timeLimit=time_limit, gapRel=gap, mip=not relax)
    raise SolverError(f"unknown solver '{name}'; use highs or cbc")


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
    try:
        status = ctx.prob.solve(
            make_solver(
                solver, time_limit=time_limit, gap=gap, start=start, relax=relax, rough=rough
            )
        )
        used = solver
    except pulp.PulpSolverError as exc:
        if solver != "highs":
            raise SolverError(f"solver {solver} failed: {exc}") from None
        status = ctx.prob.solve(make_solver("cbc", time_limit=time_limit, gap=gap, relax=relax))
        used = "cbc"
    return _report(ctx, status, used, started)


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
    columns = ctx.prob.variables()
    model.changeColsBounds(
        len(columns),
        np.array([v.index for v in columns], dtype=np.int32),
        np.array([-inf if v.lowBound is None else v.lowBound for v in columns], dtype=float),
        np.array([inf if v.upBound is None else v.upBound for v in columns], dtype=float),
    )
    model.setOptionValue("solver", "simplex")
    model.run()
    status, solution_status = make_solver(solver).findSolutionValues(ctx.prob)
    ctx.prob.assignStatus(status, solution_status)
    report = _report(ctx, status, solver, started)
    if report.status not in ("optimal", "infeasible"):
        return solve(ctx, solver)
    return report


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
    return {v.name: (v.varValue or 0.0) for v in ctx.prob.variables()}

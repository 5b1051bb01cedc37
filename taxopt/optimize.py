"""optimize(plan, rules) -> Result: build, solve, read the decisions, replay them in the ledger.

Exact mode finds its solution in steps, each one solved by HiGHS:
1. a starting plan: the exact model's LP relaxation (binaries between 0 and 1), solved to a
   looser tolerance since only its kinks' sides matter; its objective bounds every plan;
2. the ledger's true taxes of that plan say, for each kink, which side each year is on
   (the "regime"); the exact model with its binaries fixed to that regime is an LP whose
   taxes are exact (with `thorough`, repeated from each new plan while it improves);
3. unless that plan is within 0.02% of the bound, the same from a second start, the fast
   LP's plan (convex approximations of the kinks), keeping the better plan;
4. with `mip_seconds`, the full MILP started from that solution may improve it; its answer
   is re-solved as a regime LP so its taxes are exact too.
If no regime LP is feasible, the MILP is the fallback. The result's `method` says which
step produced the final plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from taxopt.decisions import Decisions
from taxopt.errors import InfeasiblePlanError, SolverError
from taxopt.ledger import Ledger, replay
from taxopt.model import build_model
from taxopt.model.context import ModelContext
from taxopt.plan import Plan
from taxopt.result import Result, reconcile
from taxopt.rules import RuleSet
from taxopt.solve import START_TOLERANCE, SolveReport, solve, values
from taxopt.stress import (
    DEFAULT_PATHS,
    DEFAULT_SEED,
    DEFAULT_TARGET,
    check_stress_options,
    stress_test,
)

DEFAULT_MIP_SECONDS = 0.0
FALLBACK_MIP_SECONDS = 30.0  # when no regime LP is feasible, the MILP gets this long
REGIME_ROUNDS = 4  # regime rounds from each start with --thorough or far from the bound
REGIME_TOLERANCE = 1e-4  # relative objective gain below which another regime round stops
BOUND_TOLERANCE = 2e-4  # a plan this close (relative) to the relaxation's bound is kept
DUST = 1e-7  # dollars: solver noise below this is zero


def optimize(
    plan: Plan,
    rules: RuleSet,
    mode: str | None = None,
    mip_seconds: float | None = None,
    solver: str | None = None,
    with_baselines: bool = True,
    lp_path: str | None = None,
    thorough: bool = False,
    paths: int = DEFAULT_PATHS,
    success: float = DEFAULT_TARGET,
    seed: int | None = DEFAULT_SEED,
) -> Result:
    """Optimize a plan under a rule set; the Result holds the ledger's tables.

    `paths` return paths (0: none) stress the optimized plan (taxopt.stress): the result's
    `stress` gives the success rate of its headline spending and the safe spending met on
    `success` of the paths (seeded by `seed`).

    Exact mode searches from the exact model's LP relaxation and, unless the plan found is
    within 0.02% of the relaxation's bound, from the fast LP too, keeping the better plan;
    `thorough` always tries both and repeats the regime step from each new plan while it
    improves (up to REGIME_ROUNDS).
    `lp_path` writes the final model as an LP file whose variable and constraint names
    (withdraw_2031_alex_roth, rmd_2040_blake_ira, ...) a person can read.
    """
    plan.check_against(rules)
    check_stress_options(paths, success)
    mode = mode or plan.options.mode
    solver = solver or plan.options.solver
    mip_seconds = DEFAULT_MIP_SECONDS if mip_seconds is None else mip_seconds
    started = time.perf_counter()

    clock = _Clock()
    bound = None
    if mode == "exact":
        found = _exact_search(plan, rules, solver, thorough, mip_seconds, clock)
        report, ctx, method, bound = found.report, found.ctx, found.method, found.bound
        decisions, ledger = found.decisions, found.ledger
    else:
        ctx = build_model(plan, rules, "fast")
        clock.build += ctx.build_seconds
        report = solve(ctx, solver)
        clock.solve += report.seconds
        _raise_if_unsolved(plan, rules, ctx, report)
        decisions, method = read_decisions(ctx), "lp"
        ledger = replay(plan, rules, decisions)
    if lp_path:
        ctx.prob.writeLP(str(lp_path))
    result = Result.from_run(
        plan=plan,
        rules=rules,
        ctx=ctx,
        decisions=decisions,
        ledger=ledger,
        report=report,
        build_seconds=clock.build,
        solve_seconds=clock.solve,
        method=method,
        reconciliation=reconcile(ctx, ledger),
    )
    result.objective_bound = bound
    if with_baselines:
        from taxopt.baselines import evaluate_baselines

        result.baselines = evaluate_baselines(plan, rules, result)
    if paths > 0:
        result.stress = stress_test(result, paths, success, seed)
    result.total_seconds = time.perf_counter() - started
    return result


@dataclass
class _Clock:
    """Seconds spent building models and in the solver."""

    build: float = 0.0
    solve: float = 0.0


@dataclass
class _Found:
    """What the exact search settles on."""

    report: SolveReport
    ctx: ModelContext
    decisions: Decisions
    ledger: Ledger
    method: str
    bound: float | None  # the exact model's LP relaxation's objective


def _exact_search(
    plan: Plan, rules: RuleSet, solver: str, thorough: bool, mip_seconds: float, clock: _Clock
) -> _Found:
    """Regime LPs from two starting plans, the better kept; then the optional MILP.

    The first start is the exact model's LP relaxation (binaries between 0 and 1). Its
    objective bounds every plan (each regime LP restricts the exact model it relaxes), so
    when the plan found from it is within BOUND_TOLERANCE of the bound no other search can
    be worth its time. Otherwise (or with `thorough`) the search goes on as far as it can:
    up to REGIME_ROUNDS regime rounds from that plan, then from the fast LP's plan, which
    lies elsewhere. Both starts only need their kinks' sides, so they are solved to a
    looser tolerance.
    """
    solved = _Solved()  # regimes already solved, shared by both starts
    relaxed = build_model(plan, rules, "exact")
    clock.build += relaxed.build_seconds
    relaxed_report = _solve_start(relaxed, solver, clock, relax=True)
    _raise_if_unsolved(plan, rules, relaxed, relaxed_report)  # no relaxation, no plan
    bound = _bound(plan, relaxed_report.objective)
    ledger = replay(plan, rules, read_decisions(relaxed))
    best = _search(plan, rules, ledger, solver, REGIME_ROUNDS if thorough else 1, solved, clock)
    if thorough or not _near(best, bound):
        # Far from the bound: search as --thorough does. More rounds from the relaxation's
        # plan, then the fast LP's plan as a second start.
        if not thorough and best is not None:
            more = _search(plan, rules, best.ledger, solver, REGIME_ROUNDS - 1, solved, clock)
            best = _best_of(plan, best, more)
        fast = build_model(plan, rules, "fast")
        clock.build += fast.build_seconds
        fast_report = _solve_start(fast, solver, clock)
        if fast_report.status == "optimal":
            ledger = replay(plan, rules, read_decisions(fast))
            second = _search(plan, rules, ledger, solver, REGIME_ROUNDS, solved, clock)
            best = _best_of(plan, best, second)
    found = None
    if best is not None:
        _restore(best.ctx, best.values)
        found = _Found(best.report, best.ctx, best.decisions, best.ledger, "regime-lp", bound)
    if mip_seconds <= 0 and found is not None:
        return found
    # The full MILP (same model as the relaxation, binaries integer this time), from the
    # best plan when there is one.
    start = {**best.values, **best.ctx.regime_values} if best is not None else None
    mip = solve(
        relaxed, solver, time_limit=mip_seconds or FALLBACK_MIP_SECONDS, gap=1e-4, start=start
    )
    clock.solve += mip.seconds
    improved = mip.objective is not None and (
        best is None or _better(plan, mip.objective, best.report.objective)
    )
    if mip.status not in ("optimal", "feasible") or not improved:
        if found is None:
            _raise_if_unsolved(plan, rules, relaxed, mip)
        return found
    decisions = read_decisions(relaxed)
    found = _Found(mip, relaxed, decisions, replay(plan, rules, decisions), "milp", bound)
    # A MIP solution honours its binaries only to the solver's tolerance, which big-M rows
    # turn into dollars; re-solve it as a regime LP to make it exact.
    rounds = REGIME_ROUNDS if thorough else 1
    polished, build_s, solve_s = _regime_search(plan, rules, found.ledger, solver, rounds)
    clock.build += build_s
    clock.solve += solve_s
    if polished is not None:
        found = _Found(
            polished.report,
            polished.ctx,
            polished.decisions,
            polished.ledger,
            "milp+regime-lp",
            bound,
        )
    return found


def _solve_start(ctx: ModelContext, solver: str, clock: _Clock, relax: bool = False):
    """Solve a starting model roughly (solve.START_OPTIONS); fully if that did not settle."""
    report = solve(ctx, solver, relax=relax, rough=True)
    clock.solve += report.seconds
    if report.status not in ("optimal", "infeasible"):
        report = solve(ctx, solver, relax=relax)
        clock.solve += report.seconds
    return report


def _bound(plan: Plan, relaxed_objective: float) -> float:
    """The relaxation's objective widened by its solve's tolerance: no plan beats it."""
    margin = 10 * START_TOLERANCE * max(1.0, abs(relaxed_objective))
    if plan.objective.kind == "min_tax":
        return relaxed_objective - margin
    return relaxed_objective + margin


def _search(
    plan: Plan,
    rules: RuleSet,
    ledger: Ledger,
    solver: str,
    rounds: int,
    solved: _Solved,
    clock: _Clock,
) -> _Candidate | None:
    """The regime search from a plan's ledger, timed on `clock`."""
    best, build_s, solve_s = _regime_search(plan, rules, ledger, solver, rounds, solved)
    clock.build += build_s
    clock.solve += solve_s
    return best


def _best_of(plan: Plan, a: _Candidate | None, b: _Candidate | None) -> _Candidate | None:
    if a is None or (b is not None and _better(plan, b.report.objective, a.report.objective)):
        return b
    return a


@dataclass
class _Candidate:
    report: SolveReport
    ctx: ModelContext
    values: dict[str, float]
    decisions: Decisions
    ledger: Ledger


def regime_from(ledger: Ledger, years: list[int]):
    """fixed_regime for build_model: each binary set by the ledger's true taxes."""
    index = {year: i for i, year in enumerate(years)}

    def value(_name: str, year: int, rule) -> int:
        i = index[year]
        return rule(ledger.inputs[i], ledger.taxes[i])

    return value


def _regime_values(kinks: list, ledger: Ledger, years: list[int]) -> dict[str, int]:
    value = regime_from(ledger, years)
    return {name: int(value(name, year, rule)) for name, year, rule in kinks}


@dataclass
class _Solved:
    """Regimes whose LP was built already, and the model's kinks once known."""

    regimes: list = field(default_factory=list)  # regime_values of each LP built
    kinks: list = field(default_factory=list)  # (name, year, rule) of every binary


def _regime_search(
    plan: Plan,
    rules: RuleSet,
    ledger: Ledger,
    solver: str,
    rounds: int = 1,
    solved: _Solved | None = None,
):
    """Build the exact model with its binaries fixed to the regime the ledger's true taxes
    imply (an LP without big-M rows), solve it, and repeat from the new plan's regime while
    the objective improves: a plan often sits on a kink, where the neighbouring regime can
    be better. A regime in `solved` is not solved again. Returns (best candidate or None,
    build seconds, solve seconds)."""
    best, build_s, solve_s, previous = None, 0.0, 0.0, None
    solved = solved or _Solved()
    for _ in range(rounds):
        if solved.kinks and _regime_values(solved.kinks, ledger, plan.years) in solved.regimes:
            break  # the new plan sits in a regime already solved: no need to build it
        ctx = build_model(plan, rules, "exact", regime_from(ledger, plan.years))
        build_s += ctx.build_seconds
        solved.kinks = ctx.regimes
        if ctx.regime_values in solved.regimes or ctx.regime_conflicts:
            break
        solved.regimes.append(ctx.regime_values)
        report = solve(ctx, solver)
        solve_s += report.seconds
        if report.status not in ("optimal", "feasible"):
            break
        decisions = read_decisions(ctx)
        ledger = replay(plan, rules, decisions)
        improves = best is None or _better(plan, report.objective, best.report.objective)
        if improves:
            previous = best
            best = _Candidate(report, ctx, values(ctx), decisions, ledger)
        # Stop when a round no longer improves by a meaningful amount.
        if not improves or (
            previous is not None
            and abs(report.objective - previous.report.objective)
            <= REGIME_TOLERANCE * max(1.0, abs(previous.report.objective))
        ):
            break
    if best is not None:
        _restore(best.ctx, best.values)
    return best, build_s, solve_s


def _near(candidate: _Candidate | None, bound: float | None) -> bool:
    """Whether a plan's objective is within BOUND_TOLERANCE of the relaxation's bound."""
    if candidate is None or candidate.report.objective is None or bound is None:
        return False
    gap = abs(bound - candidate.report.objective)
    return gap <= BOUND_TOLERANCE * max(1.0, abs(bound))


def _restore(ctx: ModelContext, solution: dict[str, float]) -> None:
    """Put a stored solution back into the model's variables (for reconciliation)."""
    for var in ctx.prob.variables():
        var.varValue = solution.get(var.name, 0.0)


def _better(plan: Plan, candidate: float, incumbent: float | None) -> bool:
    if incumbent is None:
        return True
    if plan.objective.kind == "min_tax":
        return candidate < incumbent - 1e-6
    return candidate > incumbent + 1e-6


def read_decisions(ctx: ModelContext) -> Decisions:
    """The solved model's decisions as plain data (nominal dollars)."""

    def val(var) -> float:
        v = var.varValue or 0.0
        return v if abs(v) > DUST else 0.0

    x = ctx.x
    decisions = Decisions(
        contributions={k: val(v) for k, v in x["contribute"].items()},
        withdrawals={k: val(v) for k, v in x["withdraw"].items()},
        conversions={k: val(v) for k, v in x["convert"].items()},
        allocation={(a, t, y): val(v) for (a, t, y), v in x["hold"].items() if a in ctx.sheltered},
        buys={k: val(v) for k, v in x["buy"].items()},
    )
    for lot in ctx.lots:
        for year in ctx.years:
            q = x["sell"].get((lot.key, year))
            if q is not None and val(q) > 0:
                decisions.lot_sales[lot.account, lot.tier, lot.year, lot.opening, year] = val(q)
    return decisions


def _raise_if_unsolved(plan: Plan, rules: RuleSet, ctx: ModelContext, report: SolveReport) -> None:
    if report.status in ("optimal", "feasible"):
        return
    if report.status == "infeasible":
        from taxopt.diagnose import explain_infeasibility

        raise InfeasiblePlanError(*explain_infeasibility(plan, rules))
    raise SolverError(
        f"the solver ({report.solver}) stopped with status '{report.status}' after "
        f"{report.seconds:.1f} s; try --solver cbc or --mode fast"
    )

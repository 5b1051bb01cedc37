"""optimize(plan, rules) -> Result: build, solve, read the decisions, replay them in the ledger.

Exact mode finds its solution in steps, each one solved by HiGHS:
1. the fast LP (convex approximations of the tax code's kinks) gives a first plan;
2. the ledger's true taxes of that plan say, for each kink, which side each year is on
   (the "regime"); the exact model with its binaries fixed to that regime is an LP whose
   taxes are exact (with `thorough`, repeated from each new plan while it improves, and
   also started from the exact model's LP relaxation);
3. with `mip_seconds`, the full MILP started from that solution may improve it; its answer
   is re-solved as a regime LP so its taxes are exact too.
If no regime LP is feasible, the relaxation start and then the MILP are the fallbacks.
4. the rules of thumb (taxopt.baselines) are replayed against the plan; if one of them
   does better on the plan's objective, the regime search restarts from that rule's own
   decisions and the better plan is kept (`hold_against_baselines`).
The result's `method` says which step produced the final plan. Inside
`taxopt.progress.watch` each step prints a line and no step starts after the time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from taxopt import progress
from taxopt.decisions import Decisions
from taxopt.errors import InfeasiblePlanError, SolverError
from taxopt.io import write_atomically
from taxopt.ledger import Ledger, replay
from taxopt.model import build_model
from taxopt.model.context import ModelContext
from taxopt.plan import Plan
from taxopt.result import PlanFigures, Result, plan_figures, reconcile
from taxopt.rules import Growth, RuleSet
from taxopt.solve import SolveReport, solve, values
from taxopt.validation import plan_warnings, uninvested_savings

DEFAULT_MIP_SECONDS = 0.0
FALLBACK_MIP_SECONDS = 30.0  # when no regime LP is feasible, the MILP gets this long
REGIME_ROUNDS = 4  # --thorough: regime rounds from each start (default: one)
REGIME_TOLERANCE = 1e-4  # relative objective gain below which another regime round stops
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
) -> Result:
    """Optimize a plan under a rule set; the Result holds the ledger's tables.

    `thorough` (exact mode) repeats the regime step from each new plan while it improves and
    also searches from the exact model's LP relaxation, keeping the better plan: two to
    four times the time, sometimes a few tenths of a percent better.
    `lp_path` writes the final model as an LP file whose variable and constraint names
    (withdraw_2031_alex_roth, rmd_2040_blake_ira, ...) a person can read.
    """
    plan.check_against(rules)
    mode = mode or plan.options.mode
    solver = solver or plan.options.solver
    mip_seconds = DEFAULT_MIP_SECONDS if mip_seconds is None else mip_seconds
    started = time.perf_counter()
    build_seconds = solve_seconds = 0.0

    fast = build_model(plan, rules, "fast")
    build_seconds += fast.build_seconds
    report = solve(fast, solver, time_limit=progress.seconds_left())
    solve_seconds += report.seconds
    _raise_if_unsolved(plan, rules, fast, report)
    ctx, decisions = fast, read_decisions(fast)
    ledger = replay(plan, rules, decisions)
    method = "lp"
    progress.step(f"fast LP solved ({len(plan.years)} years, {report.seconds:.1f} s)")
    notes = []

    if mode == "exact" and progress.out_of_time():
        notes.append(_TIME_LIMIT_NOTE.format(step="the exact search") + _FAST_PLAN)
    elif mode == "exact":
        rounds = REGIME_ROUNDS if thorough else 1
        best, build_s, solve_s = _regime_search(plan, rules, ledger, solver, rounds)
        build_seconds += build_s
        solve_seconds += solve_s
        if (best is None or thorough) and not progress.out_of_time():
            # A second start: the exact model's LP relaxation, whose plan lies elsewhere
            # (needed when the fast plan's regime admits no plan; --thorough always tries it
            # and keeps the better of the two).
            relaxed = build_model(plan, rules, "exact")
            build_seconds += relaxed.build_seconds
            relaxed_report = solve(
                relaxed, solver, relax=True, time_limit=progress.seconds_left()
            )
            progress.step("exact model's LP relaxation solved (second start)")
            solve_seconds += relaxed_report.seconds
            if relaxed_report.status == "optimal":
                start_ledger = replay(plan, rules, read_decisions(relaxed))
                second, build_s, solve_s = _regime_search(plan, rules, start_ledger, solver, rounds)
                build_seconds += build_s
                solve_seconds += solve_s
                if second is not None and (
                    best is None or _better(plan, second.report.objective, best.report.objective)
                ):
                    best = second
                if best is not None:
                    _restore(best.ctx, best.values)
        if best is not None:
            report, ctx, method = best.report, best.ctx, "regime-lp"
            decisions, ledger = best.decisions, best.ledger
        if best is None and progress.out_of_time():
            notes.append(_TIME_LIMIT_NOTE.format(step="the exact search") + _FAST_PLAN)
        elif mip_seconds > 0 or best is None:
            exact = build_model(plan, rules, "exact")
            build_seconds += exact.build_seconds
            start = {**best.values, **best.ctx.regime_values} if best is not None else None
            limit = mip_seconds or FALLBACK_MIP_SECONDS
            left = progress.seconds_left()
            limit = limit if left is None else min(limit, left)
            mip = solve(exact, solver, time_limit=limit, gap=1e-4, start=start)
            solve_seconds += mip.seconds
            progress.step(f"full MILP stopped: {mip.status} ({mip.seconds:.1f} s)")
            improved = mip.objective is not None and (
                best is None or _better(plan, mip.objective, best.report.objective)
            )
            if mip.status in ("optimal", "feasible") and improved:
                report, ctx, method = mip, exact, "milp"
                decisions = read_decisions(exact)
                ledger = replay(plan, rules, decisions)
                # A MIP solution honours its binaries only to the solver's tolerance, which
                # big-M rows turn into dollars; re-solve it as a regime LP to make it exact.
                polished, build_s, solve_s = _regime_search(plan, rules, ledger, solver, rounds)
                build_seconds += build_s
                solve_seconds += solve_s
                if polished is not None:
                    report, ctx, method = polished.report, polished.ctx, "milp+regime-lp"
                    decisions, ledger = polished.decisions, polished.ledger
            elif best is None:
                _raise_if_unsolved(plan, rules, exact, mip)
    if lp_path:
        write_atomically(lp_path, lambda tmp: ctx.prob.writeLP(str(tmp)), kind="lp")
    result = Result.from_run(
        plan=plan,
        rules=rules,
        ctx=ctx,
        decisions=decisions,
        ledger=ledger,
        report=report,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        method=method,
        reconciliation=reconcile(ctx, ledger),
    )
    result.notes.extend([*plan_warnings(plan, rules), *notes])
    result.notes.extend(uninvested_savings(plan, rules, result.yearly))
    if with_baselines:
        result = hold_against_baselines(plan, rules, result, solver, REGIME_ROUNDS)
    result.total_seconds = time.perf_counter() - started
    return result


_TIME_LIMIT_NOTE = "the time limit was reached before {step}"
_FAST_PLAN = "; this is the fast LP's plan (taxes approximated, see the reconciliation)"
BASELINE_TOLERANCE = 1.0  # today's dollars: a rule of thumb ahead by less is a tie


def plan_score(plan: Plan, rules: RuleSet, figures: PlanFigures, ledger: Ledger) -> float:
    """The plan's objective read from the ledger (today's dollars; higher is better), the
    same measure for the optimized plan and for a rule of thumb."""
    kind = plan.objective.kind
    if kind == "max_spending":
        return figures.sustainable_spending
    if kind == "max_estate":
        return figures.after_tax_estate - figures.lifetime_tax
    # min_tax: lifetime tax plus the heirs' tax on deferred balances, as the model counts it
    last = ledger.yearly.iloc[-1]
    heirs = sum(
        last[f"closing_{a.name}"] * plan.objective.heir_tax_rate
        for a in plan.accounts
        if rules.account_kinds[a.kind].growth == Growth.DEFERRED
    ) / plan.inflation_factor(plan.end_year + 1)
    return -(figures.lifetime_tax + heirs)


def hold_against_baselines(
    plan: Plan, rules: RuleSet, result: Result, solver: str, rounds: int
) -> Result:
    """Replay the rules of thumb; if one beats the optimized plan on the plan's objective,
    restart the regime search from that rule's own decisions (its ledger's regime: the LP
    over that regime contains the rule's own plan, so it can only do better) and keep the
    better plan, then replay the rules against it. Rules are tried best first, until one
    restart beats them all. If a rule still wins, the result's warnings say so, with the
    gap in the plan's own terms."""
    from taxopt.baselines import run_baselines

    searched = False
    for attempt in range(2):
        progress.step("rules of thumb: replaying the three baselines")
        runs = run_baselines(plan, rules, result)
        result.baselines = {name: run.figures for name, run in runs.items()}
        mine = plan_score(plan, rules, result.figures, result.ledger)
        scores = {n: plan_score(plan, rules, r.figures, r.ledger) for n, r in runs.items()}
        ahead = sorted((s, n) for n, s in scores.items() if s > mine + BASELINE_TOLERANCE)[::-1]
        if not ahead:
            return result
        if attempt == 1 or progress.out_of_time():
            break
        improved, best = None, mine
        for _score, name in ahead:
            if best >= ahead[0][0] - BASELINE_TOLERANCE or progress.out_of_time():
                break
            progress.step(f"{name} does better; searching again from its decisions")
            candidate, build_s, solve_s = _regime_search(
                plan, rules, runs[name].ledger, solver, rounds
            )
            searched = True
            result.build_seconds += build_s
            result.solve_seconds += solve_s
            if candidate is None:
                continue
            score = plan_score(plan, rules, plan_figures(plan, candidate.ledger), candidate.ledger)
            if score > best:
                best = score
                improved = _result_from(plan, rules, candidate, result, f"regime-lp from {name}")
        if improved is None:
            break
        result = improved
    best_score, best_name = ahead[0]
    why = (
        "a search restarted from its decisions did not close the gap"
        if searched
        else "the time limit left no time to search again from its decisions"
    )
    result.notes.append(
        f"the rule of thumb {best_name} does better than the optimized plan by "
        f"{_gap_text(plan, best_score - mine)} (today's dollars); {why}. Try --thorough, "
        "--mip-seconds 60 or a longer --time-limit"
    )
    return result


def _gap_text(plan: Plan, gap: float) -> str:
    kind = plan.objective.kind
    if kind == "max_spending":
        return f"${gap:,.0f} a year of spending"
    if kind == "max_estate":
        return f"${gap:,.0f} of estate net of lifetime tax"
    return f"${gap:,.0f} of lifetime tax"


def _result_from(
    plan: Plan, rules: RuleSet, candidate: _Candidate, previous: Result, method: str
) -> Result:
    """A Result for a regime-search candidate, carrying the run's times and notes."""
    _restore(candidate.ctx, candidate.values)
    result = Result.from_run(
        plan=plan,
        rules=rules,
        ctx=candidate.ctx,
        decisions=candidate.decisions,
        ledger=candidate.ledger,
        report=candidate.report,
        build_seconds=previous.build_seconds,
        solve_seconds=previous.solve_seconds,
        method=method,
        reconciliation=reconcile(candidate.ctx, candidate.ledger),
    )
    result.notes.extend(previous.notes)
    return result


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


def _regime_search(plan: Plan, rules: RuleSet, ledger: Ledger, solver: str, rounds: int = 1):
    """Build the exact model with its binaries fixed to the regime the ledger's true taxes
    imply (an LP without big-M rows), solve it, and repeat from the new plan's regime while
    the objective improves: a plan often sits on a kink, where the neighbouring regime can
    be better. Returns (best candidate or None, build seconds, solve seconds)."""
    best, build_s, solve_s, seen, previous = None, 0.0, 0.0, [], None
    kinks: list = []  # (name, year, rule) of every binary, known after the first build
    for _ in range(rounds):
        if progress.out_of_time():
            break
        if kinks and _regime_values(kinks, ledger, plan.years) in seen:
            break  # the new plan sits in a regime already solved: no need to build it
        ctx = build_model(plan, rules, "exact", regime_from(ledger, plan.years))
        build_s += ctx.build_seconds
        kinks = ctx.regimes
        if ctx.regime_values in seen or ctx.regime_conflicts:
            break
        seen.append(ctx.regime_values)
        report = solve(ctx, solver, time_limit=progress.seconds_left())
        solve_s += report.seconds
        progress.step(f"regime LP {len(seen)}: {report.status} ({report.seconds:.1f} s)")
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
    if progress.out_of_time():
        raise SolverError(
            f"the time limit ran out after {report.seconds:.1f} s of solving, before any "
            "plan was found; raise --time-limit or use --mode fast"
        )
    raise SolverError(
        f"the solver ({report.solver}) stopped with status '{report.status}' after "
        f"{report.seconds:.1f} s; try --solver cbc or --mode fast"
    )

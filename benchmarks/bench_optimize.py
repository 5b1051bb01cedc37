"""How fast is taxopt.optimize, and where does the time go? (Not part of the test suite.)

    python benchmarks/bench_optimize.py [--quick] [--runs N]   # build/solve table by horizon
    python benchmarks/bench_optimize.py --highs                # HiGHS options, 45 and 80 years
    python benchmarks/bench_optimize.py --profile              # build profile, PuLP->HiGHS handoff
    python benchmarks/bench_optimize.py --quick --state ca     # the same with state income tax
    python benchmarks/bench_optimize.py --horizons 45 --state ma --irmaa  # and IRMAA premiums

Plans: examples/couple-near-retirement.toml with its horizon changed (see plan_with_horizon).
Times are seconds of wall clock (medians); CPU seconds are printed too because the machine
may be shared, and a busy neighbour inflates wall time but not CPU time of a 1-thread solve.
Tables go to benchmarks/results/ as CSV and markdown.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is benchmarks/; put the checkout first so `import taxopt` is
# this tree even where the editable install resolves taxopt as a namespace package.
sys.path.insert(0, str(REPO))

import pulp  # noqa: E402

from taxopt import load_rules, optimize  # noqa: E402
from taxopt.ledger import replay  # noqa: E402
from taxopt.model import build_model  # noqa: E402
from taxopt.model.context import ModelContext  # noqa: E402
from taxopt.optimize import read_decisions  # noqa: E402
from taxopt.plan import Plan, plan_from_dict  # noqa: E402
from taxopt.rules import RuleSet  # noqa: E402
from taxopt.stress import stress_test  # noqa: E402

PLAN_FILE = REPO / "examples" / "couple-near-retirement.toml"
RULES = "us-federal-2026"
RESULTS = Path(__file__).resolve().parent / "results"
HORIZONS = (10, 20, 30, 45, 60, 80)
QUICK_HORIZONS = (10, 45)
MODES = ("fast", "exact")
MAX_HORIZON_AGE = 120  # Plan.horizon_age's upper limit
# Targets on the 2-core benchmark machine: (years, mode) -> build + solve seconds.
TARGETS = {(45, "exact"): 1.5, (45, "fast"): 0.5, (80, "exact"): 4.0}

# HiGHS option sets compared by --highs (passed to highspy's setOptionValue via pulp.HiGHS).
HIGHS_CONFIGS: dict[str, dict] = {
    "default (choose: dual simplex)": {},
    "simplex dual serial": {"solver": "simplex", "simplex_strategy": 1},
    "simplex dual SIP, parallel": {"solver": "simplex", "simplex_strategy": 3, "parallel": "on"},
    "simplex dual PAMI, parallel": {"solver": "simplex", "simplex_strategy": 2, "parallel": "on"},
    "simplex primal": {"solver": "simplex", "simplex_strategy": 4},
    "presolve off": {"presolve": "off"},
    "parallel on": {"parallel": "on"},
    "ipm (crossover)": {"solver": "ipm"},
    "ipm, no crossover": {"solver": "ipm", "run_crossover": "off"},
    "pdlp": {"solver": "pdlp"},
}
HIGHS_TIME_LIMIT = 30.0  # seconds per solve: pdlp and parallel variants can be very slow
# Measured 5-20x slower than the default at 45 years: not repeated at longer horizons.
SLOW_CONFIGS = {"simplex dual PAMI, parallel", "pdlp"}


# -- plans ----------------------------------------------------------------------------------


def base_plan_dict() -> dict:
    with PLAN_FILE.open("rb") as handle:
        return tomllib.load(handle)


def plan_with_horizon(base: dict, years: int) -> Plan:
    """The couple plan modelled over exactly `years` calendar years.

    The horizon ends when the youngest (Blake, 59 in 2026) reaches `horizon_age`, so
    horizon_age = 58 + years keeps the same household for 10..62 years. Beyond 62 years the
    age would pass Plan's limit of 120: horizon_age is held at 120 and both people are born
    that many years later, with retirement_year moved by the same amount (same retirement
    ages, Social Security ages and glide path; just a younger couple with more working years).
    """
    data = dict(base)
    youngest = max(p["birth_year"] for p in data["people"])
    age_needed = data["start_year"] + years - 1 - youngest
    shift = max(0, age_needed - MAX_HORIZON_AGE)
    data["horizon_age"] = age_needed - shift
    data["people"] = [{**p, "birth_year": p["birth_year"] + shift} for p in data["people"]]
    data["retirement_year"] = data["retirement_year"] + shift
    plan = plan_from_dict(data, source=f"{PLAN_FILE.name} ({years} years)")
    if len(plan.years) != years:
        raise RuntimeError(f"horizon arithmetic is off: {len(plan.years)} years, not {years}")
    return plan


# -- timing helpers ---------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process incl. threads, fn's return value)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# -- 1. build and solve by horizon and mode ---------------------------------------------------


def bench_modes(
    rules: RuleSet,
    horizons: tuple[int, ...],
    runs: int,
    state: str | None = None,
    irmaa: bool = False,
) -> list[dict]:
    base = base_plan_dict()
    if state is not None:
        base["state"] = state
    # Explicit both ways: IRMAA is on by default, and the plain rows stay comparable.
    base.setdefault("options", {})["irmaa"] = irmaa
    rows = []
    for years in horizons:
        plan = plan_with_horizon(base, years)
        for mode in MODES:
            samples = []
            for _ in range(runs):
                wall, cpu, result = timed(
                    lambda plan=plan, mode=mode: optimize(
                        plan, rules, mode=mode, with_baselines=False, paths=0
                    )
                )
                samples.append((result.build_seconds, result.solve_seconds, wall, cpu, result))
            last = samples[-1][4]
            # What the stress pass (optimize's default, taxopt.stress) adds on top.
            stress_wall, stress_cpu, _ = timed(lambda last=last: stress_test(last))
            build = statistics.median(s[0] for s in samples)
            solve = statistics.median(s[1] for s in samples)
            target = TARGETS.get((years, mode))
            rows.append(
                {
                    "horizon_years": years,
                    "mode": mode,
                    "method": last.method,
                    "variables": last.model_size["variables"],
                    "constraints": last.model_size["constraints"],
                    "binaries": last.model_size["binaries"],
                    "regime_binaries_fixed": last.model_size.get("regime_binaries_fixed", 0),
                    "build_s": build,
                    "solve_s": solve,
                    "total_s": build + solve,
                    "optimize_wall_s": statistics.median(s[2] for s in samples),
                    "optimize_cpu_s": statistics.median(s[3] for s in samples),
                    "target_s": target,
                    "meets_target": "" if target is None else build + solve <= target,
                    "spending_real": round(last.figures.sustainable_spending, 2),
                    "objective": round(last.objective, 2),
                    "stress_wall_s": stress_wall,
                    "stress_cpu_s": stress_cpu,
                }
            )
            print(_format_row(rows[-1]), flush=True)
    return rows


# -- 2. HiGHS options -------------------------------------------------------------------------


def regime_fixed_exact(plan: Plan, rules: RuleSet) -> tuple[ModelContext, ModelContext]:
    """The fast LP (solved) and the exact model with its binaries fixed, as optimize does."""
    fast = build_model(plan, rules, "fast")
    fast.prob.solve(pulp.HiGHS(msg=False))
    ledger = replay(plan, rules, read_decisions(fast))
    steps = importlib.import_module("taxopt.optimize")  # the module; taxopt.optimize is the fn
    if hasattr(steps, "regime_from"):  # binaries substituted while building: a plain LP
        return fast, build_model(plan, rules, "exact", steps.regime_from(ledger, plan.years))
    exact = build_model(plan, rules, "exact")  # older optimize: fixed binary columns
    steps._fix(exact, steps.regime_of(exact, ledger))
    return fast, exact


def bench_highs(rules: RuleSet, horizons: tuple[int, ...], runs: int) -> list[dict]:
    """Each option set on three problems: the fast LP; the regime-fixed exact model solved
    the way optimize does today (binaries still integer, so HiGHS runs its MIP solver); and
    the same model with mip=False (HiGHS' LP solver; the fixed binaries are plain columns)."""
    base = base_plan_dict()
    rows = []
    for years in horizons:
        fast, exact = regime_fixed_exact(plan_with_horizon(base, years), rules)
        label = _exact_label(exact)
        problems = {"fast LP": (fast, True), label: (exact, True)}
        if exact.binaries and "regime_values" not in vars(exact):
            problems["exact fixed, mip=False"] = (exact, False)
        for problem, (ctx, mip) in problems.items():
            for config, options in HIGHS_CONFIGS.items():
                if years > 45 and config in SLOW_CONFIGS:
                    continue
                rows.append(_highs_row(years, problem, config, ctx, mip, options, runs))
                print(_format_row(rows[-1]), flush=True)
    return rows


def _exact_label(exact: ModelContext) -> str:
    """Older builds keep the fixed binaries as integer columns (HiGHS' MIP path)."""
    integer = any(v.cat == pulp.LpInteger for v in exact.prob.variables())
    return "exact fixed, as MIP" if integer else "exact regime LP"


def _highs_row(years, problem, config, ctx, mip, options, runs) -> dict:
    samples = []
    for _ in range(runs):
        solver = pulp.HiGHS(msg=False, mip=mip, timeLimit=HIGHS_TIME_LIMIT, **options)
        wall, cpu, _ = timed(lambda solver=solver: ctx.prob.solve(solver))
        samples.append((wall, cpu))
        if wall > HIGHS_TIME_LIMIT / 2:
            break  # one sample of a hopeless configuration is enough
    highs = ctx.prob.solverModel
    info = highs.getInfo()
    status = highs.getModelStatus().name.removeprefix("k")
    return {
        "horizon_years": years,
        "problem": problem,
        "options": config,
        "wall_s": statistics.median(s[0] for s in samples),
        "cpu_s": statistics.median(s[1] for s in samples),
        "runs": len(samples),
        "status": status,
        "objective": round(pulp.value(ctx.prob.objective), 4) if status == "Optimal" else None,
        "simplex_iterations": max(info.simplex_iteration_count, 0),
        "ipm_iterations": max(info.ipm_iteration_count, 0),
        "max_primal_infeasibility": info.max_primal_infeasibility,
    }


# -- 3. profile: build components, the PuLP -> HiGHS handoff ----------------------------------


class _StepTimedHiGHS(pulp.HiGHS):
    """pulp.HiGHS.actualSolve with each step timed (the same steps, in the same order)."""

    steps: dict[str, float]

    def actualSolve(self, lp):
        self.steps = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.steps[name] = now - clock
            clock = now

        self.createAndConfigureSolver(lp)
        lap("configure")
        self.buildSolverModel(lp)
        lap("handoff (buildSolverModel)")
        self.callSolver(lp)
        lap("HiGHS run")
        status, sol_status = self.findSolutionValues(lp)
        for var in lp.variables():
            var.modified = False
        for constraint in lp._constraints.values():
            constraint.modifier = False
        lp.assignStatus(status, sol_status)
        lap("read back (findSolutionValues)")
        return status


def profile_build(plan: Plan, rules: RuleSet, mode: str, top: int = 15) -> str:
    build_model(plan, rules, mode)  # warm caches (rules.for_year etc.) as a second build would
    profiler = cProfile.Profile()
    profiler.enable()
    build_model(plan, rules, mode)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumtime").print_stats(top)
    return _strip_paths(out.getvalue())


def _strip_paths(text: str) -> str:
    return text.replace(str(REPO) + "/", "").replace(
        str(Path(pulp.__file__).resolve().parent.parent) + "/", ""
    )


def handoff_rows(rules: RuleSet, horizons: tuple[int, ...]) -> list[dict]:
    """Each step of pulp.HiGHS on the fast LP and the regime-fixed exact model."""
    base = base_plan_dict()
    rows = []
    for years in horizons:
        fast, exact = regime_fixed_exact(plan_with_horizon(base, years), rules)
        for problem, ctx in (("fast LP", fast), (_exact_label(exact), exact)):
            solver = _StepTimedHiGHS(msg=False)
            wall, _, _ = timed(lambda solver=solver, ctx=ctx: ctx.prob.solve(solver))
            row = {"horizon_years": years, "problem": problem, "solve_wall_s": wall}
            row.update({k: v for k, v in solver.steps.items()})
            row["outside actualSolve"] = wall - sum(solver.steps.values())
            rows.append(row)
            print(_format_row(rows[-1]), flush=True)
    return rows


def taxable_buys_rows(rules: RuleSet, horizons: tuple[int, ...]) -> list[dict]:
    """Model size with options.taxable_buys = always vs contribution_years."""
    base = base_plan_dict()
    rows = []
    for years in horizons:
        for buys in ("always", "contribution_years"):
            data = {**base, "options": {**base.get("options", {}), "taxable_buys": buys}}
            plan = plan_with_horizon(data, years)
            ctx = build_model(plan, rules, "fast")
            sells = len(ctx.variables["sell"])
            wall, cpu, _ = timed(lambda ctx=ctx: ctx.prob.solve(pulp.HiGHS(msg=False)))
            rows.append(
                {
                    "horizon_years": years,
                    "taxable_buys": buys,
                    "variables": len(ctx.prob.variables()),
                    "lot_sale_variables": sells,
                    "lots": len(ctx.lots),
                    "fast_build_s": ctx.build_seconds,
                    "fast_solve_wall_s": wall,
                    "fast_solve_cpu_s": cpu,
                }
            )
            print(_format_row(rows[-1]), flush=True)
    return rows


# -- output -----------------------------------------------------------------------------------


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1e5 else f"{value:.6g}"
    return "" if value is None else str(value)


def _format_row(row: dict) -> str:
    return "  ".join(f"{k}={_format_value(v)}" for k, v in row.items())


def markdown_table(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_format_value(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, rows: list[dict], note: str, out_dir: Path) -> None:
    """<name>.csv and <name>.md in out_dir (the markdown carries the run's note)."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out_dir / f"{name}.csv", index=False)
    text = f"# {name}\n\n{note}\n\n{markdown_table(rows)}\n"
    (out_dir / f"{name}.md").write_text(text, encoding="utf-8")
    print(f"\nwrote {out_dir / name}.csv and .md\n")


def run_note(runs: int) -> str:
    import subprocess
    from importlib.metadata import version

    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}, taxopt at commit {commit or '?'} (plus any "
        f"uncommitted edits), median of {runs} run(s); Python "
        f"{sys.version.split()[0]}, PuLP {pulp.__version__}, highspy "
        f"{version('highspy')}; {load_note()} at the end of the run. "
        f"Plan: {PLAN_FILE.name}, horizon varied as in plan_with_horizon(); rules {RULES}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 and 45 years, 3 runs")
    parser.add_argument("--runs", type=int, help="runs per cell (default 5; --quick 3)")
    parser.add_argument("--horizons", type=int, nargs="+", help="years to time (default all)")
    parser.add_argument("--highs", action="store_true", help="compare HiGHS options")
    parser.add_argument("--profile", action="store_true", help="profile build and handoff")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--state", help="give the plan this US state's income tax (ca, pa, ...)")
    parser.add_argument("--irmaa", action="store_true", help="plan with IRMAA premiums")
    args = parser.parse_args(argv)
    rules = load_rules(RULES)
    horizons = tuple(args.horizons or (QUICK_HORIZONS if args.quick else HORIZONS))
    if args.highs:
        runs = args.runs or 3
        rows = bench_highs(rules, (45,) if args.quick else (45, 80), runs)
        write_results("highs_options", rows, run_note(runs), args.out)
    if args.profile:
        plan = plan_with_horizon(base_plan_dict(), 80)
        text = profile_build(plan, rules, "exact")
        print(text)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "profile_build_80y_exact.txt").write_text(text, encoding="utf-8")
        write_results("handoff", handoff_rows(rules, (45, 80)), run_note(1), args.out)
        write_results("taxable_buys", taxable_buys_rows(rules, (45, 80)), run_note(1), args.out)
    if not (args.highs or args.profile):
        runs = args.runs or (3 if args.quick else 5)
        rows = bench_modes(rules, horizons, runs, args.state, args.irmaa)
        print()
        print(markdown_table(rows))
        name = "optimize_by_horizon" if horizons == HORIZONS else "optimize_selected_horizons"
        name += f"_{args.state}" if args.state else ""
        name += "_irmaa" if args.irmaa else ""
        write_results(name, rows, run_note(runs), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

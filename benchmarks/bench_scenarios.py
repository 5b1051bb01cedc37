"""Size and time of the scenario model (taxopt.scenarios) against the number of scenarios.

    python benchmarks/bench_scenarios.py                 # N = 4..64, the 30-year couple
    python benchmarks/bench_scenarios.py --highs 16      # HiGHS options on the N = 16 model
    python benchmarks/bench_scenarios.py --sizes 8 16 --years 37

The plan is examples/couple-near-retirement.toml with its horizon cut to 30 years
(horizon_age 84: 2026-2055) unless --years says otherwise; rules us-federal-2026; fan tree
(branching in the first year), seed 0, target 0.9. Times are wall and CPU seconds of this
process (HiGHS runs in it); the machine's load average is recorded with them: on a shared
machine read the CPU column. Results: benchmarks/results/scenarios.md and .csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
import tomllib
from pathlib import Path

import pandas as pd
from bench_optimize import markdown_table  # benchmarks/ is the script's folder

import taxopt
from taxopt.model import build_model
from taxopt.optimize import _with_implied_accounts
from taxopt.plan import plan_from_dict
from taxopt.scenarios import (
    SCENARIO_OPTIONS,
    _combine,
    _shared_columns,
    make_tree,
    path_growth,
    sample_tree,
    solve_scenarios,
)
from taxopt.solve import _consume_highs_banner, highs_lp

RESULTS = Path(__file__).parent / "results"
OPTION_SETS = {
    "ipm with crossover (default)": SCENARIO_OPTIONS,
    "ipm, no crossover, tol 1e-6": {
        "solver": "ipm",
        "run_crossover": "off",
        "ipm_optimality_tolerance": 1e-6,
    },
    "dual simplex": {"solver": "simplex", "simplex_strategy": 1},
    "hipo (HiGHS' new IPM), no crossover": {
        "solver": "hipo",
        "run_crossover": "off",
        "ipm_optimality_tolerance": 1e-6,
    },
    "pdlp (first order), tol 1e-4": {"solver": "pdlp", "pdlp_optimality_tolerance": 1e-4},
}


def couple(years: int, rules):
    path = Path(__file__).parent.parent / "examples/couple-near-retirement.toml"
    data = tomllib.loads(path.read_text())
    youngest = max(p["birth_year"] for p in data["people"])
    data["horizon_age"] = data["start_year"] + years - 1 - youngest
    plan, _ = _with_implied_accounts(plan_from_dict(data), rules)
    return plan


def build(plan, rules, n: int):
    started, cpu = time.perf_counter(), time.process_time()
    tree = make_tree(plan, n)
    returns = sample_tree(plan, tree, 0)
    contexts = [
        build_model(plan, rules, "fast", None, None, path_growth(plan, returns[s]))
        for s in range(n)
    ]
    combined, _level, cvar = _combine(plan, contexts, _shared_columns(tree, contexts), 0.9)
    lp = highs_lp(combined)
    return lp, time.perf_counter() - started, time.process_time() - cpu


def run(lp, options: dict, limit: float):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", limit)
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    started, cpu = time.perf_counter(), time.process_time()
    h.run()
    return (
        str(h.getModelStatus()).split(".")[-1],
        -h.getInfo().objective_function_value,
        time.perf_counter() - started,
        time.process_time() - cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[4, 8, 16, 32, 64])
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--highs", type=int, default=None, metavar="N")
    parser.add_argument("--limit", type=float, default=600.0)
    parser.add_argument(
        "--tail",
        action="store_true",
        help="time taxopt's own solve_scenarios (the fan's tail subset and checks) instead "
        "of the whole LP: results/scenarios_tail.md",
    )
    args = parser.parse_args()
    if args.tail:
        return tail_main(args.sizes, args.years)
    rules = taxopt.load_rules("us-federal-2026")
    plan = couple(args.years, rules)
    _consume_highs_banner()
    rows = []
    sets = OPTION_SETS if args.highs else {"default": SCENARIO_OPTIONS}
    for n in [args.highs] if args.highs else args.sizes:
        lp, build_wall, build_cpu = build(plan, rules, n)
        for label, options in sets.items():
            status, objective, wall, cpu = run(lp, options, args.limit)
            row = {
                "years": len(plan.years),
                "scenarios": n,
                "options": label,
                "rows": lp.num_row_,
                "columns": lp.num_col_,
                "nonzeros": len(lp.a_matrix_.value_),
                "build_wall_s": round(build_wall, 2),
                "build_cpu_s": round(build_cpu, 2),
                "solve_wall_s": round(wall, 2),
                "solve_cpu_s": round(cpu, 2),
                "status": status,
                "objective": round(objective, 2),
                "load": round(os.getloadavg()[0], 2),
            }
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    name = "scenarios_highs" if args.highs else "scenarios"
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / f"{name}.csv", index=False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    head = (
        f"commit {commit}, {platform.python_version()}, {os.cpu_count()} cores, shared with "
        "other jobs (load average in the table)\n\n"
    )
    (RESULTS / f"{name}.md").write_text(head + markdown_table(rows) + "\n")


def tail_main(sizes: list[int], years: int) -> None:
    """solve_scenarios on the fan (taxopt.scenarios.tail_start / _below_the_tail): the
    final LP's size, the scenarios in it, CPU seconds of the whole call (builds, LPs and
    the left-out scenarios' checks) and the CVaR."""
    rules = taxopt.load_rules("us-federal-2026")
    plan = couple(years, rules)
    _consume_highs_banner()
    rows = []
    for n in sizes:
        tree = make_tree(plan, n)
        returns = sample_tree(plan, tree, 0)
        started, cpu = time.perf_counter(), time.process_time()
        solved = solve_scenarios(plan, rules, tree, returns, 0.9)
        row = {
            "years": len(plan.years),
            "scenarios": n,
            "in final LP": solved.tail_scenarios,
            "rows": solved.rows,
            "columns": solved.columns,
            "nonzeros": solved.nonzeros,
            "total_wall_s": round(time.perf_counter() - started, 2),
            "total_cpu_s": round(time.process_time() - cpu, 2),
            "cvar": round(solved.cvar, 2),
            "load": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        print(row, flush=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    pd.DataFrame(rows).to_csv(RESULTS / "scenarios_tail.csv", index=False)
    (RESULTS / "scenarios_tail.md").write_text(
        f"commit {commit}, {platform.python_version()}, {os.cpu_count()} cores shared with "
        "other jobs (load average in the table); 30-year couple, fan tree, seed 0, target "
        "0.9; taxopt.scenarios.solve_scenarios as optimize calls it (HiGHS IPM with "
        "crossover)\n\n" + markdown_table(rows) + "\n"
    )


if __name__ == "__main__":
    main()

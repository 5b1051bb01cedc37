"""Out of sample: does choosing this year's moves against many paths pay on fresh paths?

For each example plan (objective set to max_spending: safe spending is the measure), two
plans are made: the deterministic one (`taxopt.optimize`, its default exact mode on the
median path) and the scenario one (`optimize(..., scenarios=N)`, whose later years are the
same exact-mode planner's re-plan on the median path from the state its first year
leaves). Each is turned into a simulator policy (taxopt.simulate.policy_from_result) whose
FIRST year is the plan's own decisions, with two rules for the later years, each the same
for both plans:

- `replan`: the median-path plan from the state after year one (the deterministic
  planner's own rule; for the deterministic plan, its own later years);
- `held`: every account keeps the tier shares it has after this year's moves (location
  held for life); contributions, conversions, the taxable sales' fractions and the planned
  withdrawals of the later years are the deterministic plan's (open loop, identical for
  both), and the simulator's need-based draws use the deterministic plan's order.

Both policies are replayed on the same 10,000 fresh lognormal paths (seed 20261, not the
scenario model's seed), and the safe spending at the plan's target (the highest constant
real spending met on at least 90% of the paths, taxopt.stress.safe_level) is reported with
this year's location and conversions of each plan.

The scenario plan is exactly what the product outputs: one call of
`optimize(plan, rules, scenarios=N, seed=--seed)` with its default candidates
(taxopt.scenarios.DEFAULT_CANDIDATES trees, each from its own seed stream, all and the
deterministic plan replayed on the default 2,000 validation paths, seed stream (seed, 14);
the best kept only if it leads the deterministic plan by more than VALIDATION_MARGIN).
The benchmark selects nothing itself. N is --scenarios (8; the young accumulator's 65
years at most 8).

    python benchmarks/oos_scenarios.py [--scenarios 8] [--seed 0] [--paths 10000]

Results: benchmarks/results/oos_scenarios.md and .csv.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from bench_optimize import markdown_table  # benchmarks/ is the script's folder

import taxopt
from taxopt.plan import plan_from_dict
from taxopt.returns import Lognormal
from taxopt.simulate import Policy, meets_level, policy_from_result, sample_returns
from taxopt.stress import TOLERANCE, safe_level

ROOT = Path(__file__).parent.parent
RESULTS = Path(__file__).parent / "results"
EXAMPLES = (
    "couple-near-retirement.toml",
    "retiree-drawing-2.5-percent.toml",
    "young-accumulator.toml",
)
FRESH_SEED = 20261
TARGET = 0.9
YOUNG_SCENARIOS = 8


def sizes_for(name: str, asked: list[int]) -> list[int]:
    """The young accumulator's 65-year model gets at most 8 scenarios (CPU time)."""
    if not name.startswith("young"):
        return asked
    return sorted({min(n, YOUNG_SCENARIOS) for n in asked})


def load(name: str):
    data = tomllib.loads((ROOT / "examples" / name).read_text())
    data["objective"] = {
        **data.get("objective", {}),
        "kind": "max_spending",
    }
    data.pop("withdrawal", None)  # max_spending sets spending itself
    return plan_from_dict(data, name)


def first_year_then_rule(own: Policy, rule: Policy) -> Policy:
    """`own`'s first year; later years: `own`'s first-year shares held, the rest `rule`'s."""
    pairs = sorted(set(own.conversions) | set(rule.conversions))
    amounts = np.zeros((own.n_years, len(pairs)))
    for k, pair in enumerate(pairs):
        if pair in rule.conversions:
            amounts[1:, k] = rule.conversion_amounts[1:, rule.conversions.index(pair)]
        if pair in own.conversions:
            amounts[0, k] = own.conversion_amounts[0, own.conversions.index(pair)]
    mixed = {}
    for name in ("contributions", "withdrawals", "sale_fraction", "basis_fraction", "spending"):
        array = getattr(rule, name).copy()
        array[0] = getattr(own, name)[0]
        mixed[name] = array
    shares = np.repeat(own.shares[:1], own.n_years, axis=0)
    return dataclasses.replace(
        rule, conversions=pairs, conversion_amounts=amounts, shares=shares, **mixed
    )


def this_year(result) -> dict:
    """This year's location (share of each tier by place) and conversions, today's $."""
    plan, rules = result.plan, result.rules
    year = plan.start_year
    loc = result.location
    today = loc[loc.snapshot == "today"] if "snapshot" in loc else loc
    out = {}
    place = {a.name: rules.account_kinds[a.kind].growth.value for a in plan.accounts}
    holdings = result.ledger.holdings
    first = holdings[holdings.year == year]
    for (account, tier), dollars in first.groupby(["account", "tier"])["post_trade"].sum().items():
        key = f"{place[account]}:{tier}"
        out[key] = out.get(key, 0.0) + dollars
    out["conversions"] = sum(
        v for (s, d, y), v in result.decisions.conversions.items() if y == year
    )
    del today
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--out", default="oos_scenarios", help="results file name")
    parser.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    args = parser.parse_args()
    rules = taxopt.load_rules("us-federal-2026")
    rows, moves = [], []
    for name in args.examples:
        plan = load(name)
        started = time.perf_counter()
        det = taxopt.optimize(plan, rules, paths=0, with_baselines=False)
        det_seconds = time.perf_counter() - started
        started = time.perf_counter()
        n = sizes_for(name, [args.scenarios])[0]
        sc = taxopt.optimize(
            plan, rules, paths=0, with_baselines=False, scenarios=n, seed=args.seed
        )
        sc_seconds = time.perf_counter() - started
        solved = sc.scenarios
        rule = policy_from_result(det)
        returns = sample_returns(rule, Lognormal(), args.paths, FRESH_SEED)
        safe = {}
        for label, result in (("deterministic", det), ("product", sc)):
            own = policy_from_result(result)
            for later, policy in (("replan", own), ("held", first_year_then_rule(own, rule))):
                start = result.figures.sustainable_spending
                met = meets_level(policy, returns, start)
                safe[label, later] = safe_level(policy, returns, TARGET, start, met, TOLERANCE)
        row = {
            "plan": name,
            "years": len(plan.years),
            "tree": f"{solved.candidates} x {solved.tree.describe()}",
            "paths": args.paths,
        }
        row |= {f"validation: {k}": round(v) for k, v in solved.validation.items()}
        row |= {
            "kept": solved.chosen,
            "test: deterministic": round(safe["deterministic", "replan"]),
            "test: product": round(safe["product", "replan"]),
            "test: difference": round(safe["product", "replan"] - safe["deterministic", "replan"]),
            "held: deterministic": round(safe["deterministic", "held"]),
            "held: product": round(safe["product", "held"]),
            "headline_deterministic": round(det.figures.sustainable_spending),
            "headline_product": round(sc.figures.sustainable_spending),
            "first_year_spending_product": round(first_year_spending(sc)),
            "lowest_year_spending_product": round(lowest_spending(sc)),
            "scenario_cvar": round(solved.cvar or 0.0),
            "seconds_deterministic": round(det_seconds, 1),
            "seconds_product": round(sc_seconds, 1),
            "load": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        print(row, flush=True)
        a, b = this_year(det), this_year(sc)
        for key in sorted(set(a) | set(b)):
            if abs(a.get(key, 0.0) - b.get(key, 0.0)) >= 1.0:
                moves.append(
                    {
                        "plan": name,
                        "this year": key,
                        "deterministic": round(a.get(key, 0.0)),
                        "product": round(b.get(key, 0.0)),
                        "difference": round(b.get(key, 0.0) - a.get(key, 0.0)),
                    }
                )
        print(pd.DataFrame([m for m in moves if m["plan"] == name]).to_string(), flush=True)
    RESULTS.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(RESULTS / f"{args.out}.csv", index=False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    (RESULTS / f"{args.out}.md").write_text(
        f"commit {commit}; `python benchmarks/oos_scenarios.py --scenarios {args.scenarios} "
        f"--seed {args.seed}`; {args.paths:,} fresh lognormal paths (seed {FRESH_SEED}), "
        f"target {TARGET:.0%}; 2 cores shared with other jobs (load in the table)\n\n"
        + markdown_table(rows)
        + "\n\nThis year's moves that differ (dollars held after the moves by place:tier; "
        "conversions):\n\n" + (markdown_table(moves) if moves else "none") + "\n"
    )


def lowest_spending(result) -> float:
    """The lowest real spending of any retirement year in the result's ledger (today's $)."""
    yearly = result.ledger.yearly
    retired = yearly[yearly["year"] >= result.plan.retirement_year]
    return float((retired if len(retired) else yearly)["spending_real"].min())


def first_year_spending(result) -> float:
    """The first retirement year's real spending in the result's ledger (today's $)."""
    yearly = result.ledger.yearly
    retired = yearly[yearly["year"] >= result.plan.retirement_year]
    return float((retired if len(retired) else yearly)["spending_real"].iloc[0])


if __name__ == "__main__":
    main()

"""Benchmark: taxopt.simulate on 10,000 paths x 50 years, 3 accounts, 4 tiers, with taxes.

    .venv/bin/python benchmarks/bench_simulate.py [--paths N] [--repeat K]

The plan: a 45-year-old saving for 15 years into a traditional IRA, a Roth IRA and a
taxable account (sober tier preset: four tiers), then retired for 35 years with Social
Security and RMDs; 2026-2075 is 50 years. The optimizer runs once (fast mode, not timed);
each timed run is a whole `simulate()` call (policy, return draws, the replay with taxes
every year on every path). Target: under 2 s on a 2-core machine. Prints the median of the
runs and each run's time.
"""

from __future__ import annotations

import argparse
import statistics
import time

from taxopt import load_rules, optimize
from taxopt.plan import plan_from_dict
from taxopt.simulate import simulate

PLAN = {
    "name": "Benchmark: 3 accounts, 4 tiers, 50 years",
    "filing_status": "single",
    "start_year": 2026,
    "retirement_year": 2041,
    "horizon_age": 94,
    "inflation": 0.025,
    "tier_preset": "sober",
    "people": [{"name": "Sam", "birth_year": 1981}],
    "profile": {
        "weights": {"conservative": 0.5, "balanced": 0.3, "aggressive": 0.2},
        "reserve_tier": "reserve",
        "reserve_min": 0.1,
        "reserve_max": 0.2,
    },
    "accounts": [
        {
            "name": "ira",
            "kind": "traditional_ira",
            "owner": "Sam",
            "balances": {"conservative": 150000, "balanced": 60000, "reserve": 30000},
        },
        {"name": "roth", "kind": "roth_ira", "owner": "Sam", "balances": {"aggressive": 80000}},
        {
            "name": "taxable",
            "kind": "taxable",
            "balances": {"conservative": 60000, "balanced": 40000, "reserve": 20000},
            "basis": {"conservative": 40000, "balanced": 30000, "reserve": 20000},
        },
    ],
    "contributions": {"annual": 25000},
    "earnings": [{"person": "Sam", "annual": 120000}],
    "income": [
        {
            "name": "Social Security",
            "kind": "social_security",
            "owner": "Sam",
            "start_age": 67,
            "annual": 32000,
        }
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--withdrawal", default="fixed")
    parser.add_argument("--returns", default="lognormal")
    args = parser.parse_args()

    plan = plan_from_dict(PLAN)
    assert len(plan.years) == 50, len(plan.years)
    result = optimize(plan, load_rules("us-federal-2026"), mode="fast", with_baselines=False)
    simulate(result, paths=100, seed=0)  # warm up imports and caches
    times, sim = [], None
    for run in range(args.repeat):
        started = time.perf_counter()
        sim = simulate(
            result, paths=args.paths, seed=run, returns=args.returns, withdrawal=args.withdrawal
        )
        times.append(time.perf_counter() - started)
    assert sim is not None
    print(
        f"simulate: {args.paths:,} paths x {len(plan.years)} years, {len(plan.accounts)} "
        f"accounts, {len(plan.tiers)} tiers, {args.returns}, {args.withdrawal}"
    )
    print(f"  median of {args.repeat}: {statistics.median(times):.3f} s")
    print(f"  runs: {', '.join(f'{t:.3f}' for t in times)} s")
    print(f"  last run: success rate {sim.success_rate:.1%}, gross-up residual "
          f"{sim.gross_up_residual:.1e} (relative)")  # fmt: skip


if __name__ == "__main__":
    main()

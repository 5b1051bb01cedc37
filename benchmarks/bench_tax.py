"""Benchmark: the tax calculator on one household at a time (the ledger's per-year call).

    .venv/bin/python benchmarks/bench_tax.py [--calls N] [--repeat K]

Each timed run calls `compute_tax` N times on a cycle of households that reach every
part of the calculator (brackets, stacked gains, Social Security, the senior phase-out,
NIIT, the early-withdrawal penalty) under us-federal-2026 indexed to 2030. The ledger
calls it once a year per replay and `marginal_rates` three more times. Prints the best
and the median CPU time per call in microseconds (CPU time, and the best run, because
other processes sharing the cores distort wall time).
"""

from __future__ import annotations

import argparse
import statistics
import time

from taxopt import load_rules
from taxopt.tax import TaxInput, compute_tax

HOUSEHOLDS = [
    TaxInput("single", (40,), ordinary_income=85_000, year=2030),
    TaxInput(
        "mfj",
        (67, 64),
        ordinary_income=85_000,
        investment_ordinary_income=5_000,
        qualified_dividends=4_000,
        ltcg=20_000,
        social_security=32_000,
        year=2030,
    ),
    TaxInput("mfj", (70, 68), ordinary_income=160_000, social_security=60_000, year=2030),
    TaxInput(
        "single",
        (55,),
        ordinary_income=400_000,
        investment_ordinary_income=30_000,
        qualified_dividends=50_000,
        ltcg=300_000,
        early_distributions=20_000,
        year=2030,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rules = load_rules("us-federal-2026").for_year(2030, 0.025)
    times = []
    for _ in range(args.repeat):
        start = time.process_time()
        for i in range(args.calls):
            compute_tax(rules, HOUSEHOLDS[i % len(HOUSEHOLDS)])
        times.append((time.process_time() - start) / args.calls * 1e6)
    print(
        f"compute_tax: best {min(times):.1f} us, median {statistics.median(times):.1f} us "
        f"per call (CPU time, {args.repeat} runs of {args.calls} calls)"
    )


if __name__ == "__main__":
    main()

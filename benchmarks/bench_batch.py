"""Benchmark: taxopt.batching throughput on synthetic households, process pool and Dask.

    .venv/bin/python benchmarks/bench_batch.py [--households 200] [--mode fast] [--seed 7]

Households: examples/population/generate.py (seeded; ages 30-75, so 20-65 year horizons),
one rule set (us-federal-2026), no baselines. Each configuration (process pool and a Dask
LocalCluster, 1 and 2 workers) runs in a fresh child process with a fresh output folder, so
nothing is resumed and the child's RUSAGE_CHILDREN gives the largest worker's peak memory.

Reported per configuration: wall seconds, households per minute; the batch overhead:
inside the workers (unit seconds minus optimize seconds, over optimize seconds: reading the
plan, validation, building the row) and overall (wall x workers minus optimize seconds, over
optimize seconds: also process start-up, scheduling, the journal, the table and idle workers
at the tail); peak RSS of a worker; the projection for 10,000 households on 64 workers
(measured worker-seconds per household x 10,000 / 64, i.e. linear scaling).
Results go to benchmarks/results/batch.csv and batch.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "population"))

CONFIGS = [("pool", 1), ("pool", 2), ("dask", 1), ("dask", 2)]
PROJECTED_HOUSEHOLDS, PROJECTED_WORKERS = 10_000, 64


def run_one(engine: str, workers: int, households: int, seed: int, mode: str) -> dict:
    """One configuration, in this (child) process."""
    from generate import synthetic_households

    import taxopt

    plans = synthetic_households(households, seed=seed)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        table = taxopt.batch(
            plans,
            rules=["us-federal-2026"],
            out=out,
            mode=mode,
            baselines=False,
            workers=workers if engine == "pool" else None,
            dask=f"local:{workers}" if engine == "dask" else None,
            progress=False,
        )
        wall = time.perf_counter() - started
    ok = table[table["status"] == "ok"]
    optimize_s = float(ok["optimize_seconds"].sum())
    unit_s = float(ok["seconds"].sum())
    per_household = wall * workers / households
    return {
        "engine": engine,
        "workers": workers,
        "households": households,
        "ok": len(ok),
        "mode": mode,
        "wall_s": wall,
        "households_per_min": households / wall * 60,
        "optimize_s_total": optimize_s,
        "overhead_in_worker": (unit_s - optimize_s) / optimize_s,
        "overhead_overall": (wall * workers - optimize_s) / optimize_s,
        "peak_rss_worker_mb": _peak_worker_rss_mb(engine, workers),
        "projected_10k_on_64_min": per_household * PROJECTED_HOUSEHOLDS / PROJECTED_WORKERS / 60,
    }


def _peak_worker_rss_mb(engine: str, workers: int) -> float:
    """Peak resident memory of the process that ran the units: the largest child (pool
    workers, Dask nannies and workers), or this process when one worker runs inline."""
    who = resource.RUSAGE_SELF if engine == "pool" and workers == 1 else resource.RUSAGE_CHILDREN
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["fast", "exact"], default="fast")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # engine:workers, in a child
    args = parser.parse_args()
    if args.one:
        engine, workers = args.one.split(":")
        print(json.dumps(run_one(engine, int(workers), args.households, args.seed, args.mode)))
        return
    rows = []
    for engine, workers in CONFIGS:
        command = [
            sys.executable,
            __file__,
            "--one",
            f"{engine}:{workers}",
            "--households",
            str(args.households),
            "--seed",
            str(args.seed),
            "--mode",
            args.mode,
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        row = json.loads(output.strip().splitlines()[-1])
        row["load_average_after"] = os.getloadavg()[0]
        rows.append(row)
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    write_results(rows, args)


def write_results(rows: list[dict], args) -> None:
    import pandas as pd

    import taxopt

    results = ROOT / "benchmarks" / "results"
    table = pd.DataFrame(rows)
    table.to_csv(results / "batch.csv", index=False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    shown = table[
        [
            "engine",
            "workers",
            "ok",
            "wall_s",
            "households_per_min",
            "overhead_in_worker",
            "overhead_overall",
            "peak_rss_worker_mb",
            "projected_10k_on_64_min",
            "load_average_after",
        ]
    ]
    lines = [
        f"# taxopt.batch: {args.households} synthetic households (seed {args.seed}), "
        f"mode {args.mode}, us-federal-2026, no baselines",
        "",
        f"commit {commit}, taxopt {taxopt.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; `benchmarks/bench_batch.py`.",
        "",
        "```",
        shown.to_string(index=False, float_format="{:.3f}".format),
        "```",
        "",
        f"Load average of the machine (shared with other jobs) after each run: "
        f"{', '.join(f'{x:.1f}' for x in table['load_average_after'])}.",
        "",
        "overhead_in_worker: (unit seconds - optimize seconds) / optimize seconds.",
        "overhead_overall: (wall x workers - optimize seconds) / optimize seconds, which also",
        "counts process start-up, scheduling, the journal, the table and idle workers at the end.",
        "projected_10k_on_64_min: wall x workers / households x 10,000 / 64 (linear scaling).",
    ]
    (results / "batch.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

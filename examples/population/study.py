"""A population study: current law against the pre-TCJA reform over synthetic households.

    python examples/population/study.py --households 200 --seed 7 --out study-results/
    python examples/population/study.py --households 2000 --dask tcp://scheduler:8786 --out s/

Generates the households (generate.py, seeded), optimizes each under us-federal-2026 and
us-federal-2026-pre-tcja with taxopt.batching (resumable through --out), and prints the
distribution of the change in lifetime tax (reform minus current law, today's dollars) and
where the aggressive tier lives at retirement under each rule set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import taxopt
from taxopt.batching.summary import changes, tier_location

sys.path.insert(0, str(Path(__file__).parent))
from generate import synthetic_households  # noqa: E402

CURRENT, REFORM = "us-federal-2026", "us-federal-2026-pre-tcja"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["fast", "exact"], default="exact")
    parser.add_argument("--out", help="results folder (a re-run resumes)")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--dask", help="scheduler address or local:N")
    args = parser.parse_args()

    plans = synthetic_households(args.households, seed=args.seed)
    table = taxopt.batch(
        plans,
        rules=[CURRENT, REFORM],
        out=args.out,
        mode=args.mode,
        baselines=False,
        workers=args.workers,
        dask=args.dask,
    )
    print(report(table))


def report(table: pd.DataFrame) -> str:
    ok = table[table["status"] == "ok"]
    lines = [
        f"{table['household'].nunique()} households; {len(ok)} of {len(table)} runs ok "
        f"({CURRENT} is the reference)",
        "",
        "Change in lifetime tax under the reform (today's dollars, reform - current law):",
    ]
    change = changes(table)
    tax = change[change["figure"] == "lifetime_tax_vs_first"]
    lines.append(tax.drop(columns="rules").to_string(index=False, float_format="{:,.0f}".format))
    delta = ok[ok["rules"] == REFORM]["lifetime_tax_vs_first"].dropna()
    lines.append(
        f"pay more: {(delta > 1).sum()}, about the same (within $1): {(delta.abs() <= 1).sum()}, "
        f"pay less: {(delta < -1).sum()}"
    )
    lines += ["", "Where the aggressive tier lives at retirement (share of its dollars):"]
    where = tier_location(table, "aggressive").drop(columns="tier")
    lines.append(where.to_string(index=False, float_format="{:.3f}".format))
    moved = _majority_moves(ok)
    lines.append(f"households whose aggressive tier changes its main account type: {moved}")
    failed = table[table["status"] != "ok"]
    for row in failed.head(5).itertuples():
        lines.append(f"failed: {row.household} under {row.rules}: {row.error}")
    return "\n".join(lines)


def _majority_moves(ok: pd.DataFrame) -> int:
    """Households whose aggressive dollars sit mostly in a different place under the reform."""
    places = [c for c in ok.columns if c.startswith("share_aggressive_in_")]
    if not places:
        return 0
    main = ok.set_index(["household", "rules"])[places].fillna(0).idxmax(axis=1).unstack()
    both = main.dropna()
    return int((both[CURRENT] != both[REFORM]).sum()) if len(both.columns) == 2 else 0


if __name__ == "__main__":
    main()

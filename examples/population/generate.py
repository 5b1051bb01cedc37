"""Synthetic households for population studies: seeded, with stated distributions.

    python examples/population/generate.py 200 --seed 7 --out population/   # JSON plan files
    from generate import synthetic_households; plans = synthetic_households(200, seed=7)

Every draw comes from one numpy Generator seeded by `seed`, so a seed gives the same
households on any machine. The distributions (illustrative, not calibrated to a survey):

- household: a married couple filing jointly with probability 0.6, else a single person.
- ages in the start year: the first person uniform on 30..75; a spouse the same age plus a
  normal draw (sd 3 years), rounded, kept within 25..85.
- retirement: a person 65 or older is retired; otherwise the first person retires at an age
  uniform on 60..67 (the household retires together).
- wages (today's dollars, until retirement): lognormal with median $70,000 and log-sd 0.5 for
  the first person; a spouse works with probability 0.7, same distribution.
- savings while working: 10% of the household's wages a year, routed by the optimizer.
- investable wealth: lognormal, median $25,000 x e^(0.06 (age - 30)) (about $83,000 at 50,
  $200,000 at 65) and log-sd 1.0; split across traditional IRA, Roth IRA and a joint taxable
  account by a Dirichlet(3, 1.5, 2) draw; a couple's IRAs split evenly between the two.
  Each account holds the profile's mix; taxable basis is a uniform 40-100% of each balance.
- profile by the first person's age: under 45 30/30/40 (conservative/balanced/aggressive),
  45-64 50/30/20, 65 and over 70/20/10; a 5-15% reserve band; tolerance 0.02; sober tiers.
- Social Security per person (today's dollars): 40% of wages + $12,000, at most $45,000,
  from age 67 (or the start year if already older).
- objective max_spending with no bequest floor, 4% fixed-real withdrawal policy, horizon 95.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

START_YEAR = 2026
PROFILES = [  # (first person's age below, weights)
    (45, {"conservative": 0.3, "balanced": 0.3, "aggressive": 0.4}),
    (65, {"conservative": 0.5, "balanced": 0.3, "aggressive": 0.2}),
    (200, {"conservative": 0.7, "balanced": 0.2, "aggressive": 0.1}),
]
KIND_SPLIT = (3.0, 1.5, 2.0)  # Dirichlet weights: traditional, Roth, taxable


def synthetic_households(n: int, seed: int = 0, start_year: int = START_YEAR) -> list[dict]:
    """`n` plan dicts (as a plan file holds them), named hh0001, hh0002, ..."""
    rng = np.random.default_rng(seed)
    return [_household(rng, i + 1, start_year) for i in range(n)]


def _household(rng: np.random.Generator, number: int, start_year: int) -> dict:
    couple = rng.random() < 0.6
    age = int(rng.integers(30, 76))
    ages = [age]
    if couple:
        ages.append(int(np.clip(round(age + rng.normal(0, 3)), 25, 85)))
    names = ["P1", "P2"][: len(ages)]
    retire_age = age if age >= 65 else int(rng.integers(60, 68))
    retirement_year = start_year + max(0, retire_age - age)
    working = retirement_year > start_year
    wages = [float(round(rng.lognormal(math.log(70_000), 0.5), -2))]
    if couple:
        wages.append(float(round(rng.lognormal(math.log(70_000), 0.5), -2)))
        if rng.random() >= 0.7:
            wages[1] = 0.0
    weights = next(w for limit, w in PROFILES if age < limit)
    tiers = [*weights, "reserve"]
    wealth = rng.lognormal(math.log(25_000 * math.exp(0.06 * (age - 30))), 1.0)
    traditional, roth, taxable = rng.dirichlet(KIND_SPLIT) * wealth
    mix = {**{t: w * 0.9 for t, w in weights.items()}, "reserve": 0.1}

    def holdings(amount: float) -> dict:
        return {t: float(round(amount * mix[t])) for t in tiers if amount * mix[t] >= 1}

    accounts = []
    for person, share in zip(names, [1.0] if not couple else [0.5, 0.5], strict=True):
        low = person.lower()
        accounts.append(
            {
                "name": f"{low}_ira",
                "kind": "traditional_ira",
                "owner": person,
                "balances": holdings(traditional * share),
            }
        )
        accounts.append(
            {
                "name": f"{low}_roth",
                "kind": "roth_ira",
                "owner": person,
                "balances": holdings(roth * share),
            }
        )
    taxable_balances = holdings(taxable)
    basis_fraction = rng.uniform(0.4, 1.0)
    accounts.append(
        {
            "name": "taxable",
            "kind": "taxable",
            "balances": taxable_balances,
            "basis": {t: float(round(v * basis_fraction)) for t, v in taxable_balances.items()},
        }
    )
    plan = {
        "name": f"hh{number:04d}",
        "filing_status": "mfj" if couple else "single",
        "start_year": start_year,
        "retirement_year": retirement_year,
        "horizon_age": 95,
        "tier_preset": "sober",
        "people": [
            {"name": p, "birth_year": start_year - a} for p, a in zip(names, ages, strict=True)
        ],
        "profile": {
            "weights": weights,
            "reserve_tier": "reserve",
            "reserve_min": 0.05,
            "reserve_max": 0.15,
            "tolerance": 0.02,
        },
        "accounts": accounts,
        "income": [
            {
                "name": f"{p} Social Security",
                "kind": "social_security",
                "owner": p,
                "start_year": max(start_year, start_year - a + 67),
                "annual": float(min(0.4 * w + 12_000, 45_000)),
            }
            for p, a, w in zip(names, ages, wages, strict=True)
        ],
        "withdrawal": {"policy": "fixed_real", "rate": 0.04},
        "objective": {"kind": "max_spending", "bequest_floor": 0},
    }
    if working:
        plan["earnings"] = [
            {"person": p, "annual": w} for p, w in zip(names, wages, strict=True) if w > 0
        ]
        plan["contributions"] = {"annual": float(round(0.1 * sum(wages), -2))}
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description="write synthetic households as plan files")
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="folder for hhNNNN.json plan files")
    args = parser.parse_args()
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for plan in synthetic_households(args.count, args.seed):
        (folder / f"{plan['name']}.json").write_text(json.dumps(plan, indent=1) + "\n")
    print(f"wrote {args.count} plans to {folder}")


if __name__ == "__main__":
    main()

"""The risk beside the headline: how often the optimized plan's spending holds.

`stress_test(result)` runs the optimized plan as a policy (taxopt.simulate: its location,
contributions, conversions and withdrawal order) on `paths` lognormal return paths drawn
from `seed` (each tier's mean and volatility, risky tiers correlated 0.8) and reports

- `success_rate`: the share of paths that meet the headline spending
  (`result.figures.sustainable_spending`, today's dollars, held constant in real terms
  through retirement) in every year to the horizon;
- `safe_spending`: the highest constant real after-tax spending that at least `target` of
  those same paths meet, to within `tolerance` dollars a year.

The search for the safe level rests on one property of a path: if it meets a level, it
meets every lower one (spending less leaves more money in every later year). It keeps a
bracket [low, high] where at least k = ceil(target x paths) paths meet `low` and fewer meet
`high`. Paths that meet `high` meet everything below it and paths that fail `low` fail
everything above it, so each round runs only the undecided paths, and at several levels at
once (each undecided path copied once per level): a round narrows the bracket by the number
of levels, which grows as the undecided paths thin out. A few rounds reach the tolerance.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from taxopt.errors import InputError
from taxopt.returns import Lognormal
from taxopt.simulate import Policy, meets_level, policy_from_result, sample_returns

DEFAULT_PATHS = 2000
DEFAULT_TARGET = 0.9
DEFAULT_SEED = 0
TOLERANCE = 10.0  # today's dollars a year: the safe level is found to within this
ROUND_BUDGET = 1500  # simulated paths per search round: undecided paths x levels tried
MAX_LEVELS = 64  # levels tried in one round
MAX_DOUBLINGS = 40  # sustained_by_path: 2^40 times the headline is no spending level
SPREAD_PERCENTILES = (5, 10, 25, 50, 75, 90, 95)


@dataclass
class StressFigures:
    """Success of the headline and the safe spending on the plan's stress paths.

    Spending figures are today's dollars a year, after tax; rates are fractions of paths.
    """

    success_rate: float  # paths meeting the headline spending every year
    safe_spending: float  # highest constant real spending met on >= target of the paths
    target: float  # the success rate asked of safe_spending (P)
    paths: int
    seed: int | None
    tolerance: float  # dollars: safe_spending + tolerance is met on fewer than target
    seconds: float
    returns: str  # the return model, described
    # stress_test(spread=True): {percentile: the highest constant real spending a path
    # meets, at that percentile of the paths} (today's dollars; sustained_by_path).
    spread: dict[int, float] | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def stress_test(
    result,
    paths: int = DEFAULT_PATHS,
    target: float = DEFAULT_TARGET,
    seed: int | None = DEFAULT_SEED,
    tolerance: float = TOLERANCE,
    spread: bool = False,
) -> StressFigures:
    """Success rate of the headline spending and the safe spending at `target`; with
    `spread`, the percentiles of what each path sustains (SPREAD_PERCENTILES)."""
    check_stress_options(paths, target)
    if paths < 1:
        raise InputError(f"paths: {paths}; the stress test needs at least 1 path")
    started = time.perf_counter()
    policy = policy_from_result(result)
    model = Lognormal()
    returns = sample_returns(policy, model, paths, seed)
    headline = result.figures.sustainable_spending
    met_headline = meets_level(policy, returns, headline)
    safe = safe_level(policy, returns, target, headline, met_headline, tolerance)
    levels = sustained_by_path(policy, returns, headline, tolerance) if spread else None
    return StressFigures(
        success_rate=float(met_headline.mean()),
        safe_spending=safe,
        target=target,
        paths=paths,
        seed=seed,
        tolerance=tolerance,
        seconds=time.perf_counter() - started,
        returns=model.describe(),
        spread=None
        if levels is None
        else {p: float(np.percentile(levels, p)) for p in SPREAD_PERCENTILES},
    )


def sustained_by_path(
    policy: Policy, returns: np.ndarray, start: float, tolerance: float
) -> np.ndarray:
    """(P,) the highest constant real spending each path meets, to within `tolerance`
    (today's dollars; 0 when even no spending fails). Bisection on every path at once,
    on the property the module doc states: a path that meets a level meets every lower
    one. The safe spending at target P is the level the best ceil(P x paths) paths meet."""
    n = returns.shape[0]
    low = np.zeros(n)
    high = np.full(n, 2.0 * max(start, tolerance))
    rising = np.arange(n)
    for _ in range(MAX_DOUBLINGS):  # a bracket [low, high) for every path
        rising = rising[meets_level(policy, returns[rising], high[rising])]
        if not rising.size:
            break
        low[rising] = high[rising]
        high[rising] *= 2.0
    while True:
        todo = np.flatnonzero(high - low > tolerance)
        if not todo.size:
            return low
        middle = 0.5 * (low[todo] + high[todo])
        met = meets_level(policy, returns[todo], middle)
        low[todo[met]] = middle[met]
        high[todo[~met]] = middle[~met]


def check_stress_options(paths: int, target: float) -> None:
    """One clear line for a path count or success share no stress test can use."""
    if paths < 0:
        raise InputError(f"paths: {paths}; give 0 (no stress test) or more paths")
    if not 0.0 < target <= 1.0:
        raise InputError(
            f"success: {target}; give the share of paths as a fraction in (0, 1], e.g. 0.9"
        )


def safe_level(
    policy: Policy,
    returns: np.ndarray,
    target: float,
    start: float,
    met_at_start: np.ndarray,
    tolerance: float,
) -> float:
    """Highest constant real spending met on at least `target` of the paths, to within
    `tolerance` (see the module docstring); `met_at_start`: which paths meet `start`."""
    n = returns.shape[0]
    needed = math.ceil(target * n - 1e-9)
    start = max(start, tolerance)
    low, high = 0.0, None
    above = 0  # paths known to meet `high`
    undecided = np.arange(n)  # paths that meet `low` and not `high` (as far as known)
    if met_at_start.sum() >= needed:
        low, undecided = start, np.flatnonzero(met_at_start)
    else:
        high, above, undecided = start, int(met_at_start.sum()), np.flatnonzero(~met_at_start)
    while undecided.size and (high is None or high - low > tolerance):
        count = max(1, min(MAX_LEVELS, ROUND_BUDGET // undecided.size))
        if high is None:  # no level known to fail yet: try doublings
            levels = low * 2.0 ** np.arange(1, count + 1)
        else:
            levels = low + (high - low) * np.arange(1, count + 1) / (count + 1)
        copies = np.tile(undecided, count)
        met = meets_level(policy, returns[copies], np.repeat(levels, undecided.size))
        met = met.reshape(count, undecided.size)
        counts = above + met.sum(axis=1)
        passing = np.flatnonzero(counts >= needed)
        j_low = int(passing[-1]) if passing.size else -1
        j_high = j_low + 1  # the first level above the new low (count: one more round)
        met_low = met[j_low] if j_low >= 0 else np.ones(undecided.size, dtype=bool)
        met_high = met[j_high] if j_high < count else np.zeros(undecided.size, dtype=bool)
        if j_low >= 0:
            low = float(levels[j_low])
        if j_high < count:
            high = float(levels[j_high])
        above += int((met_high & met_low).sum())
        undecided = undecided[met_low & ~met_high]
    if low == 0.0 and meets_level(policy, returns, 0.0).sum() < needed:
        return 0.0  # even no spending fails: the plan's own flows before retirement do
    return low

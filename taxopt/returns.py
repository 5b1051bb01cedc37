"""Return models for stress tests: annual nominal total returns per tier, one row per path.

Every model fills an array `returns[path, year, tier]` of annual nominal total returns
(fractions: 0.07 is +7%, -0.5 is -50%; yields included, as `Tier.expected_return` is) from
a numpy `default_rng(seed)`, drawing in a fixed order, so the same seed gives the same paths
on every machine.

- `Lognormal`: 1 + r is lognormal with the tier's mean (`expected_return`) and standard
  deviation (`volatility`); log returns are jointly normal with a constant correlation
  between risky tiers (default 0.8: the tiers are indices of one asset class) and none with
  the reserve tier.
- `Regime`: a two-state (bull/bear) Markov chain shared by all risky tiers. `sober`
  (default) keeps each tier's long-run mean and volatility: bear years average one
  volatility below the mean, bull years make up the difference, the rest is lognormal noise
  within the state. `guide` uses the investing guide's magnitudes (bull years +100% to
  +300%, bear years -50% to -80%, uniform within the range); the state persistence is ours,
  the guide gives none.
- `Bootstrap`: years (or circular blocks of years) resampled from a CSV the user supplies.
- `FixedReturns`: a sequence given by hand (tests, what-if paths).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from taxopt.errors import InputError
from taxopt.io import read_text, separator_problem
from taxopt.plan import Tier, lognormal_log_moments

DEFAULT_CORRELATION = 0.8  # between risky tiers' log returns; the reserve is uncorrelated
MAX_ABS_RETURN = 10.0  # a CSV value above this is taken for a percent, not a fraction


class ReturnModel(Protocol):
    name: str

    def sample(
        self,
        tiers: list[Tier],
        reserve_tier: str | None,
        years: int,
        paths: int,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Annual nominal returns, shape (paths, years, len(tiers))."""
        ...

    def describe(self) -> str: ...


# ---------------------------------------------------------------------------------------
# Correlated normals


def correlation_matrix(
    tiers: list[Tier],
    reserve_tier: str | None,
    correlation: float = DEFAULT_CORRELATION,
    matrix: np.ndarray | list | None = None,
) -> np.ndarray:
    """The tiers' correlation matrix: `matrix` if given (checked), else a constant one."""
    n = len(tiers)
    if matrix is not None:
        out = np.asarray(matrix, dtype=float)
        if out.shape != (n, n):
            raise InputError(
                f"returns correlation: matrix is {out.shape[0]}x{out.shape[1]} but the plan has "
                f"{n} tiers ({', '.join(t.name for t in tiers)}); give one row per tier"
            )
        if not np.allclose(out, out.T) or not np.allclose(np.diag(out), 1.0):
            raise InputError(
                "returns correlation: matrix must be symmetric with ones on the diagonal"
            )
    else:
        if not -1.0 <= correlation <= 1.0:
            raise InputError(f"returns correlation: {correlation} is not between -1 and 1")
        out = np.full((n, n), correlation)
        for i, tier in enumerate(tiers):
            if tier.name == reserve_tier:
                out[i, :] = out[:, i] = 0.0
        np.fill_diagonal(out, 1.0)
    if np.linalg.eigvalsh(out).min() < -1e-10:
        raise InputError(
            "returns correlation: matrix is not positive semi-definite; lower the correlations"
        )
    return out


def correlated_normals(
    rng: np.random.Generator, corr: np.ndarray, paths: int, years: int
) -> np.ndarray:
    """Standard normals of shape (paths, years, tiers) with correlation `corr` across tiers."""
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # works for singular matrices too
    z = rng.standard_normal((paths, years, corr.shape[0]))
    return z @ root.T


def lognormal_from_moments(mean: np.ndarray, sd: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Returns r with 1 + r lognormal of mean 1 + `mean` and standard deviation `sd`.

    Where `sd` is 0 the return is exactly `mean` (so a zero-volatility run reproduces the
    deterministic plan to the cent).
    """
    mu, s2 = lognormal_log_moments(mean, sd)
    out = np.expm1(mu + np.sqrt(s2) * z)
    return np.where(sd == 0.0, np.broadcast_to(mean, out.shape), out)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (erf via Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


def _moments(tiers: list[Tier], volatility: dict[str, float] | None) -> tuple[np.ndarray, ...]:
    overrides = volatility or {}
    unknown = sorted(set(overrides) - {t.name for t in tiers})
    if unknown:
        raise InputError(
            f"returns volatility: names tier {unknown}, which the plan does not define "
            f"(tiers: {', '.join(t.name for t in tiers)})"
        )
    mean = np.array([t.expected_return for t in tiers])
    sd = np.array([overrides.get(t.name, t.volatility) for t in tiers])
    if (sd < 0).any():
        raise InputError("returns volatility: a volatility is negative; give 0 or more")
    return mean, sd


# ---------------------------------------------------------------------------------------
# Models


@dataclass
class Lognormal:
    """Independent years; 1 + r lognormal per tier with the plan's mean and volatility."""

    correlation: float = DEFAULT_CORRELATION
    matrix: np.ndarray | list | None = None
    volatility: dict[str, float] | None = None  # per-tier override of Tier.volatility
    name: str = "lognormal"

    def sample(self, tiers, reserve_tier, years, paths, rng) -> np.ndarray:
        mean, sd = _moments(tiers, self.volatility)
        corr = correlation_matrix(tiers, reserve_tier, self.correlation, self.matrix)
        z = correlated_normals(rng, corr, paths, years)
        return lognormal_from_moments(mean, sd, z)

    def describe(self) -> str:
        corr = "user matrix" if self.matrix is not None else f"risky tiers {self.correlation:g}"
        return f"lognormal, plan means and volatilities, correlation {corr}, reserve 0"


@dataclass(frozen=True)
class RegimeScenario:
    """Bull/bear magnitudes. `sober`: from each tier's mean and volatility; else uniform
    ranges of annual return for risky tiers in bull and bear years."""

    name: str
    bull_range: tuple[float, float] | None = None
    bear_range: tuple[float, float] | None = None
    bear_shift: float = 1.0  # sober: bear mean = mean - bear_shift x volatility


SCENARIOS = {
    "sober": RegimeScenario("sober"),
    # /work/shared/docs/investing-guide.md: "bull markets +100% to +300% in a year, bear
    # markets with 50-80% drawdowns". Marketing figures, for stress tests only.
    "guide": RegimeScenario("guide", bull_range=(1.0, 3.0), bear_range=(-0.8, -0.5)),
}


@dataclass
class Regime:
    """Two-state Markov chain (bull, bear) shared by the risky tiers; the reserve tier is
    lognormal and independent of the state.

    Defaults: a bull year is followed by a bear year with probability 0.2 (bull runs last
    5 years on average), a bear year by a bull year with probability 0.5 (2 years), so 5/7
    of years are bull years. The first year's state is drawn from that long-run share.
    """

    scenario: str = "sober"
    p_bull_to_bear: float = 0.2
    p_bear_to_bull: float = 0.5
    correlation: float = DEFAULT_CORRELATION
    matrix: np.ndarray | list | None = None
    volatility: dict[str, float] | None = None
    name: str = "regime"
    states: np.ndarray | None = field(default=None, repr=False)  # last sample's bull flags

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise InputError(
                f"returns scenario '{self.scenario}' is unknown; use one of {', '.join(SCENARIOS)}"
            )
        for label, p in (
            ("p_bull_to_bear", self.p_bull_to_bear),
            ("p_bear_to_bull", self.p_bear_to_bull),
        ):
            if not 0.0 < p <= 1.0:
                raise InputError(f"returns {label}: {p} is not a probability in (0, 1]")

    @property
    def bull_share(self) -> float:
        """Long-run share of bull years."""
        return self.p_bear_to_bull / (self.p_bull_to_bear + self.p_bear_to_bull)

    def sample(self, tiers, reserve_tier, years, paths, rng) -> np.ndarray:
        mean, sd = _moments(tiers, self.volatility)
        corr = correlation_matrix(tiers, reserve_tier, self.correlation, self.matrix)
        bull = self._states(rng, paths, years)
        z = correlated_normals(rng, corr, paths, years)
        risky = np.array([t.name != reserve_tier for t in tiers])
        scenario = SCENARIOS[self.scenario]
        if scenario.bull_range is None:
            out = self._sober(mean, sd, bull, z, scenario.bear_shift)
        else:
            u = _normal_cdf(z)
            lo_bull, hi_bull = scenario.bull_range
            lo_bear, hi_bear = scenario.bear_range or (0.0, 0.0)
            out = np.where(
                bull[..., None],
                lo_bull + (hi_bull - lo_bull) * u,
                lo_bear + (hi_bear - lo_bear) * u,
            )
        reserve = lognormal_from_moments(mean, sd, z)
        self.states = bull
        return np.where(risky, out, reserve)

    def _states(self, rng: np.random.Generator, paths: int, years: int) -> np.ndarray:
        draws = rng.random((paths, years))
        bull = np.empty((paths, years), dtype=bool)
        bull[:, 0] = draws[:, 0] < self.bull_share
        for y in range(1, years):
            stay = np.where(bull[:, y - 1], 1.0 - self.p_bull_to_bear, self.p_bear_to_bull)
            bull[:, y] = draws[:, y] < stay
        return bull

    def _sober(self, mean, sd, bull, z, shift) -> np.ndarray:
        """State means m - a*sd (bear) and m + a*sd*q/p (bull), within-state sd chosen so
        the long-run mean and standard deviation are the tier's own (p = bull share)."""
        p = self.bull_share
        q = 1.0 - p
        if q >= p:
            raise InputError(
                "returns regime: the sober scenario needs bull years to be the majority "
                "(p_bear_to_bull > p_bull_to_bear)"
            )
        gross = 1.0 + mean
        # keep the bear mean above -90% for very volatile tiers
        a = np.minimum(shift, np.where(sd > 0, 0.9 * gross / np.where(sd > 0, sd, 1.0), shift))
        bear_mean = mean - a * sd
        bull_mean = mean + a * sd * q / p
        within = sd * np.sqrt(np.clip(1.0 - a**2 * q / p, 0.0, None))
        state_mean = np.where(bull[..., None], bull_mean, bear_mean)
        return lognormal_from_moments(state_mean, np.broadcast_to(within, z.shape), z)

    def describe(self) -> str:
        return (
            f"regime ({self.scenario}): bull->bear {self.p_bull_to_bear:g}, "
            f"bear->bull {self.p_bear_to_bull:g}, {self.bull_share:.0%} bull years"
        )


@dataclass
class Bootstrap:
    """Resample years of a CSV of annual returns (columns: year, one per tier name).

    `block_years` > 1 draws circular blocks of consecutive years (keeps runs of good and
    bad years together); 1 draws years independently.
    """

    path: str | Path
    block_years: int = 1
    name: str = "bootstrap"
    table: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.block_years < 1:
            raise InputError(f"returns block_years: {self.block_years}; give 1 or more")
        self.table = read_returns_csv(self.path)

    def sample(self, tiers, reserve_tier, years, paths, rng) -> np.ndarray:
        table = self.table
        assert table is not None
        missing = [t.name for t in tiers if t.name not in table.columns]
        if missing:
            raise InputError(
                f"{self.path}: no column for tier {missing}; add one column per tier of the "
                f"plan ({', '.join(t.name for t in tiers)})"
            )
        data = table[[t.name for t in tiers]].to_numpy(dtype=float)
        n = len(data)
        blocks = -(-years // self.block_years)
        starts = rng.integers(0, n, size=(paths, blocks))
        offsets = np.arange(self.block_years)
        index = ((starts[:, :, None] + offsets) % n).reshape(paths, -1)[:, :years]
        return data[index]

    def describe(self) -> str:
        assert self.table is not None
        block = f"blocks of {self.block_years} years" if self.block_years > 1 else "single years"
        return f"bootstrap of {len(self.table)} years from {self.path} ({block})"


@dataclass
class FixedReturns:
    """Returns given by hand: shape (years, tiers) for every path, or (paths, years, tiers)."""

    returns: np.ndarray | list
    name: str = "fixed"

    def sample(self, tiers, reserve_tier, years, paths, rng) -> np.ndarray:
        data = np.asarray(self.returns, dtype=float)
        if data.ndim == 2:
            data = np.broadcast_to(data, (paths, *data.shape))
        if data.shape != (paths, years, len(tiers)):
            raise InputError(
                f"fixed returns: shape {data.shape} does not fit {paths} paths x {years} years "
                f"x {len(tiers)} tiers"
            )
        if (data <= -1.0).any():
            raise InputError("fixed returns: a return is -100% or below; the floor is above -1")
        return np.array(data)

    def describe(self) -> str:
        return "returns given by hand"


def read_returns_csv(path: str | Path) -> pd.DataFrame:
    """A CSV of annual returns (fractions): `year` plus one column per tier; '#' comments."""
    path = Path(path)
    text = read_text(path, "returns file")
    try:
        table = pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    problem = separator_problem(path, [str(c) for c in table.columns])
    if problem is not None:
        raise problem
    if "year" not in table.columns:
        raise InputError(f"{path}: no 'year' column; the header is year,<tier>,<tier>,...")
    if table.empty:
        raise InputError(f"{path}: has no rows of returns")
    tiers = [c for c in table.columns if c != "year"]
    for column in tiers:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.idxmax()) + 2  # header is line 1 (comments not counted)
            raise InputError(
                f"{path}: column '{column}', data row {row - 1}: '{table[column][bad].iloc[0]}' "
                "is not a number; give a return as a fraction (0.07 for +7%)"
            )
        if (values.abs() > MAX_ABS_RETURN).any():
            raise InputError(
                f"{path}: column '{column}' has {values.abs().max():g}; returns are fractions "
                "(0.25 for +25%, not 25)"
            )
        if (values <= -1.0).any():
            raise InputError(
                f"{path}: column '{column}' has a return of -100% or below; the least is above -1"
            )
        table[column] = values
    return table


RETURN_MODELS = ("lognormal", "regime", "bootstrap")


def make_return_model(spec: str | ReturnModel | np.ndarray, **options) -> ReturnModel:
    """A return model from a name (`lognormal`, `regime`, `bootstrap`), a model, or an array."""
    if isinstance(spec, np.ndarray | list):
        return FixedReturns(spec)
    if not isinstance(spec, str):
        return spec
    if spec == "lognormal":
        return Lognormal(**options)
    if spec == "regime":
        return Regime(**options)
    if spec == "bootstrap":
        if "path" not in options:
            raise InputError(
                "returns bootstrap: needs a CSV of annual returns (--returns-csv FILE, or "
                "Bootstrap(path) in Python)"
            )
        return Bootstrap(**options)
    raise InputError(f"returns '{spec}' is unknown; use one of {', '.join(RETURN_MODELS)}")

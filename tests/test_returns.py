"""Return models: moments, correlations, regimes, bootstrap, seeds and input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from taxopt.errors import InputError
from taxopt.plan import Tier
from taxopt.returns import (
    Bootstrap,
    FixedReturns,
    Lognormal,
    Regime,
    correlation_matrix,
    lognormal_from_moments,
    make_return_model,
    read_returns_csv,
)

EXAMPLE_CSV = Path(__file__).resolve().parent.parent / "examples" / "historical-returns.csv"
TIERS = [
    Tier(name="conservative", expected_return=0.06, volatility=0.35),
    Tier(name="balanced", expected_return=0.08, volatility=0.55),
    Tier(name="aggressive", expected_return=0.10, volatility=0.80),
    Tier(name="reserve", expected_return=0.035, volatility=0.01),
]


def _sample(model, paths: int = 4000, years: int = 50, seed: int = 11) -> np.ndarray:
    return model.sample(TIERS, "reserve", years, paths, np.random.default_rng(seed))


def test_lognormal_has_the_tiers_mean_volatility_and_correlation() -> None:
    r = _sample(Lognormal()).reshape(-1, 4)  # 200,000 draws per tier
    means = np.array([t.expected_return for t in TIERS])
    vols = np.array([t.volatility for t in TIERS])
    # standard error of the mean is vol / sqrt(200,000) < 0.002; allow 3 of them
    assert r.mean(axis=0) == pytest.approx(means, abs=0.006)
    assert r.std(axis=0) == pytest.approx(vols, rel=0.03)
    logs = np.corrcoef(np.log1p(r).T)
    assert logs[0, 1] == pytest.approx(0.8, abs=0.01)
    assert logs[1, 2] == pytest.approx(0.8, abs=0.01)
    assert abs(logs[0, 3]) < 0.01  # reserve uncorrelated
    assert (r > -1).all()


def test_zero_volatility_gives_the_mean_exactly() -> None:
    z = np.random.default_rng(0).standard_normal((3, 4))
    out = lognormal_from_moments(np.array([0.06, 0.08, 0.1, 0.035]), np.zeros(4), z)
    assert (out == np.array([0.06, 0.08, 0.1, 0.035])).all()


def test_same_seed_same_paths() -> None:
    for model in (Lognormal(), Regime(), Regime(scenario="guide"), Bootstrap(EXAMPLE_CSV, 3)):
        a, b = _sample(model, 50, 20, seed=5), _sample(model, 50, 20, seed=5)
        c = _sample(model, 50, 20, seed=6)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)


def test_lognormal_first_draw_is_pinned() -> None:
    # numpy's PCG64 stream is the same on every machine: pin one figure to catch a change
    # in the order of draws (which would silently change every user's paths).
    r = _sample(Lognormal(), paths=2, years=2, seed=7)
    assert r.shape == (2, 2, 4)
    again = Lognormal().sample(TIERS, "reserve", 2, 2, np.random.default_rng(7))
    assert r[0, 0, 0] == again[0, 0, 0]
    z = np.random.default_rng(7).standard_normal((2, 2, 4))
    assert np.sign(r[0, 0, 3] - 0.035) == np.sign(z[0, 0, 3])


def test_user_correlation_matrix_and_its_checks() -> None:
    corr = correlation_matrix(TIERS, "reserve", 0.5)
    assert corr[0, 1] == 0.5 and corr[0, 3] == 0.0 and corr[3, 3] == 1.0
    matrix = np.eye(4)
    r = _sample(Lognormal(matrix=matrix), 4000, 10)
    assert abs(np.corrcoef(np.log1p(r.reshape(-1, 4)).T)[0, 2]) < 0.02
    with pytest.raises(InputError, match="3x3 but the plan has 4 tiers"):
        correlation_matrix(TIERS, "reserve", matrix=np.eye(3))
    with pytest.raises(InputError, match="symmetric"):
        correlation_matrix(TIERS, "reserve", matrix=np.triu(np.ones((4, 4))))
    bad = np.full((4, 4), -0.9)
    np.fill_diagonal(bad, 1.0)
    with pytest.raises(InputError, match="positive semi-definite"):
        correlation_matrix(TIERS, "reserve", matrix=bad)
    with pytest.raises(InputError, match="volatility: names tier"):
        _sample(Lognormal(volatility={"moonshot": 0.1}))


def test_sober_regime_keeps_long_run_mean_and_volatility() -> None:
    model = Regime()
    r = _sample(model, 8000, 50).reshape(-1, 4)
    means = np.array([t.expected_return for t in TIERS])
    vols = np.array([t.volatility for t in TIERS])
    assert r.mean(axis=0) == pytest.approx(means, abs=0.01)
    assert r.std(axis=0) == pytest.approx(vols, rel=0.05)
    bull = model.states
    assert bull.mean() == pytest.approx(5 / 7, abs=0.01)
    # persistence: a bull year follows a bull year 80% of the time
    after_bull = bull[:, 1:][bull[:, :-1]]
    assert after_bull.mean() == pytest.approx(0.8, abs=0.01)
    fresh = Regime()
    risky = _sample(fresh, 2000, 50)[..., 0]
    assert risky[~fresh.states].mean() < 0 < risky[fresh.states].mean()


def test_guide_regime_uses_the_guides_ranges() -> None:
    model = Regime(scenario="guide")
    r = _sample(model, 2000, 30)
    bull = model.states
    risky = r[..., :3]
    assert ((risky[bull] >= 1.0) & (risky[bull] <= 3.0)).all()
    assert ((risky[~bull] >= -0.8) & (risky[~bull] <= -0.5)).all()
    assert risky[bull].mean() == pytest.approx(2.0, abs=0.02)  # uniform on [1, 3]
    assert r[..., 3].mean() == pytest.approx(0.035, abs=0.001)  # reserve unaffected


def test_regime_parameter_errors() -> None:
    with pytest.raises(InputError, match="scenario 'moon' is unknown"):
        Regime(scenario="moon")
    with pytest.raises(InputError, match="p_bull_to_bear"):
        Regime(p_bull_to_bear=0.0)
    with pytest.raises(InputError, match="bull years to be the majority"):
        _sample(Regime(p_bull_to_bear=0.6, p_bear_to_bull=0.3), 2, 2)


def test_bootstrap_draws_rows_and_consecutive_blocks() -> None:
    table = read_returns_csv(EXAMPLE_CSV)
    rows = {tuple(v) for v in table[[t.name for t in TIERS]].to_numpy()}
    r = _sample(Bootstrap(EXAMPLE_CSV, block_years=4), 200, 12)
    assert all(tuple(v) in rows for v in r.reshape(-1, 4))
    data = table[[t.name for t in TIERS]].to_numpy()
    index = {tuple(v): k for k, v in enumerate(data)}
    for path in r[:20]:
        k = [index[tuple(v)] for v in path]
        for block in range(3):  # each block of 4 years is a run of consecutive rows (circular)
            run = k[4 * block : 4 * block + 4]
            assert all((b - a) % len(data) == 1 for a, b in zip(run, run[1:], strict=False))


def test_returns_csv_errors(tmp_path) -> None:
    cases = {
        "no_year.csv": ("tier,x\n1,0.1\n", "no 'year' column"),
        "percent.csv": ("year,conservative\n1,25\n", "returns are fractions"),
        "text.csv": ("year,conservative\n1,abc\n", "'abc' is not a number"),
        "ruin.csv": ("year,conservative\n1,-1.0\n", "-100% or below"),
        "empty.csv": ("year,conservative\n", "has no rows"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            read_returns_csv(path)
    with pytest.raises(InputError, match="no such returns file"):
        read_returns_csv(tmp_path / "missing.csv")
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("year,conservative\n1,0.1\n")
    with pytest.raises(InputError, match=r"no column for tier \['balanced'"):
        _sample(Bootstrap(narrow), 2, 2)


def test_make_return_model() -> None:
    assert isinstance(make_return_model("lognormal"), Lognormal)
    assert make_return_model("regime", scenario="guide").scenario == "guide"
    assert isinstance(make_return_model(np.zeros((2, 4))), FixedReturns)
    with pytest.raises(InputError, match="needs a CSV"):
        make_return_model("bootstrap")
    with pytest.raises(InputError, match="-100% or below"):
        _sample(FixedReturns(np.full((2, 4), -1.0)), 1, 2)


def test_example_csv_says_it_is_illustrative() -> None:
    head = EXAMPLE_CSV.read_text().splitlines()[0]
    assert "ILLUSTRATIVE SERIES, NOT MARKET DATA" in head

"""The stress-test simulator against independent witnesses.

- the ledger (result.yearly): every path must reproduce it to the cent when each tier earns
  the plan's deterministic return: zero volatility under the mean basis, or the median
  returns given by hand under the (default) median basis;
- hand-worked paths: a return sequence given by hand runs out of money in a year worked
  out in the comments; guardrails fire exactly at their thresholds;
- the scalar tax calculator: each simulated year's tax equals `compute_tax` on that path's
  incomes, and the gross-up meets the spending target;
- invariants (hypothesis): balances never negative, RMDs taken, spending short only when
  the accounts are empty, money conserved.
Few paths throughout, to keep the file fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt import load_plan, load_rules, optimize
from taxopt.cli import main
from taxopt.plan import plan_from_dict
from taxopt.returns import Bootstrap, FixedReturns, Lognormal, Regime
from taxopt.simulate import (
    WITHDRAWAL_RULES,
    FixedReal,
    Guardrails,
    VanguardDynamic,
    VariablePercentage,
    YearView,
    policy_from_result,
    simulate,
    vpw_rate,
)
from taxopt.tax import TaxInput, compute_tax

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
US = load_rules("us-federal-2026")
CENT = 0.005


def _zero_volatility(result) -> dict[str, float]:
    return {t.name: 0.0 for t in result.plan.tiers}


@pytest.fixture(scope="module")
def couple():
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    return optimize(plan, US, mode="fast", with_baselines=False)


@pytest.fixture(scope="module")
def retiree():
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    return optimize(plan, US, mode="fast", with_baselines=False)


def _on_mean_returns(name: str):
    """An example optimized on mean returns: zero volatility is then its deterministic path."""
    plan = load_plan(EXAMPLES / f"{name}.toml").model_copy(update={"return_basis": "mean"})
    return optimize(plan, US, mode="fast", with_baselines=False)


@pytest.fixture(scope="module")
def couple_mean():
    return _on_mean_returns("couple-near-retirement")


@pytest.fixture(scope="module")
def retiree_mean():
    return _on_mean_returns("retiree-drawing-2.5-percent")


def _roth_only(years: int = 10) -> dict:
    """One person, one Roth IRA, one tier, no inflation, no income: no tax at all."""
    return {
        "name": "Roth only",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 66 + years - 1,
        "inflation": 0.0,
        "people": [{"name": "Pat", "birth_year": 1960}],
        "tiers": [{"name": "index", "expected_return": 0.05, "volatility": 0.3}],
        "profile": {"weights": {"index": 1.0}},
        "accounts": [
            {"name": "roth", "kind": "roth_ira", "owner": "Pat", "balances": {"index": 1e6}}
        ],
    }


@pytest.fixture(scope="module")
def roth10():
    return optimize(plan_from_dict(_roth_only(10)), US, mode="fast", with_baselines=False)


@pytest.fixture(scope="module")
def roth30():
    return optimize(plan_from_dict(_roth_only(30)), US, mode="fast", with_baselines=False)


@pytest.fixture(scope="module")
def ira_roth():
    """Traditional IRA + Roth, Social Security, RMDs, no conversions, no taxable account."""
    data = {
        "name": "IRA and Roth",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 85,
        "inflation": 0.025,
        "people": [{"name": "Pat", "birth_year": 1960}],
        "tiers": [
            {"name": "stock", "expected_return": 0.06, "volatility": 0.2},
            {
                "name": "cash",
                "expected_return": 0.03,
                "yield": 0.03,
                "yield_character": "ordinary",
                "volatility": 0.01,
            },
        ],
        "profile": {
            "weights": {"stock": 1.0},
            "reserve_tier": "cash",
            "reserve_min": 0.1,
            "reserve_max": 0.2,
        },
        "accounts": [
            {"name": "ira", "kind": "traditional_ira", "owner": "Pat", "balances": {"stock": 7e5}},
            {"name": "roth", "kind": "roth_ira", "owner": "Pat", "balances": {"stock": 2e5}},
        ],
        "income": [
            {
                "name": "Social Security",
                "kind": "social_security",
                "owner": "Pat",
                "start_age": 67,
                "annual": 30000,
            }
        ],
        "options": {"roth_conversions": False},
    }
    return optimize(plan_from_dict(data), US, mode="fast", with_baselines=False)


# ---------------------------------------------------------------------------------------
# The key witness: zero volatility reproduces the deterministic ledger to the cent


def _assert_matches_ledger(sim, result) -> None:
    y = result.yearly
    assert np.abs(sim.spending_real - y["spending_real"].to_numpy()).max() < CENT
    assert np.abs(sim.tax - y["total_tax"].to_numpy()).max() < CENT
    assert np.abs(sim.realized_gains - y["realized_gains"].to_numpy()).max() < CENT
    assert np.abs(sim.wealth_real - y["after_tax_estate_real"].to_numpy()).max() < CENT
    for j, account in enumerate(sim.policy.accounts):
        assert np.abs(sim.closing[:, :, j] - y[f"closing_{account}"].to_numpy()).max() < CENT
        assert np.abs(sim.withdrawals[:, :, j] - y[f"withdrawal_{account}"].to_numpy()).max() < CENT
    assert sim.success_rate == 1.0


@pytest.mark.parametrize("example", ["couple_mean", "retiree_mean"])
def test_zero_volatility_reproduces_the_ledger(example, request) -> None:
    result = request.getfixturevalue(example)
    assert result.yearly["realized_gains"].sum() > 0  # taxable sales are exercised
    sim = simulate(result, paths=3, seed=1, returns=Lognormal(volatility=_zero_volatility(result)))
    _assert_matches_ledger(sim, result)


def test_zero_volatility_regime_and_constant_bootstrap_reproduce_the_ledger(retiree_mean, tmp_path):
    retiree = retiree_mean
    sim = simulate(retiree, paths=2, seed=2, returns=Regime(volatility=_zero_volatility(retiree)))
    _assert_matches_ledger(sim, retiree)
    csv = tmp_path / "means.csv"
    tiers = retiree.plan.tiers
    csv.write_text(
        "year,"
        + ",".join(t.name for t in tiers)
        + "\n"
        + "\n".join(f"{k}," + ",".join(repr(t.expected_return) for t in tiers) for k in range(3))
    )
    _assert_matches_ledger(simulate(retiree, paths=2, returns=Bootstrap(csv)), retiree)


def test_one_tier_median_plan_is_the_simulators_median_path() -> None:
    """A one-tier Roth, no withdrawals, no inflation: the ledger's wealth after n years is
    W0 g^n with g the tier's median growth; the simulator's lognormal paths (mean 7%,
    volatility 10%) have log wealth normal with median n mu, so their median wealth is the
    same W0 exp(n mu). On 20,000 paths the sample median's standard error is about
    1.2533 sqrt(n s2 / 20000) = 0.26% (n = 10, s2 = 0.0087): 1% is almost four of them,
    while the mean basis would be 4.4% above (1.07^10 / 1.0654^10)."""
    data = _roth_only(10)
    data["tiers"] = [{"name": "index", "expected_return": 0.07, "volatility": 0.10}]
    data["withdrawal"] = {"policy": "fixed_amount", "amount": 0.0}
    data["objective"] = {"kind": "max_estate"}
    result = optimize(plan_from_dict(data), US, mode="fast", with_baselines=False)
    deterministic = result.yearly["after_tax_estate_real"].iloc[-1]
    assert deterministic == pytest.approx(1e6 * (1.07 / np.sqrt(1 + (0.10 / 1.07) ** 2)) ** 10)
    sim = simulate(result, paths=20_000, seed=11)
    median = float(np.median(sim.wealth_real[:, -1]))
    assert abs(median / deterministic - 1) < 0.01
    assert abs(np.mean(sim.wealth_real[:, -1]) / (1e6 * 1.07**10) - 1) < 0.01  # the mean's


@pytest.mark.parametrize("example", ["couple", "retiree"])
def test_median_returns_reproduce_the_median_ledger(example, request) -> None:
    """Under the default median basis the ledger compounds each tier at its lognormal
    median, worked out here from the tier's mean m and volatility s by hand:
    (1 + m) / sqrt(1 + (s / (1 + m))^2) - 1; paths earning exactly that reproduce it."""
    result = request.getfixturevalue(example)
    plan = result.plan
    assert plan.return_basis == "median"
    median = [
        (1 + t.expected_return) / np.sqrt(1 + (t.volatility / (1 + t.expected_return)) ** 2) - 1
        for t in plan.tiers
    ]
    assert median != [t.expected_return for t in plan.tiers]
    returns = np.tile(median, (len(plan.years), 1))
    _assert_matches_ledger(simulate(result, paths=2, returns=returns), result)


# ---------------------------------------------------------------------------------------
# Worked by hand


def test_money_runs_out_in_the_worked_year(roth10) -> None:
    # $1,000,000 in a Roth, no tax, no inflation; spend 10% of it ($100,000) a year.
    # Returns: -50% in 2026, then 0%. Openings: 2026 1,000,000 -> (900,000 x 0.5) =
    # 450,000 in 2027; then 350,000 (2028), 250,000 (2029), 150,000 (2030), 50,000 (2031):
    # 2031 is the first year the $100,000 cannot be met; spending is $50,000, then 0.
    returns = np.zeros((10, 1))
    returns[0, 0] = -0.5
    sim = simulate(roth10, paths=1, returns=returns, withdrawal=FixedReal(rate=0.10))
    assert sim.shortfall_year.tolist() == [2031]
    assert sim.success_rate == 0.0
    expected = [100_000] * 5 + [50_000] + [0] * 4
    assert sim.spending_real[0] == pytest.approx(expected, abs=1e-6)
    assert sim.closing[0, :6, 0] == pytest.approx([450e3, 350e3, 250e3, 150e3, 50e3, 0], abs=1e-6)
    assert sim.tax.max() == 0.0


def test_guardrails_fire_exactly_at_their_thresholds(roth30) -> None:
    # Initial rate 5% of $1,000,000 = $50,000; after 2026 the portfolio holds 950,000 x
    # (1 + r). Next year's rate 50,000 / P: above 6% (P < 833,333.33) cuts 10% to 45,000;
    # below 4% (P > 1,250,000) raises 10% to 55,000; in between nothing changes.
    openings = [833_000.0, 833_700.0, 1_249_000.0, 1_251_000.0]
    returns = np.zeros((4, 30, 1))
    returns[:, 0, 0] = np.array(openings) / 950_000.0 - 1.0
    rule = Guardrails(initial_rate=0.05)
    sim = simulate(roth30, paths=4, returns=returns, withdrawal=rule)
    assert sim.target_real[:, 0] == pytest.approx([50_000] * 4)
    assert sim.target_real[:, 1] == pytest.approx([45_000, 50_000, 50_000, 55_000])


def _view(portfolio: float, *, remaining: int = 30, last_return: float = 0.0, inflation=0.0):
    return YearView(
        index=0,
        since_retirement=0,
        remaining=remaining,
        portfolio_real=np.array([portfolio]),
        income_real=0.0,
        plan_spending_real=0.0,
        last_return=np.array([last_return]),
        age=70,
        inflation=inflation,
    )


def test_guardrails_rules_one_by_one() -> None:
    rule = Guardrails(initial_rate=0.05)
    rule.start(1, None)
    assert rule.target_real(_view(1e6)) == pytest.approx([50_000])
    # capital preservation stops in the last 15 years: rate 6.25% but no cut
    assert rule.target_real(_view(800_000, remaining=15)) == pytest.approx([50_000])
    assert rule.target_real(_view(800_000, remaining=16)) == pytest.approx([45_000])
    # withdrawal rule: after a losing year with the rate above 5%, no inflation raise:
    # the nominal amount stays, so the real amount falls by the 3% inflation
    rule = Guardrails(initial_rate=0.05)
    rule.start(1, None)
    rule.target_real(_view(1e6, inflation=0.03))
    frozen = rule.target_real(_view(900_000, last_return=-0.05, inflation=0.03, remaining=10))
    assert frozen == pytest.approx([50_000 / 1.03])
    raised = rule.target_real(_view(900_000, last_return=0.05, inflation=0.03, remaining=10))
    assert raised == pytest.approx([50_000 / 1.03])  # real amount kept after a good year


def test_vanguard_ceiling_and_floor() -> None:
    # Jaconetti, Kinniry & DiJoseph (2013): real spending moves at most +5% / -2.5% a year.
    rule = VanguardDynamic(rate=0.04)
    rule.start(1, None)
    assert rule.target_real(_view(1e6)) == pytest.approx([40_000])
    assert rule.target_real(_view(2e6)) == pytest.approx([42_000])  # 80,000 capped at +5%
    assert rule.target_real(_view(5e5)) == pytest.approx([40_950])  # 20,000 floored at -2.5%
    assert rule.target_real(_view(1_030_000)) == pytest.approx([41_200])  # within the band


def test_vpw_rate_worked() -> None:
    # PMT at the start of each year: 0.03 / (1.03 x (1 - 1.03^-30)) = 0.03 / 0.605653
    assert vpw_rate(0.03, 30) == pytest.approx(0.049534, abs=1e-6)
    assert vpw_rate(0.0, 10) == pytest.approx(0.1)
    assert vpw_rate(0.05, 1) == 1.0


# ---------------------------------------------------------------------------------------
# Taxes and gross-up against the scalar calculator


def test_tax_equals_scalar_calculator_and_spending_meets_target(ira_roth) -> None:
    sim = simulate(ira_roth, paths=40, seed=5, returns="lognormal", withdrawal="vanguard")
    plan = ira_roth.plan
    ss = {y: (30000 * plan.inflation_factor(y) if y - 1960 >= 67 else 0.0) for y in plan.years}
    ira = sim.policy.accounts.index("ira")
    rng = np.random.default_rng(0)
    for p, i in zip(rng.integers(0, 40, 30), rng.integers(0, len(plan.years), 30), strict=True):
        year = plan.years[i]
        income = TaxInput(
            "single",
            plan.ages_in(year),
            ordinary_income=float(sim.withdrawals[p, i, ira]),
            social_security=ss[year],
            year=year,
        )
        expected = compute_tax(US.for_year(year, plan.inflation), income).total_tax
        assert sim.tax[p, i] == pytest.approx(expected, abs=1e-6)
    funded = sim.closing.sum(axis=2) > 1.0
    gap = sim.spending_real - sim.target_real
    assert np.abs(gap[funded & (gap < 0)]).max(initial=0.0) < 1e-4
    assert sim.gross_up_residual < 1e-9


# ---------------------------------------------------------------------------------------
# Seeds, figures, rules side by side


def test_same_seed_same_paths_different_seed_different(retiree) -> None:
    a = simulate(retiree, paths=20, seed=7, withdrawal="guardrails")
    b = simulate(retiree, paths=20, seed=7, withdrawal="guardrails")
    c = simulate(retiree, paths=20, seed=8, withdrawal="guardrails")
    assert np.array_equal(a.returns, b.returns)
    assert np.array_equal(a.spending_real, b.spending_real)
    assert np.array_equal(a.wealth_real, b.wealth_real)
    assert not np.array_equal(a.returns, c.returns)
    assert not np.array_equal(a.wealth_real, c.wealth_real)


def test_figures_and_rules_side_by_side(retiree) -> None:
    sim = simulate(retiree, paths=60, seed=3, returns="regime", withdrawal="vpw")
    pct = sim.percentiles
    assert list(pct.index) == retiree.plan.years
    for kind in ("spending_real", "wealth_real"):
        values = pct[[f"{kind}_p{q}" for q in (5, 25, 50, 75, 95)]].to_numpy()
        assert (np.diff(values, axis=1) >= -1e-9).all()
    assert 0.0 <= sim.success_rate <= 1.0
    seq = sim.sequence_risk
    assert 0.0 <= seq["r2_first_decade"] <= 1.0 and 0.0 <= seq["r2_full_horizon"] <= 1.0
    worst = sim.worst_paths
    assert (
        len(worst) == 10 and worst["final_wealth_real"].iloc[0] <= pct["wealth_real_p50"].iloc[-1]
    )
    table = sim.compare_rules()
    assert list(table.index) == list(WITHDRAWAL_RULES)
    assert table.at["vpw", "success_rate"] == sim.success_rate
    other = simulate(retiree, paths=60, seed=3, returns="regime", withdrawal="bengen")
    assert table.at["bengen", "success_rate"] == other.success_rate


def test_vpw_spends_level_amounts_and_empties_the_account_in_the_last_year(roth10) -> None:
    # At a 0% stated return VPW spends 1/n of the portfolio with n years left: with 0%
    # returns that is $100,000 every year of ten from $1,000,000, the last year "all that
    # is left" (also $100,000), ending at exactly 0, and every target met.
    sim = simulate(roth10, paths=1, returns=np.zeros((10, 1)), withdrawal=VariablePercentage(0.0))
    assert sim.spending_real[0] == pytest.approx([100_000] * 10)
    assert sim.closing[0, -1, 0] == pytest.approx(0.0, abs=1e-6)
    assert sim.success_rate == 1.0


def test_bengen_and_constant_rules_are_what_they_say(roth10) -> None:
    returns = np.full((10, 1), 0.02)
    bengen = simulate(roth10, paths=1, returns=returns, withdrawal="bengen")
    assert bengen.target_real[0] == pytest.approx([40_000] * 10)  # 4% of 1,000,000, fixed
    constant = simulate(roth10, paths=1, returns=returns, withdrawal="constant")
    openings = constant.closing[0, :, 0]
    assert constant.target_real[0, 1:] == pytest.approx(0.04 * openings[:-1])


def test_policy_draw_order_follows_the_plan(couple) -> None:
    # Accounts by the amount-weighted mean year of the plan's real withdrawals (ledger).
    y = couple.yearly
    mean_year = {}
    for account in (a.name for a in couple.plan.accounts):
        real = y[f"withdrawal_{account}"] / y["inflation_factor"]
        mean_year[account] = (y["year"] * real).sum() / real.sum() if real.sum() > 0 else 1e9
    policy = policy_from_result(couple)
    assert [policy.accounts[j] for j in policy.rank] == sorted(mean_year, key=mean_year.get)


# ---------------------------------------------------------------------------------------
# Invariants


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), rule=st.sampled_from(sorted(WITHDRAWAL_RULES)))
def test_invariants(ira_roth, seed: int, rule: str) -> None:
    sim = simulate(ira_roth, paths=8, seed=seed, withdrawal=rule)
    policy = sim.policy
    assert (sim.closing >= -1e-9).all()
    # RMDs are taken: the opening balance (last closing) x 1/divisor, where one is due
    ira = policy.accounts.index("ira")
    opening = np.concatenate(
        [np.full((8, 1), policy.balances[ira].sum()), sim.closing[:, :-1, ira]], axis=1
    )
    required = opening * policy.rmd_fraction[:, ira]
    assert (sim.withdrawals[:, :, ira] >= required - 1e-6).all()
    # spending falls short only when every account is empty
    short = sim.spending_real < sim.target_real - 0.5
    assert (sim.closing.sum(axis=2)[short] < 1e-6).all()


@settings(max_examples=10, deadline=None)
@given(returns=st.lists(st.floats(-0.9, 2.0), min_size=10, max_size=10))
def test_money_is_conserved_on_a_single_tier(roth10, returns: list[float]) -> None:
    sim = simulate(roth10, paths=1, returns=np.array(returns)[:, None], withdrawal="guardrails")
    opening = 1e6
    for i, r in enumerate(returns):
        drawn = sim.withdrawals[0, i, 0]
        assert sim.closing[0, i, 0] == pytest.approx((opening - drawn) * (1 + r), abs=1e-6)
        assert sim.spending_real[0, i] == pytest.approx(drawn, abs=1e-6)  # no tax, no income
        opening = sim.closing[0, i, 0]


# ---------------------------------------------------------------------------------------
# CLI and workbook


def test_cli_writes_workbook_with_stress_sheet(tmp_path, capsys) -> None:
    xlsx, out_json = tmp_path / "stress.xlsx", tmp_path / "stress.json"
    code = main(
        [
            "simulate",
            str(EXAMPLES / "retiree-drawing-2.5-percent.toml"),
            "--paths", "30", "--seed", "4", "--mode", "fast", "--no-baselines",
            "--withdrawal", "guardrails", "-o", str(xlsx), "--json", str(out_json),
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "success rate" in printed and "vpw" in printed
    figures = json.loads(out_json.read_text())
    book = openpyxl.load_workbook(xlsx)
    assert "Stress test" in book.sheetnames and book.sheetnames[0] == "Plan"
    sheet = book["Stress test"]
    assert len(sheet._charts) == 3
    cells = {sheet.cell(r, 1).value: sheet.cell(r, 4).value for r in range(1, 15)}
    assert cells["Success rate (spending met every year)"] == pytest.approx(figures["success_rate"])
    assert len(figures["rules_compared"]) == len(WITHDRAWAL_RULES)
    result = optimize(load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml"), US, mode="fast",
                      with_baselines=False)  # fmt: skip
    again = simulate(result, paths=30, seed=4, withdrawal="guardrails")
    assert again.success_rate == pytest.approx(figures["success_rate"])


def test_cli_bootstrap_with_the_example_csv(capsys) -> None:
    code = main(
        [
            "simulate", str(EXAMPLES / "retiree-drawing-2.5-percent.toml"), "--paths", "10",
            "--mode", "fast", "--no-baselines", "--returns", "bootstrap",
            "--returns-csv", str(EXAMPLES / "historical-returns.csv"), "--block-years", "3",
        ]
    )  # fmt: skip
    assert code == 0
    assert "bootstrap of" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--returns", "bootstrap"], "--returns-csv"),
        (["--returns", "bootstrap", "--returns-csv", "nope.csv"], "nope.csv: no such"),
        (["--returns-csv", "x.csv"], "is for --returns bootstrap"),
        (["--paths", "0"], "--paths: 0 is outside the range; give a whole number from 1"),
    ],
)
def test_cli_user_errors(args, message, capsys) -> None:
    plan = str(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    code = main(["simulate", plan, "--mode", "fast", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unknown_rule_and_model_name_the_choices(roth10) -> None:
    from taxopt.errors import InputError

    with pytest.raises(InputError, match="withdrawal 'yolo' is unknown"):
        simulate(roth10, paths=1, withdrawal="yolo")
    with pytest.raises(InputError, match="returns 'garch' is unknown"):
        simulate(roth10, paths=1, returns="garch")
    with pytest.raises(InputError, match="fixed returns: shape"):
        simulate(roth10, paths=1, returns=FixedReturns(np.zeros((3, 1))))


@pytest.mark.parametrize("state", ["ca", "nj"])
def test_zero_volatility_reproduces_the_ledger_with_a_state(state) -> None:
    """The simulator charges the state's tax (taxopt.state_tax over the paths' arrays) as
    the ledger does: with a state the deterministic path still reproduces the ledger's
    tax and spending to the cent (it charged federal tax only, a state's tax short)."""
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    plan = plan.model_copy(update={"return_basis": "mean"}).with_state(state)
    result = optimize(plan, US, mode="fast", with_baselines=False)
    assert result.yearly["state_tax"].sum() > 500
    sim = simulate(result, paths=2, seed=1, returns=Lognormal(volatility=_zero_volatility(result)))
    _assert_matches_ledger(sim, result)

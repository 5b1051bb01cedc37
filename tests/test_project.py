"""taxopt.project: closed forms against a month-by-month loop, hand-worked cases, the guide.

The second witness is `month_loop` below: it pays and compounds one period at a time in
50-digit decimal arithmetic, sharing no code with taxopt.project. The hand-worked cases are
standard annuity arithmetic (future value of a lump sum (1+i)^n; of an ordinary annuity
c((1+i)^n - 1)/i; an annuity due is the ordinary one times (1+i)).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.cli import main
from taxopt.errors import InputError
from taxopt.project import future_value, project

REPO = Path(__file__).resolve().parents[1]
CENT = 0.01


def month_loop(
    initial: float,
    monthly: float,
    annual_return: float,
    years: int,
    rate_kind: str = "effective",
    timing: str = "end",
    contribution_growth: float = 0.0,
    withdraw_gains: bool = False,
    compounding: str = "monthly",
) -> tuple[float, float]:
    """(final balance, total gains withdrawn), one period at a time in exact-ish decimals."""
    with localcontext() as ctx:
        ctx.prec = 50
        r = Decimal(annual_return)  # the exact binary value the closed form also sees
        if compounding == "annual":
            rate, periods, per_period = r, 1, Decimal(monthly) * 12
        elif rate_kind == "effective":
            rate, periods, per_period = (1 + r) ** (Decimal(1) / 12) - 1, 12, Decimal(monthly)
        else:
            rate, periods, per_period = r / 12, 12, Decimal(monthly)
        value, withdrawn = Decimal(initial), Decimal(0)
        for year in range(years):
            contribution = per_period * (1 + Decimal(contribution_growth)) ** year
            start, paid = value, Decimal(0)
            for _ in range(periods):
                if timing == "begin":
                    value += contribution
                value *= 1 + rate
                if timing == "end":
                    value += contribution
                paid += contribution
            gain = value - start - paid
            if withdraw_gains and gain > 0:
                value -= gain
                withdrawn += gain
        return float(value), float(withdrawn)


# Domains small enough that a float closed form can be held to a cent (values below ~1e11).
initials = st.floats(0, 1e6, allow_nan=False)
monthlies = st.floats(0, 1e4, allow_nan=False)
returns = st.floats(-0.5, 0.6, allow_nan=False)
horizons = st.integers(0, 20)
rate_kinds = st.sampled_from(["effective", "nominal"])
timings = st.sampled_from(["end", "begin"])
compoundings = st.sampled_from(["monthly", "annual"])
growths = st.floats(-0.2, 0.1, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(initials, monthlies, returns, horizons, rate_kinds, timings, compoundings, growths)
def test_closed_forms_agree_with_month_loop_to_a_cent(
    initial, monthly, annual_return, years, rate_kind, timing, compounding, growth
):
    kwargs = dict(
        rate_kind=rate_kind, timing=timing, compounding=compounding, contribution_growth=growth
    )
    loop_value, _ = month_loop(
        initial, monthly, annual_return, years, rate_kind, timing, growth, False, compounding
    )
    table = project(initial, monthly, annual_return, years, **kwargs)
    whole = future_value(initial, monthly, annual_return, years, **kwargs)
    assert table.final_value == pytest.approx(loop_value, abs=CENT)
    assert whole == pytest.approx(loop_value, abs=CENT)


@settings(max_examples=60, deadline=None)
@given(initials, monthlies, returns, horizons, rate_kinds, timings, growths)
def test_gains_withdrawn_agrees_with_month_loop(
    initial, monthly, annual_return, years, rate_kind, timing, growth
):
    loop_value, loop_withdrawn = month_loop(
        initial, monthly, annual_return, years, rate_kind, timing, growth, True
    )
    result = project(
        initial,
        monthly,
        annual_return,
        years,
        rate_kind=rate_kind,
        timing=timing,
        contribution_growth=growth,
        withdraw_gains=True,
    )
    assert result.final_value == pytest.approx(loop_value, abs=CENT)
    assert result.total_withdrawn == pytest.approx(loop_withdrawn, abs=CENT)


@settings(max_examples=100, deadline=None)
@given(initials, monthlies, returns, horizons, rate_kinds, timings, st.booleans(), growths)
def test_money_is_accounted_for_and_years_chain(
    initial, monthly, annual_return, years, rate_kind, timing, withdraw, growth
):
    r = project(
        initial,
        monthly,
        annual_return,
        years,
        rate_kind=rate_kind,
        timing=timing,
        withdraw_gains=withdraw,
        contribution_growth=growth,
    )
    assert r.growth == pytest.approx(
        r.final_value + r.total_withdrawn - r.initial - r.total_contributed, abs=1e-6
    )
    assert r.total_contributed == pytest.approx(sum(row["contributions"] for row in r.yearly))
    assert r.growth == pytest.approx(sum(row["growth"] for row in r.yearly), rel=1e-9, abs=1e-6)
    start = initial
    for row in r.yearly:
        assert row["start_value"] == start
        assert row["end_value"] == pytest.approx(
            row["start_value"] + row["contributions"] + row["growth"] - row["withdrawn"]
        )
        assert row["end_value"] >= 0
        start = row["end_value"]
    assert len(r.yearly) == years


@settings(max_examples=100, deadline=None)
@given(initials, monthlies, horizons, rate_kinds, timings, compoundings, growths)
def test_zero_return_gives_initial_plus_contributions(
    initial, monthly, years, rate_kind, timing, compounding, growth
):
    r = project(
        initial,
        monthly,
        0.0,
        years,
        rate_kind=rate_kind,
        timing=timing,
        compounding=compounding,
        contribution_growth=growth,
    )
    paid = sum(12 * monthly * (1 + growth) ** k for k in range(years))
    assert r.final_value == pytest.approx(initial + paid, abs=1e-6)
    assert r.total_contributed == pytest.approx(paid, abs=1e-6)
    assert r.growth == pytest.approx(0, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    initials,
    monthlies,
    returns,
    st.floats(0.001, 0.5),
    st.integers(1, 20),
    rate_kinds,
    timings,
    compoundings,
)
def test_monotone_in_return(
    initial, monthly, annual_return, step, years, rate_kind, timing, compounding
):
    kw = dict(rate_kind=rate_kind, timing=timing, compounding=compounding)
    low = project(initial, monthly, annual_return, years, **kw).final_value
    high = project(initial, monthly, annual_return + step, years, **kw).final_value
    assert high >= low - 1e-9 * max(1.0, low)
    # Strictly more only when money is invested for a whole compounding period: with annual
    # compounding, deposits made during the only year earn nothing by its end.
    if initial > 1 or (monthly > 1 and years > 1):
        assert high > low


@settings(max_examples=100, deadline=None)
@given(initials, monthlies, st.floats(1, 1e4), returns, st.integers(1, 20), rate_kinds, timings)
def test_monotone_in_contributions(
    initial, monthly, extra, annual_return, years, rate_kind, timing
):
    kw = dict(rate_kind=rate_kind, timing=timing)
    low = project(initial, monthly, annual_return, years, **kw)
    more_monthly = project(initial, monthly + extra, annual_return, years, **kw)
    more_initial = project(initial + extra, monthly, annual_return, years, **kw)
    assert more_monthly.final_value > low.final_value
    assert more_initial.final_value > low.final_value


@settings(max_examples=60, deadline=None)
@given(initials, monthlies, st.floats(0.001, 0.6), st.integers(1, 20))
def test_conventions_order_for_positive_returns(initial, monthly, annual_return, years):
    """Nominal r/12 earns more than an effective r; paying in a month earlier earns more."""

    def fv(rate_kind: str, timing: str) -> float:
        return project(
            initial, monthly, annual_return, years, rate_kind=rate_kind, timing=timing
        ).final_value

    tol = 1e-9 * max(1.0, fv("nominal", "begin"))
    assert fv("nominal", "end") >= fv("effective", "end") - tol
    assert fv("effective", "begin") >= fv("effective", "end") - tol
    assert fv("nominal", "begin") >= fv("nominal", "end") - tol


# Hand-worked cases.


def test_lump_sum_at_12_percent_nominal_for_a_year():
    # 1000 x 1.01^12 = 1126.825030...
    r = project(1000, 0, 0.12, 1, rate_kind="nominal")
    assert round(r.final_value, 2) == 1126.83
    assert round(r.growth, 2) == 126.83


def test_lump_sum_at_12_percent_effective_for_a_year_is_exactly_12_percent():
    assert project(1000, 0, 0.12, 1, rate_kind="effective").final_value == pytest.approx(1120)


def test_annuity_of_100_a_month_at_1_percent_a_month():
    # End of month: 100 x (1.01^12 - 1) / 0.01 = 1268.250301...; start of month: x 1.01.
    end = project(0, 100, 0.12, 1, rate_kind="nominal", timing="end")
    begin = project(0, 100, 0.12, 1, rate_kind="nominal", timing="begin")
    assert round(end.final_value, 2) == 1268.25
    assert round(begin.final_value, 2) == 1280.93
    assert begin.final_value == pytest.approx(end.final_value * 1.01)
    assert end.total_contributed == 1200


def test_annual_compounding_pays_twelve_months_at_once():
    # 100/month = 1200/year at 10%, 2 years. End: 1200 x 1.1 + 1200 = 2520.
    # Start: 1200 x 1.21 + 1200 x 1.1 = 2772.
    assert project(0, 100, 0.1, 2, compounding="annual").final_value == pytest.approx(2520)
    begin = project(0, 100, 0.1, 2, compounding="annual", timing="begin")
    assert begin.final_value == pytest.approx(2772)


def test_contribution_growth_raises_each_year():
    # 100/month rising 10% a year at 0%: 1200 + 1320 + 1452 = 3972.
    r = project(0, 100, 0.0, 3, contribution_growth=0.10)
    assert [row["contributions"] for row in r.yearly] == pytest.approx([1200, 1320, 1452])
    assert r.final_value == pytest.approx(3972)
    # With a return: annual compounding, 10%, end of year: 1200 x 1.1 + 1320 = 2640.
    r2 = project(0, 100, 0.10, 2, compounding="annual", contribution_growth=0.10)
    assert r2.final_value == pytest.approx(2640)
    assert future_value(0, 100, 0.10, 2, compounding="annual", contribution_growth=0.10) == (
        pytest.approx(2640)
    )


def test_contribution_growth_equal_to_portfolio_growth_uses_the_limit():
    # Annual compounding, 10% return, contributions rising 10%: Y c A^(Y-1) = 3 x 1200 x 1.21.
    fv = future_value(0, 100, 0.10, 3, compounding="annual", contribution_growth=0.10)
    assert fv == pytest.approx(3 * 1200 * 1.21)


def test_zero_years_is_the_initial_sum():
    r = project(500, 100, 0.5, 0)
    assert (r.final_value, r.total_contributed, r.growth, r.yearly) == (500, 0, 0, [])


def test_losses_are_never_withdrawn():
    r = project(1000, 0, -0.2, 2, withdraw_gains=True)
    assert r.total_withdrawn == 0
    assert r.final_value == pytest.approx(640)


def test_to_frame_is_indexed_by_year():
    frame = project(1000, 100, 0.05, 3).to_frame()
    assert list(frame.index) == [1, 2, 3]
    assert list(frame.columns) == [
        "start_value",
        "contributions",
        "growth",
        "withdrawn",
        "end_value",
    ]


def test_convention_sentence_states_the_rate_and_timing():
    text = project(0, 250, 0.5, 1, rate_kind="nominal", timing="begin").convention
    assert "nominal annual rate of 50%" in text and "4.1667%" in text
    assert "start of each month" in text
    text = project(0, 250, 0.5, 1).convention
    assert "effective annual rate of 50%" in text and "end of each month" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(initial=-1), "initial"),
        (dict(monthly=-5), "monthly"),
        (dict(annual_return=-1.0), "annual_return"),
        (dict(annual_return=float("nan")), "annual_return"),
        (dict(years=-1), "years"),
        (dict(years=2.5), "years"),
        (dict(contribution_growth=-1.5), "contribution_growth"),
        (dict(rate_kind="continuous"), "rate_kind"),
        (dict(timing="middle"), "timing"),
    ],
)
def test_bad_inputs_name_the_field(kwargs, field):
    args = dict(initial=1000, monthly=100, annual_return=0.05, years=10) | kwargs
    with pytest.raises(InputError, match=rf"^{field}: "):
        project(**args)


# The guide's claims (docs/investing-guide.md, "The guide's figures") under taxopt's default
# convention: effective annual rate, contributions at the end of each month. Expected values
# are computed here from the textbook formula, and pinned to the cent.


def _fv_effective_end(initial: float, monthly: float, r: float, years: int) -> float:
    i = (1 + r) ** (1 / 12) - 1
    n = 12 * years
    return initial * (1 + i) ** n + monthly * ((1 + i) ** n - 1) / i


@pytest.mark.parametrize(
    ("initial", "monthly", "r", "years", "pinned", "guide"),
    [
        (1_000, 250, 0.50, 10, 469_881.34, 486_000),  # modest beginning
        (5_000, 500, 0.50, 10, 1_112_757.80, 972_000),  # aggressive accumulation
        (10_000, 300, 0.30, 15, 1_192_978.23, 1_100_000),  # conservative average, A
        (25_000, 500, 0.30, 15, 2_414_846.16, 2_800_000),  # conservative average, B
    ],
)
def test_guide_contribution_claims(initial, monthly, r, years, pinned, guide):
    result = project(initial, monthly, r, years)
    assert result.final_value == pytest.approx(_fv_effective_end(initial, monthly, r, years))
    assert round(result.final_value, 2) == pinned
    assert result.final_value != pytest.approx(guide, rel=0.02)  # the guide's figure is off


def test_guide_compounding_example_40_percent_for_7_years():
    # 10,000 x 1.4^7 = 105,413.504, not the guide's $150,000.
    assert round(project(10_000, 0, 0.40, 7).final_value, 2) == 105_413.50


def test_guide_compounding_example_gains_withdrawn():
    # Simple interest: 10,000 + 7 x 4,000 = 38,000, the guide's figure exactly.
    r = project(10_000, 0, 0.40, 7, withdraw_gains=True)
    assert r.final_value == pytest.approx(10_000)
    assert r.total_withdrawn == pytest.approx(28_000)
    assert r.final_with_withdrawals == pytest.approx(38_000)


def test_guide_growth_example_60_percent_for_3_years():
    # 25,000 x 1.6^3 = 102,400 (guide: $100,000).
    assert project(25_000, 0, 0.60, 3).final_value == pytest.approx(102_400)


def test_guide_growth_example_60_percent_for_6_years():
    # 25,000 x 1.6^6 = 419,430.40 (guide: $400,000).
    assert project(25_000, 0, 0.60, 6).final_value == pytest.approx(419_430.40)


def _load_guide_claims():
    path = REPO / "examples" / "guide_claims.py"
    spec = importlib.util.spec_from_file_location("guide_claims", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["guide_claims"] = module  # dataclasses look the module up while defining
    spec.loader.exec_module(module)
    return module


def test_guide_claims_markdown_matches_the_script():
    module = _load_guide_claims()
    committed = (REPO / "examples" / "guide-claims.md").read_text()
    assert committed == module.render_markdown(module.check_claims()), (
        "examples/guide-claims.md is stale; run `python examples/guide_claims.py`"
    )


def test_guide_claims_verdicts():
    module = _load_guide_claims()
    verdicts = {c.claim.name: c.reproducing for c in module.check_claims()}
    assert verdicts["modest beginning"] == ["effective/begin"]
    assert verdicts["aggressive accumulation"] == ["annual/end"]
    assert verdicts["conservative average, A"] == ["annual/end"]
    assert verdicts["conservative average, B"] == []
    assert verdicts["compounding example"] == []
    assert "effective/end" in verdicts["compounding example, gains withdrawn"]


# The CLI, through taxopt.cli.main.


def test_cli_json(capsys):
    code = main(
        [
            "project",
            "--initial", "1000",
            "--monthly", "250",
            "--annual-return", "0.5",
            "--years", "10",
            "--rate-kind", "effective",
            "--timing", "end",
            "--contribution-growth", "0.0",
            "--json",
        ]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["final_value"] == 469_881.34
    assert data["total_contributed"] == 30_000
    assert data["growth"] == pytest.approx(469_881.34 - 1_000 - 30_000, abs=CENT)
    assert "effective annual rate of 50%" in data["convention"]
    assert [row["year"] for row in data["yearly"]] == list(range(1, 11))
    assert data["yearly"][-1]["end_value"] == data["final_value"]


def test_cli_table(capsys):
    code = main(["project", "--initial", "10000", "--annual-return", "0.4", "--years", "7",
                 "--withdraw-gains"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "withdrawn" in out and "28,000.00" in out and "10,000.00" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--annual-return", "-1", "--years", "5"], "--annual-return: -1 "),
        (["--annual-return", "0.05", "--years", "2.5"], "--years: 2.5 "),
        (["--annual-return", "0.05", "--years", "5", "--monthly", "-3"], "--monthly: -3 "),
    ],
)
def test_cli_errors_are_one_line(capsys, argv, message):
    assert main(["project", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"taxopt: {message}")
    assert err.count("\n") == 1


def test_cli_warns_when_a_percentage_is_typed_as_a_number(capsys):
    assert main(["project", "--annual-return", "50", "--years", "1", "--json"]) == 0
    assert "rates are fractions" in capsys.readouterr().err


def test_month_loop_witness_matches_hand_values():
    # The witness itself reproduces the hand-worked annuity, so it can be trusted above.
    value, _ = month_loop(0, 100, 0.12, 1, rate_kind="nominal")
    assert value == pytest.approx(100 * (1.01**12 - 1) / 0.01)
    assert math.isclose(month_loop(1000, 0, 0.12, 1)[0], 1120, rel_tol=1e-12)

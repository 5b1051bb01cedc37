"""The premium tax credit (IRC §36B) for marketplace coverage before Medicare, checked by hand
against the law's tables for 2026:

- applicable percentages, Rev. Proc. 2025-25 section 3 (the original ACA table, indexed; the
  ARPA/IRA enhancement ended with 2025): less than 133% of the poverty line 2.10%; 133% to
  150%: 3.14% to 4.19%; 150-200%: 4.19-6.60%; 200-250%: 6.60-8.44%; 250-300%: 8.44-9.96%;
  300% to not more than 400%: 9.96%; rising linearly within a band (§36B(b)(3)(A)(i));
- eligibility: household income at least 100% and not more than 400% of the poverty line
  (§36B(c)(1)(A); Form 8962 instructions, Worksheet 2: "more than 400%" enters 401, no
  credit);
- the poverty line for 2026 coverage: HHS's 2025 guidelines (90 FR 5917), 48 states and DC
  $15,650 for one person plus $5,500 for each other (two: $21,150); Alaska $19,550 +
  $6,880; Hawaii $17,990 + $6,330;
- household income: AGI plus nontaxable Social Security (§36B(d)(2)(B)), the same year;
- the credit: benchmark premium less the contribution (applicable percentage x household
  income), not below zero (§36B(b)(2)).
"""

from __future__ import annotations

from types import SimpleNamespace

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taxopt.decisions import Decisions
from taxopt.ledger import replay
from taxopt.optimize import optimize
from taxopt.plan import plan_from_dict
from taxopt.report.excel import write_plan_workbook
from taxopt.report.this_year import marketplace_position
from taxopt.rules import load_rules

RULES = load_rules("us-federal-2026")
ACA = RULES.aca
LINE_2 = 21_150.0  # two people, 48 states and DC
BENCHMARK = 24_000.0


@pytest.mark.parametrize(
    ("magi", "percentage"),
    [
        (1.00 * LINE_2, 0.0210),  # at least 100%: eligible, the lowest band
        (28_129.0, 0.0210),  # just under 133% (28,129.50)
        (1.33 * LINE_2, 0.0314),  # at 133% the next band starts (a step up)
        (1.50 * LINE_2, 0.0419),
        (1.75 * LINE_2, 0.0419 + (0.0660 - 0.0419) * 0.5),  # halfway up the 150-200% band
        (2.00 * LINE_2, 0.0660),
        (2.50 * LINE_2, 0.0844),
        (3.00 * LINE_2, 0.0996),
        (4.00 * LINE_2, 0.0996),  # not more than 400%: still eligible
    ],
)
def test_applicable_percentage_at_each_edge(magi, percentage):
    ptc = ACA.premium_tax_credit(magi, 2, BENCHMARK)
    assert ptc.applicable_percentage == pytest.approx(percentage, abs=1e-9)
    assert ptc.contribution == pytest.approx(percentage * magi)
    assert ptc.credit == pytest.approx(BENCHMARK - percentage * magi)
    assert ptc.net_premium == pytest.approx(percentage * magi)


def test_hand_worked_credits_for_a_couple():
    # 100%: 21,150 x 2.10% = 444.15, credit 24,000 - 444.15.
    assert ACA.premium_tax_credit(21_150, 2, BENCHMARK).credit == pytest.approx(23_555.85)
    # 200%: 42,300 x 6.60% = 2,791.80.
    assert ACA.premium_tax_credit(42_300, 2, BENCHMARK).net_premium == pytest.approx(2_791.80)
    # 300%: 63,450 x 9.96% = 6,319.62.
    assert ACA.premium_tax_credit(63_450, 2, BENCHMARK).net_premium == pytest.approx(6_319.62)
    # 400%: 84,600 x 9.96% = 8,426.16, credit 15,573.84; a dollar more loses all of it.
    at = ACA.premium_tax_credit(84_600, 2, BENCHMARK)
    assert at.credit == pytest.approx(15_573.84)
    above = ACA.premium_tax_credit(84_601, 2, BENCHMARK)
    assert above.applicable_percentage is None
    assert above.credit == 0.0 and above.net_premium == BENCHMARK


def test_the_worked_example_of_treas_reg_1_36b_4():
    """Treas. Reg. §1.36B-4(a)(4), the example of a full year's credit: household income
    28,747 at an applicable percentage of 5.84% (the example's figure, an older year's
    table), benchmark premium 7,200: contribution 1,679 (28,747 x .0584), credit 5,521.
    A rule table with that percentage across its band gives the same figures."""
    flat = ACA.model_copy(
        update={
            "bands": [b.model_copy(update={"initial": 0.0584, "final": 0.0584}) for b in ACA.bands]
        }
    )
    ptc = flat.premium_tax_credit(28_747, 1, 7_200)
    assert round(ptc.contribution) == 1_679
    assert round(ptc.credit) == 5_521


def test_below_the_poverty_line_there_is_no_credit():
    below = ACA.premium_tax_credit(21_149, 2, BENCHMARK)
    assert below.applicable_percentage is None and below.net_premium == BENCHMARK
    assert below.band_room == pytest.approx(1.0)  # one dollar to eligibility


def test_the_credit_ends_where_the_contribution_reaches_the_benchmark():
    # One person (15,650), benchmark 5,000: at 9.96% the contribution reaches 5,000 at
    # 50,200.80 (300% is 46,950, 400% is 62,600).
    ptc = ACA.premium_tax_credit(50_000, 1, 5_000)
    assert ptc.credit == pytest.approx(5_000 - 0.0996 * 50_000)  # 20.00
    assert ACA.premium_tax_credit(55_000, 1, 5_000).credit == 0.0
    regions = ACA.regions(1, 5_000)
    assert [r.band for r in regions] == [None, 0, 1, 2, 3, 4, 5, None, None]
    assert regions[-2].low == pytest.approx(5_000 / 0.0996)
    assert regions[-1].low == pytest.approx(62_600) and regions[-1].low_strict
    # A benchmark the contribution jumps past at 133% (2.10% of 28,129 is 590.71 below it;
    # 3.14% of 28,129.50 is 883.27 at it): the credit ends exactly there.
    jump = ACA.regions(2, 700)
    assert [(r.low, r.band) for r in jump[1:3]] == [(21_150, 0), (pytest.approx(28_129.5), None)]


def test_poverty_lines_by_household_and_area():
    assert ACA.poverty_line(1) == 15_650
    assert ACA.poverty_line(4) == 32_150
    assert ACA.poverty_line(2, "alaska") == 26_430
    assert ACA.poverty_line(2, "hawaii") == 24_320
    # Indexed with the plan's inflation in later years.
    assert RULES.for_year(2028, 0.03).aca.poverty_line(2) == pytest.approx(21_150 * 1.03**2)


def test_room_to_the_next_band_and_to_the_cliff():
    ptc = ACA.premium_tax_credit(60_000, 2, BENCHMARK)  # 283.7%: band 250-300%
    assert ptc.band_room == pytest.approx(63_450 - 60_000)
    assert ptc.cliff_room == pytest.approx(84_600 - 60_000)
    top = ACA.premium_tax_credit(70_000, 2, BENCHMARK)  # the last band ends at the cliff
    assert top.band_room == top.cliff_room == pytest.approx(14_600)
    assert ACA.premium_tax_credit(90_000, 2, BENCHMARK).cliff_room is None


@given(
    st.floats(21_150, 200_000, allow_nan=False),
    st.floats(21_150, 200_000, allow_nan=False),
    st.floats(0, 60_000, allow_nan=False),
)
def test_from_the_floor_the_net_premium_never_falls_as_income_rises(a, b, benchmark):
    low, high = sorted((a, b))
    low_ptc = ACA.premium_tax_credit(low, 2, benchmark)
    high_ptc = ACA.premium_tax_credit(high, 2, benchmark)
    assert low_ptc.net_premium <= high_ptc.net_premium + 1e-9
    assert 0.0 <= high_ptc.credit <= benchmark
    assert high_ptc.net_premium <= benchmark + 1e-9


def test_the_2025_rule_set_has_no_aca_table():
    assert load_rules("us-federal-2025").aca is None


# ---------------------------------------------------------------------------------------
# The ledger: net premiums on the same year's household income, paid from spending.


def _retiree(marketplace: bool, **over) -> dict:
    """Kim, 62 in 2026 with Social Security of 20,000 from 2026, draws an IRA."""
    data = {
        "name": "aca",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 70,
        "inflation": 0.0,
        "people": [{"name": "Kim", "birth_year": 1964}],
        "tiers": [
            {"name": "index", "expected_return": 0.05, "yield": 0.0, "yield_character": "none"}
        ],
        "profile": {"weights": {"index": 1.0}},
        "accounts": [
            {"name": "ira", "kind": "traditional_ira", "owner": "Kim", "balances": {"index": 9e5}},
        ],
        "income": [
            {
                "name": "SS",
                "kind": "social_security",
                "owner": "Kim",
                "start_year": 2026,
                "annual": 20_000,
            }
        ],
    }
    if marketplace:
        data["aca"] = {"benchmark_premium": {"Kim": 12_000}}
    data.update(over)
    return data


def test_the_ledger_measures_household_income_with_all_social_security():
    # 2026: IRA 30,000 and benefits 20,000. Provisional income 30,000 + 10,000 = 40,000;
    # taxable benefits (Pub. 915 Worksheet 1) the lesser of 17,000 and 0.85 x 6,000 +
    # 4,500 = 9,600, so AGI 39,600 and household income 39,600 + 10,400 = 50,000: 319.5% of
    # 15,650, 9.96%, contribution 4,980, credit 12,000 - 4,980 = 7,020.
    decisions = Decisions(withdrawals={("ira", y): 30_000.0 for y in range(2026, 2035)})
    on = replay(plan_from_dict(_retiree(True)), RULES, decisions).yearly.set_index("year")
    off = replay(plan_from_dict(_retiree(False)), RULES, decisions).yearly.set_index("year")
    assert on.at[2026, "agi"] == pytest.approx(39_600)
    assert on.at[2026, "aca_magi"] == pytest.approx(50_000)
    assert on.at[2026, "aca_credit"] == pytest.approx(7_020)
    assert on.at[2026, "aca_premium"] == pytest.approx(4_980)
    # Paid from spending; none from 65 (2029), when Medicare covers Kim.
    assert (off["spending"] - on["spending"]).to_numpy() == pytest.approx(
        on["aca_premium"].to_numpy()
    )
    assert on.loc[2029:, "aca_premium"].eq(0).all() and on.at[2028, "aca_premium"] > 0
    assert "aca_premium" not in off  # a plan without the table has no marketplace columns


def test_lifetime_cost_holds_the_net_premiums():
    decisions = Decisions(withdrawals={("ira", y): 30_000.0 for y in range(2026, 2035)})
    ledger = replay(plan_from_dict(_retiree(True)), RULES, decisions)
    # Three years (62-64) at 4,980 (no inflation, the same income each year).
    assert ledger.lifetime_marketplace_real == pytest.approx(3 * 4_980)
    assert ledger.lifetime_cost_real == pytest.approx(
        ledger.lifetime_tax_real + ledger.lifetime_irmaa_real + 3 * 4_980
    )


def test_coverage_starts_at_from_year_and_alaska_has_its_own_line():
    decisions = Decisions(withdrawals={("ira", y): 30_000.0 for y in range(2026, 2035)})
    later = _retiree(True, aca={"benchmark_premium": {"Kim": 12_000}, "from_year": 2027})
    yearly = replay(plan_from_dict(later), RULES, decisions).yearly.set_index("year")
    assert yearly.at[2026, "aca_premium"] == 0.0 and yearly.at[2027, "aca_premium"] > 0
    alaska = replay(plan_from_dict(_retiree(True, state="ak")), RULES, decisions).yearly
    # 50,000 / 19,550 = 255.8%: 8.44% + (9.96% - 8.44%) x 0.1151 on Alaska's line.
    share = 0.0844 + (0.0996 - 0.0844) * (50_000 / 19_550 - 2.5) / 0.5
    assert alaska.at[0, "aca_premium"] == pytest.approx(share * 50_000)


# ---------------------------------------------------------------------------------------
# The exact model: the cliff and the bands as regime binaries, reconciled with the ledger.


def _early_couple(benchmark_each: float | None, irmaa: bool | None = None) -> dict:
    """Ana and Ben, both 60 in 2026, retired, mfj: an IRA of 1.5M, a brokerage account of
    800,000 all basis, 60,000 a year to spend, heirs taxed 30% on the IRA; Medicare from
    2031 (65). Every account grows 5% with no yield, so a dollar converted gains the heirs'
    rate less the conversion's marginal rate, whenever it is converted."""
    data = {
        "name": "early retirees",
        "filing_status": "mfj",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 70,
        "inflation": 0.02,
        "people": [{"name": "Ana", "birth_year": 1966}, {"name": "Ben", "birth_year": 1966}],
        "tiers": [
            {"name": "index", "expected_return": 0.05, "yield": 0.0, "yield_character": "none"}
        ],
        "profile": {"weights": {"index": 1.0}},
        "accounts": [
            {"name": "ira", "kind": "traditional_ira", "owner": "Ana", "balances": {"index": 15e5}},
            {"name": "roth", "kind": "roth_ira", "owner": "Ana", "balances": {"index": 0}},
            {
                "name": "brokerage",
                "kind": "taxable",
                "balances": {"index": 800_000},
                "basis": {"index": 800_000},
            },
        ],
        "withdrawal": {"policy": "fixed_amount", "amount": 60_000, "basis": "net"},
        "objective": {"kind": "max_estate", "heir_tax_rate": 0.30},
        "options": {"mode": "exact"} if irmaa is None else {"mode": "exact", "irmaa": irmaa},
    }
    if benchmark_each is not None:
        data["aca"] = {"benchmark_premium": {"Ana": benchmark_each, "Ben": benchmark_each}}
    return data


ACA_YEARS = range(2026, 2031)


def _cliff(year: int) -> float:
    return 4.0 * RULES.for_year(year, 0.02).aca.poverty_line(2)


def test_the_plan_stays_under_the_cliff_when_the_credit_outweighs_the_conversion():
    """Benchmark 15,000 each (30,000 in 2026). Crossing the 400% cliff (84,600 in 2026) loses
    at least the credit at the cliff, 30,000 - 9.96% x 84,600 = 21,573.84. Converting more
    in that year gains at most the heirs' 30% less the marginal rate per dollar: the 12%
    bracket ends at 100,800 + 32,200 = 133,000 of income, so 48,400 above the cliff gain
    at most 18% x 48,400 = 8,712, and the whole 22% bracket (to 211,400 + 32,200) at most
    8% x 110,600 = 8,848: 17,560 in all, less than the credit. (The same holds each year:
    both sides grow with inflation.) So the plan holds every marketplace year's income at
    or under the cliff, where the plan blind to the credit converts through it.

    IRMAA off here (the next test has it on)."""
    blind = optimize(plan_from_dict(_early_couple(None, False)), RULES, with_baselines=False)
    seen = optimize(plan_from_dict(_early_couple(15_000, False)), RULES, with_baselines=False)
    blind_yearly = blind.ledger.yearly.set_index("year")
    yearly = seen.ledger.yearly.set_index("year")
    for year in ACA_YEARS:
        assert blind_yearly.at[year, "magi"] > _cliff(year) + 40_000
        assert yearly.at[year, "aca_magi"] <= _cliff(year) + 0.01
        assert yearly.at[year, "aca_credit"] > 0
        # Within the 300-400% band a dollar costs 9.96% in premium and 12% or 22% in tax,
        # less than the heirs' 30%: the plan converts up to the cliff itself.
        assert yearly.at[year, "aca_magi"] >= _cliff(year) - 1.0
    assert seen.reconciliation_max_abs_error < 1.0


def test_with_irmaa_on_the_plan_still_stays_under_the_cliff():
    """IRMAA on (the default) puts binaries in the model from 2031, and the MILP over the
    cliff binaries then holds 2026-2030 at the cliff only to its tolerance: a year cents
    above it, read by the ledger, lost the credit, and a search from that ledger kept the
    years above the cliff (estate 1,972,062 against 2,071,850). The MILP's own cliff sides
    now fix the regime LP that follows it."""
    seen = optimize(plan_from_dict(_early_couple(15_000)), RULES, with_baselines=False)
    off = optimize(plan_from_dict(_early_couple(15_000, False)), RULES, with_baselines=False)
    yearly = seen.ledger.yearly.set_index("year")
    assert seen.plan.options.irmaa
    for year in ACA_YEARS:
        assert yearly.at[year, "aca_magi"] <= _cliff(year) + 0.01
    # Blind to IRMAA (off), the plan's conversions cross the first tier (premiums in
    # 2033-2035); seeing it, the plan spreads the same conversions under the tier at the
    # same bracket rates and pays none, so the estate is no lower.
    assert (yearly["irmaa"] == 0).all()
    assert off.ledger.yearly["irmaa"].sum() > 0
    assert seen.figures.after_tax_estate >= off.figures.after_tax_estate - 1.0
    assert seen.reconciliation_max_abs_error < 1.0


def test_the_plan_converts_through_the_cliff_when_the_credit_is_small():
    """Benchmark 5,000 each (10,000 in 2026): at the cliff the credit is only 10,000 -
    8,426.16 = 1,573.84, less than the 8,712 that converting the 12% bracket's room above
    the cliff gains (previous test), so in some marketplace year the plan converts through
    the cliff, by more than the 1,573.84 / 18% = 8,744 that would pay for the lost credit."""
    seen = optimize(plan_from_dict(_early_couple(5_000)), RULES, with_baselines=False)
    yearly = seen.ledger.yearly.set_index("year")
    crossed = [y for y in ACA_YEARS if yearly.at[y, "aca_magi"] > _cliff(y) + 8_744]
    assert crossed
    assert all(yearly.at[y, "aca_credit"] == 0 for y in crossed)
    assert seen.reconciliation_max_abs_error < 1.0


# ---------------------------------------------------------------------------------------
# The This year sheet: the premium and the income room around the credit.


def _this_year_rows(path) -> dict[str, object]:
    """{label in column A: value in column E} of the workbook's This year sheet."""
    sheet = openpyxl.load_workbook(path, data_only=True)["This year"]
    return {
        row[0].value: row[4].value
        for row in sheet.iter_rows(max_col=5)
        if isinstance(row[0].value, str)
    }


@pytest.mark.parametrize(
    ("withdrawal", "magi", "band_room"),
    [
        # IRA 30,000 + benefits 20,000: household income 50,000 (the ledger test above),
        # 319% in the last band, so only the cliff's room: 4 x 15,650 - 50,000 = 12,600.
        (30_000, 50_000, None),
        # IRA 20,000: provisional income 30,000, taxable benefits the lesser of 10,000 and
        # 0.5 x 5,000 = 2,500; household income 20,000 + 20,000 = 40,000, 256% (band
        # 250-300%): 46,950 - 40,000 = 6,950 to the next band.
        (20_000, 40_000, 6_950),
    ],
)
def test_the_this_year_sheet_shows_the_room_to_the_band_and_the_cliff(withdrawal, magi, band_room):
    plan = plan_from_dict(_retiree(True))
    decisions = Decisions(withdrawals={("ira", y): float(withdrawal) for y in plan.years})
    result = SimpleNamespace(plan=plan, rules=RULES, yearly=replay(plan, RULES, decisions).yearly)
    position = marketplace_position(result)
    values = {label: value for label, value, _kind in position.lines}
    assert values["Income (MAGI) left below the credit's cliff ($)"] == pytest.approx(62_600 - magi)
    assert values.get("Income (MAGI) left before the credit's next band ($)") == (
        None if band_room is None else pytest.approx(band_room)
    )
    assert "5,765 this year at the cliff" in position.notes[1]  # 12,000 - 9.96% x 62,600


def test_the_workbook_this_year_sheet_has_the_marketplace_lines(tmp_path):
    result = optimize(plan_from_dict(_retiree(True)), RULES, with_baselines=False)
    path = write_plan_workbook(result, tmp_path / "plan.xlsx")
    rows = _this_year_rows(path)
    magi = result.yearly.at[0, "aca_magi"]
    assert rows["Marketplace premium after the premium tax credit ($)"] == pytest.approx(
        result.yearly.at[0, "aca_premium"], abs=0.01
    )
    if magi <= 62_600:
        assert rows["Income (MAGI) left below the credit's cliff ($)"] == pytest.approx(
            62_600 - magi, abs=0.01
        )
    else:
        assert rows["Income (MAGI) above the credit's cliff ($)"] == pytest.approx(
            magi - 62_600, abs=0.01
        )
    # The Inputs sheet lists the coverage: Kim (born 1964) through 2028, the year before 65.
    inputs = openpyxl.load_workbook(path, data_only=True)["Inputs"]
    cells = [[c.value for c in row] for row in inputs.iter_rows()]
    kim = next(row for row in cells if row[0] == "Kim" and 12_000 in row)
    assert 2026 in kim and 2028 in kim


def test_fast_mode_says_it_leaves_the_premiums_out():
    result = optimize(
        plan_from_dict(_retiree(True, options={"mode": "fast"})), RULES, with_baselines=False
    )
    premiums = f"${result.ledger.lifetime_marketplace_real:,.0f} of premiums net of the credit"
    assert any(
        "fast mode does not see the marketplace premiums" in note and premiums in note
        for note in result.notes
    )
    assert result.ledger.yearly["aca_premium"].sum() > 0  # the ledger still charges them


def test_the_model_agrees_with_the_ledger_as_people_reach_medicare_and_draw_benefits():
    """Ana (63) reaches Medicare in 2028, Ben (60) in 2031: the benchmark falls from two
    people's to one's; Ana's Social Security (from 2026) is household income in full, only
    part of it AGI. The exact model's premiums are the ledger's within $1 a year."""
    data = _early_couple(9_000)
    data["people"][0]["birth_year"] = 1963
    data["income"] = [
        {
            "name": "SS",
            "kind": "social_security",
            "owner": "Ana",
            "start_year": 2026,
            "annual": 24_000,
        }
    ]
    result = optimize(plan_from_dict(data), RULES, with_baselines=False)
    yearly = result.ledger.yearly.set_index("year")
    assert yearly.at[2027, "aca_benchmark"] == pytest.approx(2 * 9_000 * 1.02)
    assert yearly.at[2028, "aca_benchmark"] == pytest.approx(9_000 * 1.02**2)
    assert yearly.at[2031, "aca_benchmark"] == 0.0
    assert (yearly.loc[2026:2030, "aca_magi"] > yearly.loc[2026:2030, "agi"]).all()
    assert result.reconciliation_max_abs_error < 1.0

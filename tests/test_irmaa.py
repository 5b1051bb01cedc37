"""Medicare IRMAA (Parts B and D income-related premium adjustments), checked by hand
against CMS's 2026 fact sheet '2026 Medicare Parts A & B Premiums and Deductibles'
(Part B and Part D income-related monthly adjustment tables; MAGI of the 2024 return).
Per person per month, Part B + Part D by tier: 81.20 + 14.50, 202.90 + 37.50,
324.60 + 60.40, 446.30 + 83.30, 487.00 + 91.00."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taxopt.decisions import Decisions
from taxopt.ledger import replay
from taxopt.optimize import optimize
from taxopt.plan import plan_from_dict
from taxopt.report.headroom import headroom, with_irmaa_room
from taxopt.rules import load_rules
from taxopt.tax import TaxInput
from taxopt.validation import plan_warnings

RULES = load_rules("us-federal-2026")
MEDICARE = RULES.medicare
# Hand-worked: 12 months x (Part B + Part D adjustment), per person.
PER_PERSON_YEAR = [0.0, 12 * 95.70, 12 * 240.40, 12 * 385.00, 12 * 529.60, 12 * 578.00]


@pytest.mark.parametrize(
    ("status", "magi", "tier"),
    [
        # Single: "less than or equal to $109,000" pays none; "greater than $109,000 and
        # less than or equal to $137,000" tier 1; ... "greater than or equal to $500,000" top.
        ("single", 109_000, 0),
        ("single", 109_000.01, 1),
        ("single", 137_000, 1),
        ("single", 137_000.01, 2),
        ("single", 171_000, 2),
        ("single", 171_001, 3),
        ("single", 205_000, 3),
        ("single", 205_001, 4),
        ("single", 499_999, 4),
        ("single", 500_000, 5),
        # Joint returns: the floors are 218,000 / 274,000 / 342,000 / 410,000 / 750,000.
        ("mfj", 218_000, 0),
        ("mfj", 218_001, 1),
        ("mfj", 274_001, 2),
        ("mfj", 342_001, 3),
        ("mfj", 410_000, 3),
        ("mfj", 410_001, 4),
        ("mfj", 749_999, 4),
        ("mfj", 750_000, 5),
    ],
)
def test_each_tier_edge_from_the_cms_table(status, magi, tier):
    result = MEDICARE.irmaa(magi, status, 1)
    assert result.tier == tier
    assert result.annual_surcharge == pytest.approx(PER_PERSON_YEAR[tier], abs=0.005)


def test_part_d_adjustments_follow_from_the_statute_and_the_base_premium():
    """42 USC 1395w-113(a)(7)(B): the Part D adjustment is the base beneficiary premium
    times (the Part B applicable percentage - 25.5%) / 25.5%, the applicable percentages
    being 35, 50, 65, 80 and 85% (42 USC 1395r(i)(3)(C)); CMS rounds to the nearest 10
    cents. 2026 base beneficiary premium: $38.99 (CMS, '2026 Medicare Part D Bid
    Information', July 28, 2025). 38.99 x 9.5 / 25.5 = 14.53 -> 14.50, and so on."""
    derived = [round(38.99 * (p - 25.5) / 25.5, 1) for p in (35, 50, 65, 80, 85)]
    assert derived == pytest.approx([14.5, 37.5, 60.4, 83.3, 91.0])
    assert MEDICARE.part_d_monthly == pytest.approx(derived)


def test_a_couple_pays_per_person_on_medicare():
    # Joint MAGI 300,000 is tier 2: 12 x 240.40 = 2,884.80 each.
    assert MEDICARE.irmaa(300_000, "mfj", 2).annual_surcharge == pytest.approx(5_769.60)
    assert MEDICARE.irmaa(300_000, "mfj", 1).annual_surcharge == pytest.approx(2_884.80)
    assert MEDICARE.irmaa(300_000, "mfj", 0).annual_surcharge == 0.0
    # The same MAGI on a single return is tier 4 (above 205,000): 12 x 529.60.
    assert MEDICARE.irmaa(300_000, "single", 1).annual_surcharge == pytest.approx(6_355.20)


def test_medicare_starts_at_65():
    assert MEDICARE.on_medicare((64, 66)) == 1
    assert MEDICARE.on_medicare((65, 65)) == 2
    assert MEDICARE.on_medicare((64,)) == 0


def test_room_to_the_next_tier():
    assert MEDICARE.irmaa(100_000, "single", 1).room == pytest.approx(9_000)  # stays at 109,000
    assert MEDICARE.irmaa(120_000, "single", 1).room == pytest.approx(17_000)
    # The top floor is reached at it, so the room stops a cent short.
    assert MEDICARE.irmaa(499_000, "single", 1).room == pytest.approx(999.99)
    assert MEDICARE.irmaa(600_000, "single", 1).room is None


def test_arrays_agree_with_scalars():
    magi = np.array([0.0, 109_000, 109_001, 300_000, 500_000, 900_000])
    for status in ("single", "mfj"):
        batch = MEDICARE.irmaa(magi, status, 2)
        for i, m in enumerate(magi):
            one = MEDICARE.irmaa(float(m), status, 2)
            assert batch.tier[i] == one.tier
            assert batch.annual_surcharge[i] == pytest.approx(one.annual_surcharge)
            if one.room is None:
                assert np.isnan(batch.room[i])
            else:
                assert batch.room[i] == pytest.approx(one.room)


def test_indexing_grows_the_lower_floors_not_the_top():
    # 42 USC §1395r(i)(5): CPI-U indexing of the lower floors; the top floor is fixed
    # until 2028. At 10% over a year, 109,000 grows by 10,900, rounded down to 10,000.
    later = RULES.for_year(2027, 0.10).medicare
    assert later.tiers["single"].thresholds == [119_000, 150_000, 188_000, 225_000, 500_000]
    assert later.tiers["mfj"].thresholds[-1] == 750_000
    assert later.part_b_monthly[0] == pytest.approx(81.20 * 1.1)


def test_the_2025_rule_set_has_no_medicare_table():
    assert load_rules("us-federal-2025").medicare is None


@given(
    st.floats(0, 2_000_000, allow_nan=False),
    st.floats(0, 2_000_000, allow_nan=False),
    st.sampled_from(["single", "mfj"]),
    st.integers(0, 2),
)
def test_surcharge_never_falls_as_magi_rises(a, b, status, people):
    low, high = sorted((a, b))
    assert (
        MEDICARE.irmaa(low, status, people).annual_surcharge
        <= MEDICARE.irmaa(high, status, people).annual_surcharge
    )


# ---------------------------------------------------------------------------------------
# The ledger: premiums of a year from the MAGI two years before, per person on Medicare.


def _household(irmaa: bool, born=(1962,), ira=2_000_000.0, **over):
    """A household with one index tier and Kim's IRA (plus what `over` adds or replaces)."""
    names = ["Kim", "Sam"][: len(born)]
    data = {
        "name": "irmaa",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 70,
        "inflation": 0.02,
        "people": [{"name": n, "birth_year": b} for n, b in zip(names, born, strict=True)],
        "tiers": [
            {"name": "index", "expected_return": 0.05, "yield": 0.0, "yield_character": "none"}
        ],
        "profile": {"weights": {"index": 1.0}},
        "accounts": [
            {"name": "ira", "kind": "traditional_ira", "owner": "Kim", "balances": {"index": ira}},
            {"name": "roth", "kind": "roth_ira", "owner": "Kim", "balances": {"index": 10_000}},
        ],
        "objective": {"kind": "max_spending", "bequest_floor": 0},
        "options": {"irmaa": irmaa, "mode": "exact"},
    }
    data.update(over)
    data["accounts"] = data["accounts"] + data.pop("more_accounts", [])
    return plan_from_dict(data)


def _social_security(start_year: int, annual: float) -> list[dict]:
    return [
        {
            "name": "SS",
            "kind": "social_security",
            "owner": "Kim",
            "start_year": start_year,
            "annual": annual,
        }
    ]


def _withdrawing_plan(irmaa: bool, status: str = "single", born: tuple[int, ...] = (1962,)):
    """Kim turns 65 in 2027; an IRA's withdrawals are the only income, so MAGI = them. The
    2025 return's MAGI (before the plan) is given: 150,000."""
    return _household(irmaa, born, filing_status=status, prior_magi={2025: 150_000})


WITHDRAWALS = {2026: 150_000, 2027: 50_000, 2028: 250_000, 2029: 50_000, 2030: 50_000}


def _replay(plan):
    decisions = Decisions(withdrawals={("ira", y): v for y, v in WITHDRAWALS.items()})
    return replay(plan, RULES, decisions).yearly.set_index("year")


def test_the_ledger_charges_premiums_from_magi_two_years_before():
    yearly = _replay(_withdrawing_plan(irmaa=True))
    assert yearly.loc[2026, "irmaa"] == 0.0  # 64: not on Medicare
    # 2027: the lookback year 2025 is before the plan: prior_magi gives 150,000. On
    # 2027's tiers (floors indexed 2%, increases rounded down to $1,000: 139,000 and
    # 174,000) that is tier 2: 12 x (202.90 + 37.50) x 1.02.
    assert yearly.loc[2027, "irmaa_magi_year"] == 2025
    assert yearly.loc[2027, "irmaa"] == pytest.approx(12 * 240.40 * 1.02)
    assert yearly.loc[2028, "irmaa"] == pytest.approx(12 * 240.40 * 1.02**2)  # 2026's MAGI
    assert yearly.loc[2029, "irmaa"] == 0.0  # 2027's MAGI: 50,000
    # 2028's 250,000 exceeds the fourth floor (205,000 + 16,000 in 2030) and not the fixed
    # 500,000: tier 4, 12 x (446.30 + 83.30) x 1.02^4.
    assert yearly.loc[2030, "irmaa_tier"] == 4
    assert yearly.loc[2030, "irmaa"] == pytest.approx(12 * 529.60 * 1.02**4)


def test_premiums_set_before_the_plan_need_those_returns():
    """2027's premium is set by the 2025 return: without prior_magi it is left out and a
    note says so; the model treats a given one as a constant (it is history)."""
    plan = _household(True, (1962,), filing_status="single")
    yearly = _replay(plan)
    assert yearly.loc[2027, "irmaa"] == 0.0 and yearly.loc[2027, "irmaa_magi_year"] == 2025
    assert yearly.loc[2028, "irmaa"] > 0  # 2026's own MAGI (150,000) sets it
    (note,) = [n for n in plan_warnings(plan, RULES) if "prior_magi" in n]
    assert "premiums of 2027" in note and "2025 return" in note
    given = optimize(_withdrawing_plan(True), RULES, with_baselines=False)
    assert given.ledger.yearly.set_index("year").loc[2027, "irmaa"] == pytest.approx(
        12 * 240.40 * 1.02
    )
    assert given.reconciliation_max_abs_error < 1.0
    assert not [n for n in given.notes if "prior_magi" in n]


def test_premiums_are_paid_from_spending_only_with_the_option():
    on, off = _replay(_withdrawing_plan(irmaa=True)), _replay(_withdrawing_plan(irmaa=False))
    assert (on["irmaa"] == off["irmaa"]).all()  # reported either way
    assert on["spending"].to_numpy() == pytest.approx(
        (off["spending"] - off["irmaa"]).to_numpy(), abs=0.005
    )
    assert on.loc[2027, "spending"] < off.loc[2027, "spending"]


def test_a_couple_pays_for_each_spouse_on_medicare():
    # Sam (born 1960) is on Medicare from the start; Kim from 2027. Joint MAGI 250,000 in
    # 2028 sets 2030's premiums: above the first joint floor (218,000 + 17,000 in 2030) and
    # below the second (274,000 + 22,000): tier 1, 12 x (81.20 + 14.50) x 1.02^4 each.
    yearly = _replay(_withdrawing_plan(irmaa=True, status="mfj", born=(1962, 1960)))
    assert yearly.loc[2026, "irmaa"] == 0.0  # MAGI 150,000: under the joint floor
    assert yearly.loc[2030, "irmaa_tier"] == 1
    assert yearly.loc[2030, "irmaa"] == pytest.approx(2 * 12 * 95.70 * 1.02**4)


# ---------------------------------------------------------------------------------------
# The action list: room below the next tier, on the premium year's tiers.


def test_headroom_names_the_room_below_the_next_irmaa_tier():
    income = TaxInput(filing_status="mfj", ages=(66, 64), ordinary_income=200_000, year=2026)
    now = RULES.for_year(2026, 0.0)
    room = with_irmaa_room(headroom(now, income), now, income)
    # MAGI 200,000 on the 2026 joint table: no surcharge, 18,000 below 218,000.
    assert room.irmaa_tier == 0
    assert room.irmaa_room == pytest.approx(18_000)
    # On 2028's tiers at 3% a year the first floor is 218,000 + 13,000 (6.09% rounded down).
    later = with_irmaa_room(headroom(now, income), RULES.for_year(2028, 0.03), income)
    assert later.irmaa_room == pytest.approx(31_000)
    # Without a [medicare] table the room is not given.
    plain = load_rules("us-federal-2025")
    assert with_irmaa_room(headroom(plain, income), plain, income).irmaa_room is None


# ---------------------------------------------------------------------------------------
# The exact model with options.irmaa: premiums as regime binaries, reconciled with the ledger.


def _rich_retiree(irmaa: bool):
    """Kim (68) holds a large IRA whose RMDs and spending can cross the IRMAA tiers."""
    return _household(
        irmaa, (1958,), 2_500_000, horizon_age=76, income=_social_security(2026, 30_000)
    )


def test_the_exact_model_pays_irmaa_and_agrees_with_the_ledger():
    seen = optimize(_rich_retiree(True), RULES, with_baselines=False)
    assert seen.reconciliation_max_abs_error < 1.0  # within $1 a year
    yearly = seen.ledger.yearly
    assert yearly["irmaa"].sum() > 0  # the plan does pay premiums (RMDs cross the tiers)
    # Each premium year's tier is the one its MAGI year sets (the model's binaries are
    # the ledger's regime), and spending nets the premiums.
    by_year = yearly.set_index("year")
    for year, row in by_year.iterrows():
        if row["irmaa"] > 0:
            magi = by_year.at[row["irmaa_magi_year"], "magi"]
            medicare = RULES.for_year(year, 0.02).medicare
            assert medicare.irmaa(magi, "single", 1).annual_surcharge == pytest.approx(row["irmaa"])


# A taxable account whose basis equals its value: selling it realizes no gain.
CASH_AT_BASIS = {
    "name": "cash",
    "kind": "taxable",
    "balances": {"index": 400_000},
    "basis": {"index": 400_000},
}


def _converter(irmaa: bool):
    """Kim (65) converts to Roth before Social Security starts at 70 (heirs pay 35%)."""
    return _household(
        irmaa,
        (1961,),
        1_200_000,
        horizon_age=90,
        income=_social_security(2031, 30_000),
        more_accounts=[CASH_AT_BASIS],
        withdrawal={"policy": "fixed_real", "rate": 0.03, "basis": "net"},
        objective={"kind": "max_estate", "heir_tax_rate": 0.35},
    )


def test_conversions_stop_at_the_irmaa_floor_when_the_model_sees_it():
    # Blind to IRMAA the plan converts 2029-2030 into MAGI above the first single floor
    # of the premiums they set (2031, 2032). Those floors, indexed 2% a year with each
    # increase rounded down to $1,000 (the [medicare] table): 109,000 + 11,000 = 120,000
    # (1.02^5) and 109,000 + 13,000 = 122,000 (1.02^6).
    blind = optimize(_converter(False), RULES, with_baselines=False).ledger.yearly
    seen = optimize(_converter(True), RULES, with_baselines=False)
    blind, yearly = blind.set_index("year"), seen.ledger.yearly.set_index("year")
    assert blind.at[2029, "magi"] > 120_000 and blind.at[2030, "magi"] > 122_000
    assert blind["irmaa"].sum() > 0
    assert yearly.at[2029, "magi"] == pytest.approx(120_000, abs=1.0)
    assert yearly.at[2030, "magi"] == pytest.approx(122_000, abs=1.0)
    assert yearly["irmaa"].sum() == 0.0
    assert seen.reconciliation_max_abs_error < 1.0


# ---------------------------------------------------------------------------------------
# Worked by hand: conversions stop at a tier's floor exactly when its premium outweighs
# what the conversions above the floor gain.


def _one_conversion_world(irmaa: bool, heir_tax_rate: float):
    """Kim (63 in 2026, on Medicare from 2028) with a $2M IRA, nothing grows and prices do
    not rise, so a dollar converted gains (heir rate - marginal rate) and nothing else."""
    return _household(
        irmaa,
        (1963,),
        2_000_000,
        horizon_age=66,
        inflation=0.0,
        tiers=[{"name": "index", "expected_return": 0.0, "yield": 0.0, "yield_character": "none"}],
        more_accounts=[CASH_AT_BASIS],
        withdrawal={"policy": "fixed_amount", "amount": 20_000, "basis": "net"},
        objective={"kind": "max_estate", "heir_tax_rate": heir_tax_rate},
    )


@pytest.mark.parametrize(
    ("heir_tax_rate", "blind_magi", "seen_magi", "premium"),
    [
        # Heirs at 23%: a dollar converted in the 22% bracket gains 1 cent, in the 24%
        # bracket it loses. Blind, Kim converts to the top of the 22% bracket. Above the
        # first floor that gains 0.01 x 12,800 = $128, and tier 1 costs 12 x (81.20 +
        # 14.50) = $1,148.40 two years later: she stops at 109,000.
        (0.23, 121_800, 109_000, 0.0),
        # Heirs at 30%: 8 cents a dollar in the 22% bracket, 6 in the 24%. Each floor
        # against what the conversions up to the next floor gain:
        #   109,000: 0.08 x 12,800 + 0.06 x 15,200 = 1,936 > 1,148.40 (tier 1): cross
        #   137,000: 0.06 x 34,000 = 2,040 > 12 x (240.40 - 95.70) = 1,736.40: cross
        #   171,000: 0.06 x 34,000 = 2,040 > 12 x (385.00 - 240.40) = 1,735.20: cross
        #   205,000: 0.06 x (217,875 - 205,000) = 772.50 < 12 x (529.60 - 385.00) =
        #            1,735.20: stop. Tier 3 costs 12 x 385.00 = 4,620 a year.
        (0.30, 217_875, 205_000, 4_620.0),
    ],
)
def test_conversions_stop_at_a_tier_when_its_premium_outweighs_the_gain(
    heir_tax_rate, blind_magi, seen_magi, premium
):
    """2026 single brackets and standard deduction (Rev. Proc. 2025-32 as amended by
    P.L. 119-21): 22% to taxable income 105,700 and 24% to 201,775 above a 16,100
    deduction, so MAGI (= conversions) of 121,800 and 217,875 end those brackets. The
    floors are the CMS 2026 table's (not indexed: inflation is zero). 2026's and 2027's
    MAGI set the premiums of 2028 and 2029, both inside the plan; the plan's last two
    years set premiums after it, so only the first two years are asserted."""
    blind = optimize(_one_conversion_world(False, heir_tax_rate), RULES, with_baselines=False)
    seen = optimize(_one_conversion_world(True, heir_tax_rate), RULES, with_baselines=False)
    blind_years = blind.ledger.yearly.set_index("year")
    seen_years = seen.ledger.yearly.set_index("year")
    for year in (2026, 2027):
        assert blind_years.at[year, "magi"] == pytest.approx(blind_magi, abs=1.0)
        assert seen_years.at[year, "magi"] == pytest.approx(seen_magi, abs=1.0)
        assert seen_years.at[year + 2, "irmaa"] == pytest.approx(premium)
    assert seen.reconciliation_max_abs_error < 1.0


def test_fast_mode_says_what_premiums_its_model_did_not_see():
    plan = _rich_retiree(True)
    fast = optimize(
        plan.model_copy(update={"options": plan.options.model_copy(update={"mode": "fast"})}),
        RULES,
        with_baselines=False,
    )
    premiums = fast.ledger.lifetime_irmaa_real
    assert premiums > 0
    (note,) = [n for n in fast.notes if "fast mode does not see" in n]
    assert f"${premiums:,.0f}" in note
    exact = optimize(plan, RULES, with_baselines=False)
    assert not [n for n in exact.notes if "fast mode does not see" in n]

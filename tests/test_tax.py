"""Hand-worked checks of the tax calculator against the published US tables.

Sources (each test names the one it uses):
- 2025 brackets, §63(f) add-on and preferential breakpoints: IRS Rev. Proc. 2024-40
  (Table 1 mfj, Table 3 single); 2025 standard deduction 15,750 / 31,500 as amended by
  P.L. 119-21 §70102.
- 2026: IRS Rev. Proc. 2025-32 (brackets, standard deduction 16,100 / 32,200, add-on
  2,050 / 1,650, breakpoints 49,450 / 98,900 and 545,500 / 613,700).
- Social Security: IRC §86 (Pub. 915 Worksheet 1). NIIT: IRC §1411.
- Senior deduction: P.L. 119-21 §70103 (IRC §151(d)(5)(C)).

Expected figures use the Tax Rate Schedules (exact formula), not the $50-step Tax Table.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from taxopt.rules import RuleSet, load_rules
from taxopt.tax import (
    TaxInput,
    compute_tax,
    compute_tax_arrays,
    deduction_amount,
    included_gains,
    marginal_rates,
    schedule_tax,
    taxable_benefits,
)

CASES = Path(__file__).parent / "data" / "tax_cases.csv"
CENT = 0.005


@pytest.fixture(scope="module")
def r25() -> RuleSet:
    return load_rules("us-federal-2025")


@pytest.fixture(scope="module")
def r26() -> RuleSet:
    return load_rules("us-federal-2026")


def single(age: int = 40, **amounts: float) -> TaxInput:
    return TaxInput(filing_status="single", ages=(age,), **amounts)


def joint(age: int = 40, spouse_age: int = 40, **amounts: float) -> TaxInput:
    return TaxInput(filing_status="mfj", ages=(age, spouse_age), **amounts)


def deduction(rules: RuleSet, name: str):
    return next(d for d in rules.deductions if d.name == name)


# --- ordinary brackets: exactly at a threshold and $1 over -----------------------------


@pytest.mark.parametrize(
    ("status", "taxable", "expected"),
    [
        # Rev. Proc. 2024-40 Table 3 (single): 10% x 11,925 = 1,192.50
        ("single", 11_925, 1_192.50),
        # 1,192.50 + 12% x 1 = 1,192.62
        ("single", 11_926, 1_192.62),
        # 1,192.50 + 12% x (48,475 - 11,925) = 1,192.50 + 4,386 = 5,578.50
        ("single", 48_475, 5_578.50),
        # 5,578.50 + 22% x 1 = 5,578.72
        ("single", 48_476, 5_578.72),
        # 57,231 + 35% x (626,350 - 250,525) = 57,231 + 131,538.75 = 188,769.75
        ("single", 626_350, 188_769.75),
        # 188,769.75 + 37% x 1 = 188,770.12
        ("single", 626_351, 188_770.12),
        # Table 1 (mfj): 2,385 + 12% x (96,950 - 23,850) = 2,385 + 8,772 = 11,157
        ("mfj", 96_950, 11_157.00),
        # 11,157 + 22% x 1 = 11,157.22
        ("mfj", 96_951, 11_157.22),
        # 114,462 + 35% x (751,600 - 501,050) = 114,462 + 87,692.50 = 202,154.50
        ("mfj", 751_600, 202_154.50),
        ("mfj", 751_601, 202_154.87),
    ],
)
def test_2025_bracket_edges(r25: RuleSet, status: str, taxable: float, expected: float) -> None:
    assert schedule_tax(r25.ordinary.brackets[status], taxable) == pytest.approx(expected, abs=CENT)


@pytest.mark.parametrize(
    ("status", "taxable", "expected"),
    [
        # Rev. Proc. 2025-32 Table 3 (single): 1,240 + 12% x (50,400 - 12,400) = 5,800
        ("single", 50_400, 5_800.00),
        ("single", 50_401, 5_800.22),
        # 41,024 + 32% x (256,225 - 201,775) = 41,024 + 17,424 = 58,448
        ("single", 256_225, 58_448.00),
        ("single", 256_226, 58_448.35),
        # Table 1 (mfj): 11,600 + 22% x (211,400 - 100,800) = 11,600 + 24,332 = 35,932
        ("mfj", 211_400, 35_932.00),
        ("mfj", 211_401, 35_932.24),
        # 116,896 + 35% x (768,700 - 512,450) = 116,896 + 89,687.50 = 206,583.50
        ("mfj", 768_700, 206_583.50),
        ("mfj", 768_701, 206_583.87),
    ],
)
def test_2026_bracket_edges(r26: RuleSet, status: str, taxable: float, expected: float) -> None:
    assert schedule_tax(r26.ordinary.brackets[status], taxable) == pytest.approx(expected, abs=CENT)


def test_threshold_through_compute_tax(r25: RuleSet) -> None:
    # Rev. Proc. 2024-40 Table 3; std deduction 15,750 (P.L. 119-21 §70102).
    # 27,675 - 15,750 = 11,925 -> 1,192.50; one more dollar of wages -> 1,192.62.
    at = compute_tax(r25, single(ordinary_income=27_675))
    over = compute_tax(r25, single(ordinary_income=27_676))
    assert at.taxable_income == 11_925
    assert at.total_tax == pytest.approx(1_192.50, abs=CENT)
    assert over.total_tax == pytest.approx(1_192.62, abs=CENT)
    assert at.bracket_fill[:2] == [11_925, 0]


# --- qualified dividends and long-term gains: the 0% / 15% edge ------------------------


def test_gains_all_in_zero_band_when_ordinary_is_low(r25: RuleSet) -> None:
    # Rev. Proc. 2024-40: mfj 0% to 96,700. AGI 120,000 - 31,500 = 88,500 taxable;
    # ordinary part 28,500: 2,385 + 12% x 4,650 = 2,943; gains 28,500..88,500: 0%.
    household = joint(ordinary_income=60_000, qualified_dividends=10_000, ltcg=50_000)
    result = compute_tax(r25, household)
    assert result.taxable_income == 88_500
    assert result.ordinary_tax == pytest.approx(2_943, abs=CENT)
    assert result.capital_gains_tax == 0
    assert result.total_tax == pytest.approx(2_943, abs=CENT)


def test_gains_exactly_at_zero_band_top_and_one_over(r25: RuleSet) -> None:
    # Rev. Proc. 2024-40: single 0% to 48,350. 30,000 + 34,100 - 15,750 = 48,350:
    # every gain dollar at 0%. One more dollar of gain lands at 15%: 0.15.
    at = compute_tax(r25, single(ordinary_income=30_000, ltcg=34_100))
    over = compute_tax(r25, single(ordinary_income=30_000, ltcg=34_101))
    assert at.taxable_income == 48_350
    assert at.capital_gains_tax == 0
    # ordinary part 14,250: 1,192.50 + 12% x 2,325 = 1,471.50
    assert at.total_tax == pytest.approx(1_471.50, abs=CENT)
    assert over.capital_gains_tax == pytest.approx(0.15, abs=CENT)


def test_gains_straddling_the_zero_band(r25: RuleSet) -> None:
    # Form 1040 QD&CG worksheet, Rev. Proc. 2024-40 single. Taxable 70,000 - 15,750 =
    # 54,250; ordinary part 24,250: 1,192.50 + 12% x 12,325 = 2,671.50.
    # Gains 24,250..54,250: 48,350 - 24,250 = 24,100 at 0%; 5,900 x 15% = 885.
    result = compute_tax(r25, single(ordinary_income=40_000, ltcg=30_000))
    assert result.ordinary_tax == pytest.approx(2_671.50, abs=CENT)
    assert result.capital_gains_tax == pytest.approx(885, abs=CENT)
    assert result.total_tax == pytest.approx(3_556.50, abs=CENT)


def test_gains_when_ordinary_income_alone_is_above_the_zero_band(r25: RuleSet) -> None:
    # Rev. Proc. 2024-40 single: ordinary part 80,000 - 15,750 = 64,250 > 48,350, so
    # 15% x 5,000 = 750; ordinary 5,578.50 + 22% x 15,775 = 9,049; total 9,799.
    result = compute_tax(r25, single(ordinary_income=80_000, qualified_dividends=5_000))
    assert result.capital_gains_tax == pytest.approx(750, abs=CENT)
    assert result.total_tax == pytest.approx(9_799, abs=CENT)


def test_preferential_tax_never_exceeds_all_ordinary_tax(r26: RuleSet) -> None:
    # IRC §1(h)(1) ("shall not exceed"); QD&CG worksheet takes the smaller of the two.
    # Rev. Proc. 2025-32 single: 0% to 49,450, but 12% runs to 50,400.
    # Taxable 66,500 - 16,100 = 50,400, of which 950 dividends; ordinary part 49,450:
    # 1,240 + 12% x 37,050 = 5,686. Stacked: 5,686 + 15% x 950 = 5,828.50.
    # All ordinary: 1,240 + 12% x 38,000 = 5,800, smaller -> gains tax 114.
    result = compute_tax(r26, single(ordinary_income=65_550, qualified_dividends=950))
    assert result.ordinary_tax == pytest.approx(5_686, abs=CENT)
    assert result.capital_gains_tax == pytest.approx(114, abs=CENT)
    assert result.total_tax == pytest.approx(5_800, abs=CENT)


def test_the_cap_on_preferential_tax_is_rule_data(r26: RuleSet) -> None:
    # The same case as above under a rule set without [preferential_cap]: the stacked tax
    # stands (15% x 950 = 142.50), and the UK files, which have no such cap, carry none.
    uncapped = r26.model_copy(update={"preferential_cap": None})
    result = compute_tax(uncapped, single(ordinary_income=65_550, qualified_dividends=950))
    assert result.capital_gains_tax == pytest.approx(142.50, abs=CENT)
    assert result.total_tax == pytest.approx(5_828.50, abs=CENT)
    assert r26.preferential_cap is not None
    for name in ("uk-2025-26", "uk-2026-27", "uk-scotland-2025-26"):
        assert load_rules(name).preferential_cap is None


def test_deductions_exceeding_ordinary_income_reduce_gains(r25: RuleSet) -> None:
    # IRC §1(h): preferential income is at most taxable income. Single 40: 5,000 wages,
    # 60,000 gains; taxable 65,000 - 15,750 = 49,250, all of it gains (ordinary part 0):
    # 0% to 48,350, then 900 x 15% = 135.
    result = compute_tax(r25, single(ordinary_income=5_000, ltcg=60_000))
    assert result.ordinary_taxable_income == 0
    assert result.preferential_taxable_income == 49_250
    assert result.capital_gains_tax == pytest.approx(135, abs=CENT)


# --- Social Security (IRC §86) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "benefits", "other", "expected"),
    [
        # single base1 25,000: 15,000 + 20,000 / 2 = 25,000 -> none taxable
        ("single", 20_000, 15_000, 0.0),
        # one dollar over base1: 50% x 1 = 0.50
        ("single", 20_000, 15_001, 0.50),
        # at base2 34,000: min(50% x 20,000, 50% x 9,000) = 4,500
        ("single", 20_000, 24_000, 4_500.0),
        # one dollar over base2: 85% x 1 + 4,500 = 4,500.85
        ("single", 20_000, 24_001, 4_500.85),
        # small benefit: PI 33,000 <= base2; min(50% x 6,000, 50% x 8,000) = 3,000
        ("single", 6_000, 30_000, 3_000.0),
        # 85% cap: PI 75,000; 85% x 41,000 + 4,500 = 39,350 > 85% x 30,000 = 25,500
        ("single", 30_000, 60_000, 25_500.0),
        # joint base1 32,000: 12,000 + 20,000 = 32,000 -> none
        ("mfj", 40_000, 12_000, 0.0),
        # joint base2 44,000: min(20,000, 50% x 12,000) = 6,000
        ("mfj", 40_000, 24_000, 6_000.0),
        # joint, PI 45,000: 85% x 1,000 + 6,000 = 6,850
        ("mfj", 30_000, 30_000, 6_850.0),
        # joint 85% cap: 85% x 32,000 = 27,200 (the CLI example household)
        ("mfj", 32_000, 109_000, 27_200.0),
    ],
)
def test_taxable_social_security(
    r25: RuleSet, status: str, benefits: float, other: float, expected: float
) -> None:
    assert taxable_benefits(r25, status, benefits, other) == pytest.approx(expected, abs=CENT)


def test_social_security_in_the_full_calculation(r25: RuleSet) -> None:
    # IRC §86: provisional 30,000 + 12,000 = 42,000; 85% x 8,000 + 4,500 = 11,300.
    # AGI 41,300 - (15,750 + 2,000 + 6,000) = 17,550; 1,192.50 + 12% x 5,625 = 1,867.50.
    household = single(age=70, ordinary_income=30_000, social_security=24_000)
    result = compute_tax(r25, household)
    assert result.taxable_social_security == pytest.approx(11_300, abs=CENT)
    assert result.agi == pytest.approx(41_300, abs=CENT)
    assert result.total_tax == pytest.approx(1_867.50, abs=CENT)
    # In the 85% band one more ordinary dollar adds 1.85 of income at 12%: 22.2%.
    assert marginal_rates(r25, household)["ordinary_income"] == pytest.approx(0.222)


# --- NIIT (IRC §1411) -------------------------------------------------------------------


def test_niit_when_magi_excess_is_the_lesser(r25: RuleSet) -> None:
    # MAGI 210,000 - 200,000 = 10,000 < NII 20,000: 3.8% x 10,000 = 380.
    # Taxable 194,250, ordinary part 174,250: 17,651 + 24% x 70,900 = 34,667;
    # gains 15% x 20,000 = 3,000; total 38,047.
    result = compute_tax(r25, single(age=50, ordinary_income=190_000, ltcg=20_000))
    assert result.niit == pytest.approx(380, abs=CENT)
    assert result.total_tax == pytest.approx(38_047, abs=CENT)


def test_niit_when_net_investment_income_is_the_lesser(r25: RuleSet) -> None:
    # MAGI 270,000 - 200,000 = 70,000 > NII 20,000: 3.8% x 20,000 = 760.
    # Ordinary part 234,250: 40,199 + 32% x 36,950 = 52,023; + 3,000 + 760 = 55,783.
    result = compute_tax(r25, single(age=50, ordinary_income=250_000, ltcg=20_000))
    assert result.niit == pytest.approx(760, abs=CENT)
    assert result.total_tax == pytest.approx(55_783, abs=CENT)


def test_niit_counts_interest_but_not_wages_or_benefits(r25: RuleSet) -> None:
    # IRC §1411(c)(1)(A)(i): interest is NII. Joint MAGI 270,000 - 250,000 = 20,000 <
    # interest 30,000: 760. Same income all wages: NII 0, no NIIT.
    interest = compute_tax(r25, joint(ordinary_income=270_000, investment_ordinary_income=30_000))
    wages = compute_tax(r25, joint(ordinary_income=270_000))
    assert interest.niit == pytest.approx(760, abs=CENT)
    assert wages.niit == 0
    # threshold is not indexed (§1411(b)): still 250,000 joint in a later year
    later = r25.for_year(2030, 0.03)
    assert later.surtaxes[0].threshold["mfj"] == 250_000


# --- senior deduction (P.L. 119-21 §70103) and the §63(f) add-on ------------------------


@pytest.mark.parametrize(
    ("status", "ages", "magi", "expected"),
    [
        ("single", (70,), 75_000, 6_000),  # at the start: full amount
        ("single", (70,), 100_000, 4_500),  # 6,000 - 6% x 25,000
        ("single", (70,), 175_000, 0),  # 6,000 - 6% x 100,000
        ("single", (70,), 400_000, 0),  # not below zero
        ("single", (64,), 50_000, 0),  # under 65
        ("mfj", (70, 70), 200_000, 6_000),  # each 6,000 - 6% x 50,000 = 3,000
        ("mfj", (70, 64), 200_000, 3_000),  # one qualified individual
        ("mfj", (70, 70), 250_000, 0),  # each 6,000 - 6% x 100,000
        ("mfj", (65, 65), 150_000, 12_000),
    ],
)
def test_senior_deduction_phase_out_per_person(
    r25: RuleSet, status: str, ages: tuple[int, ...], magi: float, expected: float
) -> None:
    amount = deduction_amount(deduction(r25, "senior"), status, ages, magi)
    assert amount == pytest.approx(expected, abs=CENT)


def test_senior_deduction_mid_phase_out_totals(r25: RuleSet) -> None:
    # Single 70, 100,000 pension: senior 4,500; taxable 100,000 - (15,750 + 2,000 +
    # 4,500) = 77,750; 5,578.50 + 22% x 29,275 = 12,019.
    assert compute_tax(r25, single(age=70, ordinary_income=100_000)).total_tax == pytest.approx(
        12_019, abs=CENT
    )
    # Joint 70/70, 200,000: senior 2 x 3,000; taxable 200,000 - (31,500 + 3,200 + 6,000)
    # = 159,300; 11,157 + 22% x 62,350 = 24,874.
    both = compute_tax(r25, joint(70, 70, ordinary_income=200_000))
    assert both.total_deductions == pytest.approx(40_700, abs=CENT)
    assert both.total_tax == pytest.approx(24_874, abs=CENT)


def test_senior_deduction_fully_phased_out_totals(r25: RuleSet) -> None:
    # Single 70 at 175,000: senior 0; 175,000 - 17,750 = 157,250; 17,651 + 24% x 53,900
    # = 30,587. Joint 70/70 at 260,000: senior 0; 260,000 - 34,700 = 225,300;
    # 35,302 + 24% x 18,600 = 39,766.
    alone = compute_tax(r25, single(age=70, ordinary_income=175_000))
    pair = compute_tax(r25, joint(70, 70, ordinary_income=260_000))
    assert alone.deductions["senior"] == 0
    assert alone.total_tax == pytest.approx(30_587, abs=CENT)
    assert pair.deductions["senior"] == 0
    assert pair.total_tax == pytest.approx(39_766, abs=CENT)


def test_age_64_versus_65(r25: RuleSet, r26: RuleSet) -> None:
    # 2025 single, 50,000 pension. Age 64: 50,000 - 15,750 = 34,250;
    # 1,192.50 + 12% x 22,325 = 3,871.50. Age 65 adds §63(f) 2,000 and senior 6,000:
    # 50,000 - 23,750 = 26,250; 1,192.50 + 12% x 14,325 = 2,911.50 (8,000 x 12% less).
    at_64 = compute_tax(r25, single(age=64, ordinary_income=50_000))
    at_65 = compute_tax(r25, single(age=65, ordinary_income=50_000))
    assert at_64.deductions == {"standard": 15_750, "additional_age_65": 0, "senior": 0}
    assert at_64.total_tax == pytest.approx(3_871.50, abs=CENT)
    assert at_65.deductions == {"standard": 15_750, "additional_age_65": 2_000, "senior": 6_000}
    assert at_65.total_tax == pytest.approx(2_911.50, abs=CENT)
    # 2026 (Rev. Proc. 2025-32): 50,000 - (16,100 + 2,050 + 6,000) = 25,850;
    # 1,240 + 12% x 13,450 = 2,854.
    assert compute_tax(r26, single(age=65, ordinary_income=50_000)).total_tax == pytest.approx(
        2_854, abs=CENT
    )
    # Joint add-on is 1,600 per spouse aged 65+ (Rev. Proc. 2024-40; §63(f)(1)).
    add_on = deduction(r25, "additional_age_65")
    assert deduction_amount(add_on, "mfj", (65, 64), 0) == 1_600
    assert deduction_amount(add_on, "mfj", (65, 66), 0) == 3_200


def test_senior_deduction_ends_after_2028(r25: RuleSet) -> None:
    # P.L. 119-21 §70103: tax years 2025-2028. In 2029 (no indexing, to isolate it):
    # 50,000 - (15,750 + 2,000) = 32,250; 1,192.50 + 12% x 20,325 = 3,631.50.
    in_2028 = compute_tax(r25, single(age=70, ordinary_income=50_000, year=2028))
    in_2029 = compute_tax(r25, single(age=70, ordinary_income=50_000, year=2029))
    assert in_2028.deductions["senior"] == 6_000
    assert "senior" not in in_2029.deductions
    assert in_2029.total_tax == pytest.approx(3_631.50, abs=CENT)


# --- early withdrawal penalty (IRC §72(t)) ----------------------------------------------


def test_early_withdrawal_penalty(r25: RuleSet) -> None:
    # 40,000 ordinary of which 10,000 early IRA distribution. Taxable 24,250:
    # 1,192.50 + 12% x 12,325 = 2,671.50; penalty 10% x 10,000 = 1,000; total 3,671.50.
    result = compute_tax(r25, single(age=50, ordinary_income=40_000, early_distributions=10_000))
    assert result.early_withdrawal_penalty == pytest.approx(1_000, abs=CENT)
    assert result.total_tax == pytest.approx(3_671.50, abs=CENT)


# --- indexing with RuleSet.for_year -----------------------------------------------------


def test_for_year_indexes_indexed_tables_only(r25: RuleSet) -> None:
    # 2027 at 2.5%: factor 1.025^2 = 1.050625; each increase rounded down as the statute
    # words it (IRC §1(f)(7)(A): $50; single brackets $25 by §1(j)(3)(B)(ii)).
    rules = r25.for_year(2027, 0.025)
    # standard 15,750 + 797.34 -> + 750 = 16,500 (continuous growth: 16,547.34)
    assert deduction(rules, "standard").amount["single"] == 16_500
    # single 10% top 11,925 + 603.70 -> + 600 = 12,525
    assert rules.ordinary.brackets["single"].thresholds[1] == 12_525
    # joint 0% ceiling 96,700 + 4,895.44 -> + 4,850 = 101,550 (§1(j)(5)(C))
    assert rules.preferential[0].brackets["mfj"].thresholds[1] == 101_550
    # statutory, not indexed: senior 6,000 and its 75,000 start, §86 bases, NIIT 200,000
    senior = deduction(rules, "senior")
    assert senior.amount["single"] == 6_000 and senior.phaseout.start["single"] == 75_000
    assert rules.benefit_taxation.base1["single"] == 25_000
    assert rules.surtaxes[0].threshold["single"] == 200_000
    # Single 40, 40,000 wages in 2027: taxable 40,000 - 16,500 = 23,500;
    # 10% x 12,525 + 12% x 10,975 = 1,252.50 + 1,317 = 2,569.50.
    result = compute_tax(rules, single(ordinary_income=40_000, year=2027))
    assert result.total_tax == pytest.approx(2_569.50, abs=CENT)


def test_for_year_leaves_own_and_earlier_years_alone(r25: RuleSet) -> None:
    assert r25.for_year(2025, 0.025) is r25
    assert r25.for_year(2024, 0.025) is r25  # a rule set states the law from its year on


def test_2026_rules_are_2025_with_republished_amounts(r25: RuleSet, r26: RuleSet) -> None:
    # The 2026 file extends 2025: statutory amounts carry over unchanged.
    assert deduction(r26, "senior") == deduction(r25, "senior")
    assert r26.benefit_taxation == r25.benefit_taxation
    assert r26.surtaxes == r25.surtaxes
    assert deduction(r26, "standard").amount == {"single": 16_100, "mfj": 32_200}


# --- the CLI's example household --------------------------------------------------------


def test_example_household_2025_and_2026(r25: RuleSet, r26: RuleSet) -> None:
    # mfj 67/64: 85,000 ordinary, 4,000 qualified dividends, 20,000 LTCG, 32,000 SS.
    # IRC §86: provisional 109,000 + 16,000 = 125,000; 85% x 81,000 + 6,000 = 74,850,
    # capped at 85% x 32,000 = 27,200; AGI 136,200 (under 150,000: full senior 6,000).
    household = joint(
        67,
        64,
        ordinary_income=85_000,
        qualified_dividends=4_000,
        ltcg=20_000,
        social_security=32_000,
    )
    y25 = compute_tax(r25, household)
    # 2025: 136,200 - (31,500 + 1,600 + 6,000) = 97,100; ordinary part 73,100:
    # 2,385 + 12% x 49,250 = 8,295; gains 73,100..97,100: 400 above 96,700 x 15% = 60.
    assert (y25.taxable_income, y25.ordinary_tax, y25.capital_gains_tax) == pytest.approx(
        (97_100, 8_295, 60), abs=CENT
    )
    assert y25.total_tax == pytest.approx(8_355, abs=CENT)
    # One more ordinary dollar: 12% on itself plus 15% on the gain dollar it pushes out
    # of the 0% band (SS already at its 85% cap): 27%.
    assert marginal_rates(r25, household)["ordinary_income"] == pytest.approx(0.27)
    y26 = compute_tax(r26, household)
    # 2026: 136,200 - (32,200 + 1,650 + 6,000) = 96,350; ordinary part 72,350:
    # 2,480 + 12% x 47,550 = 8,186; gains end at 96,350 < 98,900: 0.
    assert (y26.taxable_income, y26.ordinary_tax, y26.capital_gains_tax) == pytest.approx(
        (96_350, 8_186, 0), abs=CENT
    )
    assert y26.total_tax == pytest.approx(8_186, abs=CENT)


# --- smaller pieces ---------------------------------------------------------------------


def test_included_gains_full_inclusion_no_exemption(r25: RuleSet) -> None:
    # IRC §1222: net long-term gain fully included; the US has no annual exemption.
    assert included_gains(r25, "single", 12_345) == 12_345


def test_unknown_filing_status_is_rejected(r25: RuleSet) -> None:
    with pytest.raises(ValueError, match="choose from single, mfj"):
        compute_tax(r25, TaxInput(filing_status="hoh", ages=(40,)))


def test_negative_income_is_rejected() -> None:
    with pytest.raises(ValueError, match="ltcg must not be negative"):
        single(ltcg=-1)


# --- the table of cases, in both shapes -------------------------------------------------
# The calculator is one piece of code for a household (floats) and for many simulated
# paths (arrays). Each hand-worked row must come out of it both ways: as floats through
# `compute_tax`, and as one element of arrays through `compute_tax_arrays`, beside the
# other rows that share its rules, year, status and ages (in two orders, so no element
# can borrow from its neighbours).

COLUMNS = ("taxable_income", "ordinary_tax", "capital_gains_tax", "niit", "penalty", "total_tax")
INCOMES = {  # CSV column -> TaxInput field
    "ordinary_income": "ordinary_income",
    "investment_income": "investment_ordinary_income",
    "qualified_dividends": "qualified_dividends",
    "ltcg": "ltcg",
    "social_security": "social_security",
    "early_distributions": "early_distributions",
}


def _load_cases() -> list[dict[str, str]]:
    with CASES.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _household(case: dict[str, str]) -> tuple:
    """What elements of one array share: rule set, year, inflation, status, ages."""
    ages = (int(case["age"]),) + ((int(case["spouse_age"]),) if case["spouse_age"] else ())
    return case["rules"], int(case["year"]), float(case["inflation"]), case["filing_status"], ages


def _figures(amounts, i: int | None = None) -> dict[str, float]:
    def pick(value):
        return float(value if i is None else value[i])

    return {
        "taxable_income": pick(amounts.taxable_income),
        "ordinary_tax": pick(amounts.ordinary_tax),
        "capital_gains_tax": pick(amounts.capital_gains_tax),
        "niit": pick(amounts.niit),
        "penalty": pick(amounts.early_withdrawal_penalty),
        "total_tax": pick(amounts.total_tax),
    }


@pytest.mark.parametrize("case", _load_cases(), ids=lambda case: case["case_id"])
def test_tax_cases_table_as_floats_and_as_array_elements(case: dict[str, str]) -> None:
    """Each row of tests/data/tax_cases.csv: worked by hand, its source in the row."""
    assert case["source"].strip() and case["working"].strip()
    rule_set, year, inflation, status, ages = _household(case)
    rules = load_rules(rule_set).for_year(year, inflation)
    expected = {name: float(case[name]) for name in COLUMNS}

    income = TaxInput(status, ages, year=year, **{f: float(case[c]) for c, f in INCOMES.items()})
    assert _figures(compute_tax(rules, income)) == pytest.approx(expected, abs=CENT)

    group = [c for c in _load_cases() if _household(c) == _household(case)]
    for ordered in (group, group[::-1]):
        columns = {f: np.array([float(c[col]) for c in ordered]) for col, f in INCOMES.items()}
        arrays = compute_tax_arrays(rules, status, ages, year=year, **columns)
        i = ordered.index(case)
        assert _figures(arrays, i) == pytest.approx(expected, abs=CENT)

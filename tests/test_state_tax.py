"""State income tax against hand-worked cases from each state's published tables.

Each case gives the federal figures a state starts from explicitly (federal AGI, federal
taxable income, taxable Social Security), so the state arithmetic is checked on its own;
the end-to-end cases at the bottom go through the federal calculator too.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.errors import InputError
from taxopt.rules import load_rules
from taxopt.state_rules import (
    available_states,
    find_state_rules,
    load_state_rules,
    state_rule_files,
)
from taxopt.state_tax import (
    OrdinaryParts,
    StateTaxInput,
    compute_state_tax,
    schedule_tax,
    state_marginal_rates,
    state_tax_of,
)
from taxopt.tax import TaxInput


def rules(code: str, year: int = 2026):
    return find_state_rules(code, year)


def tax(code: str, status: str, ages: tuple[int, ...], **amounts: float) -> float:
    """State tax with the federal AGI defaulting to the sum of the federal parts."""
    federal_parts = (
        "wages", "interest", "ira_distributions", "pension_income", "short_term_gains",
        "qualified_dividends", "ltcg", "federal_taxable_social_security",
    )  # fmt: skip
    amounts.setdefault("federal_agi", sum(amounts.get(k, 0.0) for k in federal_parts))
    income = StateTaxInput(filing_status=status, ages=ages, **amounts)
    return float(compute_state_tax(rules(code), income).total_tax)


def result(code: str, status: str, ages: tuple[int, ...], **amounts: float):
    income = StateTaxInput(filing_status=status, ages=ages, **amounts)
    return compute_state_tax(rules(code), income)


# ---------------------------------------------------------------------------------------
# Registry


def test_every_rule_file_loads_and_cites_every_table() -> None:
    for path in state_rule_files():
        state = load_state_rules(path)
        assert state.meta.name == path.stem
        tables = [state.start, state.brackets, *state.subtractions, *state.deductions]
        tables += [*state.flat_rates, *state.surtaxes, *state.credits, *state.tax_caps]
        tables += [state.local] if state.local is not None else []
        for table in tables:
            assert len(table.source) > 10, (path.name, table)


def test_required_states_are_available() -> None:
    required = {"CA", "NY", "NY-NYC", "PA", "IL", "MA", "NJ", "GA", "CO"}
    no_tax = {"AK", "FL", "NV", "NH", "SD", "TN", "TX", "WA", "WY"}
    assert required | no_tax <= set(available_states())


def test_unknown_state_lists_the_available_ones() -> None:
    with pytest.raises(InputError) as caught:
        find_state_rules("zz", 2026)
    message = str(caught.value)
    assert "'zz' has no state rules" in message and "ca, co" in message
    assert "\n" not in message


def test_a_year_before_every_rule_file_is_refused() -> None:
    with pytest.raises(InputError, match="tax year 2020"):
        find_state_rules("ca", 2020)


def test_later_year_indexes_only_indexed_tables() -> None:
    ma = find_state_rules("ma", 2027).for_year(2027, 0.03)  # 2025 figures, 2 years at 3%
    assert ma.surtaxes[0].threshold["single"] == pytest.approx(1_083_150 * 1.03**2)
    assert ma.deductions[0].amount["single"] == 4_400  # M.G.L. c. 62 §3(B)(b): fixed
    ca = find_state_rules("ca", 2027).for_year(2027, 0.03)  # 2026 at FTB's 3.4%, then 3%
    assert ca.brackets.schedules["single"].thresholds[1] == pytest.approx(11079 * 1.034 * 1.03)
    assert ca.surtaxes[0].threshold["single"] == 1_000_000  # R&TC §17043: not indexed
    nj = find_state_rules("nj", 2027).for_year(2027, 0.03)
    assert nj.brackets.schedules["mfj"].thresholds[1] == 20_000  # N.J.S.A. 54A:2-1: fixed


# ---------------------------------------------------------------------------------------
# California (2025 Tax Rate Schedules X/Y; Form 540 instructions)


def test_ca_published_schedule_y_example() -> None:
    # The 2025 schedules' own example: joint taxable income 125,000 -> 4,768.10.
    # 221.58 + 607.40 + 1,215.04 + 1,930.80 + 8% x 9,916 = 4,768.10; AGI 136,412 less the
    # 11,412 standard deduction; two personal exemption credits of 153.
    figures = result("ca", "mfj", (50, 48), wages=136_412, federal_agi=136_412)
    assert float(figures.taxable_income) == 125_000
    assert float(figures.bracket_tax) == pytest.approx(4_768.10)
    assert float(figures.total_tax) == pytest.approx(4_768.10 - 306)


def test_ca_subtracts_taxable_social_security_and_gives_senior_credits() -> None:
    # Federal AGI 80,000 with 20,000 taxable Social Security: CA AGI 60,000, taxable
    # 48,588; 221.58 + 2% x 26,430 = 750.18; credits 2 x 153 + 2 x 153 (both 65+).
    figures = result(
        "ca", "mfj", (67, 66), ira_distributions=60_000, social_security=40_000,
        federal_taxable_social_security=20_000, federal_agi=80_000,
    )  # fmt: skip
    assert float(figures.subtractions["social_security"]) == 20_000
    assert float(figures.total_tax) == pytest.approx(750.18 - 612)


def test_ca_exemption_credit_phases_out_in_whole_steps() -> None:
    # Form 540 Exemption Credits Worksheet: 6 dollars per credit for each 2,500 (or part)
    # of federal AGI over 252,203 (single, 2025).
    def credit(agi: float) -> float:
        figures = result("ca", "single", (40,), wages=agi, federal_agi=agi)
        return float(figures.credits["personal_exemption"])

    assert credit(252_203) == 153
    assert credit(252_204) == 147
    assert credit(254_703) == 147
    assert credit(254_704) == 141
    assert credit(252_203 + 25 * 2_500 + 1) == 0  # 26 steps x 6 > 153


def test_ca_behavioral_health_services_tax_above_one_million() -> None:
    # R&TC §17043: 1% of taxable income over 1,000,000, every filing status.
    at = result("ca", "single", (40,), wages=1_005_706, federal_agi=1_005_706)
    assert float(at.taxable_income) == 1_000_000
    assert float(at.surtaxes["behavioral_health_services"]) == 0
    above = result("ca", "single", (40,), wages=1_105_706, federal_agi=1_105_706)
    assert float(above.surtaxes["behavioral_health_services"]) == pytest.approx(1_000)
    # Schedule X top: the 100,000 more is taxed at 12.3% + 1%.
    assert float(above.total_tax - at.total_tax) == pytest.approx(13_300)


# ---------------------------------------------------------------------------------------
# New York (Tax Law §601 as amended for 2026; IT-201 instructions)


def test_ny_2026_single_rate_schedule() -> None:
    # AGI 100,000 - 8,000 standard = 92,000: 3.9% x 8,500 + 4.4% x 3,200 + 5.15% x 2,200
    # + 5.4% x 66,750 + 5.9% x 11,350 = 331.50 + 140.80 + 113.30 + 3,604.50 + 669.65.
    assert tax("ny", "single", (40,), wages=100_000) == pytest.approx(4_859.75)


def test_ny_supplemental_tax_phases_in_above_107650() -> None:
    # Tax Law §601(d-1), joint, 2026 schedule. Schedule tax at 161,550:
    # 668.85 + 283.80 + 221.45 + 5.4% x 133,650 = 8,391.20.
    def ny(agi: float) -> float:
        return float(result("ny", "mfj", (50, 50), wages=agi, federal_agi=agi).bracket_tax)

    # At NY AGI 107,650 nothing is recaptured: taxable 91,600 on the schedule
    # (668.85 + 283.80 + 221.45 = 1,174.10 up to 27,900).
    assert ny(107_650) == pytest.approx(1_174.10 + 0.054 * (91_600 - 27_900))
    # 50,000 later the 5.4% bracket's rate applies to all of taxable income 141,600.
    assert ny(157_650) == pytest.approx(0.054 * 141_600)
    # AGI 200,000, taxable 183,950 in the 5.9% bracket: schedule 9,712.80; recapture base
    # 5.4% x 161,550 - 8,391.20 = 332.50; incremental benefit 0.5% x 161,550 = 807.75
    # phased in by (200,000 - 161,550) / 50,000 = 0.769.
    assert ny(200_000) == pytest.approx(9_712.80 + 332.50 + 807.75 * 0.769)


def test_ny_supplemental_tax_full_recapture_and_top_rate() -> None:
    # Single AGI 300,000, taxable 292,000 in the 6.85% bracket, more than 50,000 above
    # its 215,400 threshold: the whole taxable income at 6.85%.
    assert tax("ny", "single", (40,), wages=300_000) == pytest.approx(0.0685 * 292_000)
    # Above 25,000,000 of NY AGI: all taxable income at 10.9%.
    assert tax("ny", "mfj", (40, 40), wages=30_000_000) == pytest.approx(
        0.109 * (30_000_000 - 16_050)
    )


def test_nyc_overlay_adds_the_city_schedule_on_ny_taxable_income() -> None:
    # NYC Admin. Code §11-1701(a), single: 3.078% x 12,000 + 3.762% x 13,000
    # + 3.819% x 25,000 + 3.876% x 42,000 = 3,441.09 on NY taxable income 92,000;
    # the state part is us-ny-2026's (4,859.75, above).
    figures = result("ny-nyc", "single", (40,), wages=100_000, federal_agi=100_000)
    assert float(figures.local_tax) == pytest.approx(3_441.09)
    assert float(figures.total_tax) == pytest.approx(4_859.75 + 3_441.09)
    state_only = load_state_rules(next(p for p in state_rule_files() if p.stem == "us-ny-2026"))
    overlay = rules("ny-nyc")
    assert overlay.subtractions == state_only.subtractions  # inherited by `extends`
    assert overlay.brackets == state_only.brackets


def test_ny_pension_exclusion_at_its_age_edge_and_cap() -> None:
    # Tax Law §612(c)(3-a): 20,000 per person 59 1/2+ (read as 60 at year end).
    def excluded(ages: tuple[int, ...], status: str = "single") -> float:
        figures = result("ny", status, ages, ira_distributions=50_000, federal_agi=50_000)
        return float(figures.subtractions["pension_and_annuity_exclusion"])

    assert excluded((59,)) == 0
    assert excluded((60,)) == 20_000
    assert excluded((60, 58), "mfj") == 20_000
    assert excluded((61, 60), "mfj") == 40_000


def test_ny_subtracts_taxable_social_security() -> None:
    # 30,000 IRA at 70 (20,000 excluded) + 15,000 taxable SS: NY AGI 10,000, taxable 2,000.
    value = tax(
        "ny", "single", (70,), ira_distributions=30_000, social_security=25_000,
        federal_taxable_social_security=15_000,
    )  # fmt: skip
    assert value == pytest.approx(0.039 * 2_000)


# ---------------------------------------------------------------------------------------
# Pennsylvania (72 P.S. §7302, §7303; retirement income and Social Security exempt)


def test_pa_flat_rate_on_its_classes_without_deductions() -> None:
    value = tax(
        "pa", "mfj", (45, 44), wages=80_000, interest=1_000, qualified_dividends=2_000,
        ltcg=5_000, short_term_gains=500, federal_agi=88_500,
    )  # fmt: skip
    assert value == pytest.approx(0.0307 * 88_500)


def test_pa_retirement_income_and_social_security_exempt_at_retirement_age() -> None:
    # 30,000 IRA + 20,000 pension + 24,000 Social Security at 60+: only the wages are taxed.
    amounts = dict(
        wages=10_000,
        ira_distributions=30_000,
        pension_income=20_000,
        social_security=24_000,
        federal_taxable_social_security=20_400,
    )
    assert tax("pa", "single", (60,), **amounts) == pytest.approx(307)
    # Before 59 1/2 a distribution is compensation-like income (taxed here in full).
    assert tax("pa", "single", (59,), **amounts) == pytest.approx(0.0307 * 60_000)


# ---------------------------------------------------------------------------------------
# Illinois (35 ILCS 5/201, 203, 204; IDOR Q&A 851)


def test_il_exempts_retirement_income_and_social_security_at_any_age() -> None:
    # Federal AGI 100,000 = 40,000 wages + 40,000 IRA + 20,000 taxable SS, age 66:
    # base 40,000 - (2,850 + 1,000) = 36,150 x 4.95% = 1,789.425.
    value = tax(
        "il", "single", (66,), wages=40_000, ira_distributions=40_000,
        social_security=24_000, federal_taxable_social_security=20_000,
    )  # fmt: skip
    assert value == pytest.approx(1_789.425)
    young = tax("il", "single", (40,), wages=40_000, pension_income=40_000)
    assert young == pytest.approx(0.0495 * (40_000 - 2_850))


def test_il_exemption_cliff_at_the_federal_agi_limit() -> None:
    # 35 ILCS 5/204(g): no exemption allowance when federal AGI exceeds 500,000 (joint).
    below = tax("il", "mfj", (66, 66), wages=500_000)
    above = tax("il", "mfj", (66, 66), wages=500_001)
    assert below == pytest.approx(0.0495 * (500_000 - 2 * 2_850 - 2 * 1_000))
    assert above == pytest.approx(0.0495 * 500_001)
    assert above - below == pytest.approx(0.0495 * (7_700 + 1))


# ---------------------------------------------------------------------------------------
# Massachusetts (M.G.L. c. 62 §§3, 4; 4% surtax threshold for 2025)


def test_ma_short_term_gains_rate_and_exemptions() -> None:
    # Single 40: wages 100,000 - 4,400 exemption = 95,600 x 5% = 4,780; short-term gains
    # 10,000 x 8.5% = 850. Social Security is not Massachusetts income.
    value = tax(
        "ma", "single", (40,), wages=100_000, short_term_gains=10_000, social_security=5_000
    )
    assert value == pytest.approx(5_630)
    # Exemptions larger than 5% income reach the short-term gains: (32,000 - 4,400 - 2,000).
    value = tax("ma", "single", (40,), wages=2_000, short_term_gains=30_000)
    assert value == pytest.approx(0.085 * 27_600)


def test_ma_age_exemption_and_retirement_income_taxed() -> None:
    # MFJ both 66: 8,800 + 2 x 700 exemptions; IRA distributions are Part B income.
    assert tax("ma", "mfj", (66, 66), ira_distributions=60_000) == pytest.approx(
        0.05 * (60_000 - 10_200)
    )


def test_ma_surtax_at_its_threshold() -> None:
    # M.G.L. c. 62 §4(d): 4% of taxable income over 1,083,150 (2025).
    at = result("ma", "single", (40,), wages=1_083_150 + 4_400)
    assert float(at.taxable_income) == 1_083_150
    assert float(at.surtaxes["fair_share_surtax"]) == 0
    above = result("ma", "single", (40,), wages=1_183_150 + 4_400)
    assert float(above.surtaxes["fair_share_surtax"]) == pytest.approx(4_000)
    assert float(above.total_tax - at.total_tax) == pytest.approx(9_000)


# ---------------------------------------------------------------------------------------
# New Jersey (N.J.S.A. 54A:2-1, 3-1, 6-10, 6-15; NJ-1040 Pension Exclusion Worksheet)


def test_nj_full_pension_exclusion_at_or_below_100000() -> None:
    # MFJ both 65: total income 100,000 (60,000 pension + 40,000 wages) -> all 60,000
    # excluded; 40,000 - 4 x 1,000 exemptions = 36,000: 1.4% x 20,000 + 1.75% x 16,000.
    value = tax("nj", "mfj", (65, 65), pension_income=60_000, wages=40_000)
    assert value == pytest.approx(280 + 280)


def test_nj_exclusion_tiers_and_cliff_at_their_edges() -> None:
    def excluded(total: float, status: str = "mfj") -> float:
        ages = (65, 65) if status == "mfj" else (65,)
        figures = result("nj", status, ages, ira_distributions=80_000, wages=total - 80_000)
        return float(figures.subtractions["pension_exclusion"])

    assert excluded(100_000) == 80_000  # full, under the 100,000 joint cap
    assert excluded(100_001) == 40_000  # 50% above 100,000
    assert excluded(125_000) == 40_000
    assert excluded(125_001) == 20_000  # 25% above 125,000
    assert excluded(150_000) == 20_000
    assert excluded(150_001) == 0  # the cliff
    assert excluded(100_000, "single") == 75_000  # single cap
    assert excluded(100_001, "single") == 30_000  # 37.5%
    assert excluded(125_001, "single") == 15_000  # 18.75%


def test_nj_cliff_raises_tax_by_more_than_the_extra_dollar() -> None:
    # MFJ 65/65, pension 100,000: at total income 150,000, 25,000 excluded -> taxable
    # 121,000 = 280 + 525 + 490 + 350 + 5.525% x 41,000 = 3,910.25; one dollar more loses it:
    # taxable 146,001 -> 280 + 525 + 490 + 350 + 5.525% x 66,001 = 5,291.555.
    below = tax("nj", "mfj", (65, 65), pension_income=100_000, wages=50_000)
    above = tax("nj", "mfj", (65, 65), pension_income=100_000, wages=50_001)
    assert below == pytest.approx(3_910.25)
    assert above == pytest.approx(5_291.555)


def test_nj_exclusion_needs_someone_62() -> None:
    # Single 62 with 80,000 pension: 75,000 excluded; 5,000 - 1,000 = 4,000 x 1.4% = 56.
    assert tax("nj", "single", (62,), pension_income=80_000) == pytest.approx(56)
    assert tax("nj", "single", (61,), pension_income=80_000) == pytest.approx(
        280 + 0.0175 * 15_000 + 0.035 * 5_000 + 0.05525 * 35_000 + 0.0637 * 4_000
    )


# ---------------------------------------------------------------------------------------
# Georgia (O.C.G.A. §48-7-20, §48-7-27 as amended by HB 463 for 2026)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (61, 0.0499 * (100_000 - 15_000)),  # no exclusion before 62
        (62, 0.0499 * (100_000 - 35_000 - 15_000)),
        (64, 0.0499 * (100_000 - 35_000 - 15_000)),
        (65, 0.0499 * (100_000 - 65_000 - 15_000)),
    ],
)
def test_ga_retirement_exclusion_at_its_age_edges(age: int, expected: float) -> None:
    value = tax("ga", "single", (age,), ira_distributions=80_000, wages=20_000)
    assert value == pytest.approx(expected)


def test_ga_exclusion_counts_earned_income_up_to_5000_and_social_security_exempt() -> None:
    # 65+: 30,000 IRA + 40,000 wages: excluded 30,000 + 5,000 = 35,000 (under 65,000).
    figures = result(
        "ga", "single", (66,), ira_distributions=30_000, wages=40_000,
        social_security=30_000, federal_taxable_social_security=25_500, federal_agi=95_500,
    )  # fmt: skip
    assert float(figures.subtractions["retirement_income_exclusion"]) == 35_000
    assert float(figures.subtractions["social_security"]) == 25_500
    assert float(figures.total_tax) == pytest.approx(0.0499 * (35_000 - 15_000))


# ---------------------------------------------------------------------------------------
# Colorado (C.R.S. 39-22-104; DR 0104AD; DOR Information for Retirees)


def co(age: int, agi: float, taxable_income: float, ira: float, taxable_ss: float) -> float:
    return tax(
        "co", "single", (age,), ira_distributions=ira, social_security=taxable_ss / 0.85,
        federal_taxable_social_security=taxable_ss, federal_agi=agi,
        federal_taxable_income=taxable_income,
    )  # fmt: skip


def test_co_subtractions_at_55_and_65_edges() -> None:
    # Federal taxable income 60,000 with 40,000 IRA and 20,000 taxable SS.
    # 65+: all SS + 24,000 pension subtraction -> 16,000 x 4.4%.
    assert co(65, 80_000, 60_000, 40_000, 20_000) == pytest.approx(0.044 * 16_000)
    # 64 with AGI over 75,000: SS counts against the 20,000 cap -> 40,000 x 4.4%.
    assert co(64, 80_000, 60_000, 40_000, 20_000) == pytest.approx(0.044 * 40_000)
    # 55: same cap; 54: nothing.
    assert co(55, 80_000, 60_000, 40_000, 20_000) == pytest.approx(0.044 * 40_000)
    assert co(54, 80_000, 60_000, 40_000, 20_000) == pytest.approx(0.044 * 60_000)


def test_co_social_security_cliff_for_55_to_64() -> None:
    # From 2025, 55-64 subtract all taxable SS when federal AGI is at most 75,000 (single),
    # then up to 20,000 of pension: 55,000 - 20,000 - 20,000 = 15,000.
    assert co(60, 75_000, 55_000, 40_000, 20_000) == pytest.approx(0.044 * 15_000)
    # One dollar of AGI more: SS only inside the 20,000 cap: 55,001 - 20,000.
    assert co(60, 75_001, 55_001, 40_000, 20_001) == pytest.approx(0.044 * 35_001)


# ---------------------------------------------------------------------------------------
# No-income-tax states


@pytest.mark.parametrize("code", ["ak", "fl", "nv", "nh", "sd", "tn", "tx", "wy"])
def test_no_income_tax_states(code: str) -> None:
    assert tax(code, "mfj", (50, 50), wages=1e6, interest=1e5, ltcg=1e6) == 0


def test_washington_taxes_only_long_term_gains_above_its_deduction() -> None:
    # RCW 82.87.040, .060: 7% of long-term gains over the 270,000 deduction (one per
    # household); from 2025 2.9% more on Washington capital gains over 1,000,000.
    other = dict(wages=500_000, interest=50_000, ira_distributions=100_000)
    assert tax("wa", "mfj", (50, 50), ltcg=270_000, **other) == 0
    assert tax("wa", "single", (50,), ltcg=300_000) == pytest.approx(0.07 * 30_000)
    assert tax("wa", "mfj", (50, 50), ltcg=1_500_000) == pytest.approx(
        0.07 * 1_000_000 + 0.099 * 230_000
    )


# ---------------------------------------------------------------------------------------
# Arrays and the federal coupling


def test_arrays_equal_scalars_element_by_element() -> None:
    wages = np.array([0.0, 30_000, 120_000, 600_000, 2_000_000])
    ira = np.array([50_000, 0, 80_000, 10_000, 0])
    for code in ("ca", "ny", "nj", "ga", "ma", "co"):
        arrays = compute_state_tax(
            rules(code),
            StateTaxInput(
                "mfj", (66, 63), wages=wages, ira_distributions=ira, federal_agi=wages + ira,
                federal_taxable_income=np.maximum(0, wages + ira - 30_000),
            ),
        )  # fmt: skip
        for i in range(len(wages)):
            one = compute_state_tax(
                rules(code),
                StateTaxInput(
                    "mfj", (66, 63), wages=wages[i], ira_distributions=ira[i],
                    federal_agi=wages[i] + ira[i],
                    federal_taxable_income=max(0, wages[i] + ira[i] - 30_000),
                ),
            )  # fmt: skip
            assert arrays.total_tax[i] == pytest.approx(float(one.total_tax)), (code, i)


def test_schedule_tax_on_arrays() -> None:
    schedule = rules("nj").brackets.schedules["single"]
    values = schedule_tax(schedule, np.array([0.0, 20_000, 35_000]))
    assert values.tolist() == pytest.approx([0, 280, 280 + 262.5])


def test_end_to_end_with_the_federal_calculator() -> None:
    # Couple 67/64 (the README's example) in California: federal AGI 136,200 with 27,200
    # taxable Social Security (IRC §86, tests/test_cli_tax.py); CA AGI 109,000; taxable
    # 97,588: 221.58 + 607.40 + 1,215.04 + 6% x 14,684 = 2,925.06; credits 3 x 153.
    federal_rules = load_rules("us-federal-2025")
    household = TaxInput(
        filing_status="mfj", ages=(67, 64), ordinary_income=85_000, qualified_dividends=4_000,
        ltcg=20_000, social_security=32_000, year=2025,
    )  # fmt: skip
    parts = OrdinaryParts(ira_distributions=60_000)
    figures = state_tax_of(federal_rules, rules("ca", 2025), household, parts)
    assert float(figures.state_agi) == 109_000
    assert float(figures.total_tax) == pytest.approx(2_925.06 - 459)
    rates = state_marginal_rates(federal_rules, rules("ca", 2025), household, parts)
    assert rates["ira_distributions"] == pytest.approx(0.06)
    assert rates["social_security"] == pytest.approx(0.0)
    pa = state_marginal_rates(federal_rules, rules("pa", 2026), household, parts)
    assert pa["ira_distributions"] == 0 and pa["wages"] == pytest.approx(0.0307)


# ---------------------------------------------------------------------------------------
# Bad state files: one line per problem naming file, field and fix


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[brackets.schedules.mfj]", "[brackets.schedules.joint]",
         "brackets.schedules: no value for filing status mfj"),
        ("rate = 0.085", "rate = 8.5", "flat_rates[0].rate: is 8.5; rates are fractions"),
        ('kinds = ["short_term_gains"]', 'kinds = ["stcg"]', "flat_rates[0].kinds[0]: Input"),
        ("[meta]", "[meta", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_state_file_names_file_field_and_fix(
    tmp_path, old: str, new: str, expected: str
) -> None:
    text = next(p for p in state_rule_files() if p.stem == "us-ma-2025").read_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        find_state_rules(str(path), 2026)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)


def test_ma_no_tax_status_and_limited_income_credit() -> None:
    # DOR, No Tax Status and Limited Income Credit: no tax at Massachusetts AGI up to 8,000
    # (single) / 16,400 (joint); above, the tax is at most 10% of AGI over that amount.
    assert tax("ma", "single", (40,), wages=8_000) == 0
    assert tax("ma", "single", (40,), wages=8_001) == pytest.approx(0.10)
    assert tax("ma", "single", (40,), wages=11_000) == pytest.approx(300)  # < 5% x 6,600
    assert tax("ma", "single", (40,), wages=12_000) == pytest.approx(0.05 * 7_600)  # < 400
    # A retired couple with Social Security and a small IRA withdrawal owes nothing.
    assert tax("ma", "mfj", (66, 66), ira_distributions=15_000, social_security=40_000) == 0


def test_overlay_extending_a_missing_file_is_one_line(tmp_path) -> None:
    path = tmp_path / "overlay.toml"
    path.write_text('extends = "us-zz-2026"\n[meta]\nname = "overlay"\n')
    with pytest.raises(InputError) as caught:
        load_state_rules(path)
    assert str(caught.value) == (
        f"{path}: extends: no state rule file named 'us-zz-2026' beside it; known: overlay"
    )


def test_ca_2026_uses_ftb_announced_indexing_rate() -> None:
    # FTB Tax News (October 2026): 2026 indexing of 3.4%; standard deduction 5,900 single
    # and 11,800 joint, personal exemption credit 158. The 2025 figures grown by the rate
    # land within a dollar of the announced ones, whatever the caller's inflation.
    for inflation in (0.0, 0.025, 0.05):
        ca = find_state_rules("ca", 2026).for_year(2026, inflation)
        assert ca.deductions[0].amount["single"] == pytest.approx(5_900, abs=1)
        assert ca.deductions[0].amount["mfj"] == pytest.approx(11_800, abs=1)
        assert ca.credits[0].amount["single"] == pytest.approx(158, abs=1)
    # A later year continues from there with the caller's inflation.
    ca_2027 = find_state_rules("ca", 2027).for_year(2027, 0.02)
    assert ca_2027.deductions[0].amount["single"] == pytest.approx(5_706 * 1.034 * 1.02)

"""Hand-worked checks of the calculator under rules/ca-on-2026.toml (federal + Ontario).

Sources (each test names the lines it uses):
- Federal brackets 2026 (14% to 58,523; 20.5% to 117,045; 26% to 181,440; 29% to 258,482;
  33% above) and the basic personal amount (14,829 + enhancement 1,623, phased down
  between 181,440 and 258,482): CRA 'Canadian income tax rates for individuals - current
  and previous years' and 'Indexation adjustment for personal income tax and benefit
  amounts' (2026 column); ITA s.117(2), s.118(1)(c). Credits at the lowest rate, 14%
  (Schedule 1 line 35000).
- Age amount (Schedule 1 line 30100): ITA s.118(2), 15% of net income (line 23600) over the
  threshold; the file's 2026 figures are TD1 2025's indexed by 2.0% (9,208 over 46,432).
- Pension income amount (line 31400): ITA s.118(3), $2,000.
- Eligible dividends: gross-up 38% (ITA s.82(1)(b), line 12000), federal dividend tax
  credit 15.0198% of the taxable amount (ITA s.121, line 40425); Ontario 10% (Taxation Act
  2007 s.19, ON428 line 61520).
- Capital gains: half included (ITA s.38(a)).
- OAS recovery tax: 15% of net income before adjustments (line 23400) over $95,323, at most
  the OAS received, deducted at line 23500 (ITA s.180.2, s.60(w)).
- Ontario 2026 (ON428): 5.05% to 53,891; 9.15% to 107,785; 11.16% to 150,000; 12.16% to
  220,000; 13.16% above; basic personal amount 12,989; age amount 6,341 over 47,210 (TD1ON
  2025's indexed by 1.9%); pension income amount 1,795; surtax 20% of Ontario tax over
  5,818 plus 36% over 7,446 (Part C, after non-refundable credits, before the dividend tax
  credit); Ontario Health Premium chart (Part C).
- RRIF minimum: ITR 7308(4) prescribed factors, age on January 1 (CRA 'Chart - Prescribed
  factors', "all other RRIFs"). RRSP deduction limit: ITA s.146(1), 18% up to 33,810.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.cli import main
from taxopt.rules import RULES_DIR, RuleSet, load_rules
from taxopt.tax import TaxInput, TaxResult, compute_tax, compute_tax_arrays

CENT = 0.005
EXAMPLES = Path(__file__).parent.parent / "examples"
FEDERAL_BPA_CREDIT = (14_829 + 1_623) * 0.14  # 2,303.28
ONTARIO_BPA_CREDIT = 12_989 * 0.0505  # 655.9445


@pytest.fixture(scope="module")
def on26() -> RuleSet:
    return load_rules("ca-on-2026")


def tax(rules: RuleSet, age: int = 40, **amounts: float) -> TaxResult:
    return compute_tax(rules, TaxInput(filing_status="single", ages=(age,), **amounts))


def federal(result: TaxResult) -> float:
    return result.total_tax - result.levels_tax


def ontario(result: TaxResult) -> dict[str, float]:
    return result.levels["ontario"]


def ontario_tax_on(income: float) -> float:
    """ON428 Part A on taxable income, written out by bracket (2026)."""
    bands = [(0, 53_891, 0.0505), (53_891, 107_785, 0.0915), (107_785, 150_000, 0.1116)]
    bands += [(150_000, 220_000, 0.1216), (220_000, float("inf"), 0.1316)]
    return sum(max(0.0, min(income, hi) - lo) * rate for lo, hi, rate in bands)


# --- brackets and basic personal amounts ---------------------------------------------


def test_employee_at_50000_federal_and_ontario(on26):
    r = tax(on26, ordinary_income=50_000)
    # Federal: 14% x 50,000 less the full basic personal amount at 14% (lines 30000, 35000).
    assert federal(r) == pytest.approx(50_000 * 0.14 - FEDERAL_BPA_CREDIT, abs=CENT)
    # Ontario: 5.05% x 50,000 less 12,989 x 5.05%; no surtax; health premium at 50,000 is
    # 450 + 25% x (50,000 - 48,000), at most 600 -> 600.
    on = ontario(r)
    assert on["tax_on_income"] == pytest.approx(2_525.0, abs=CENT)
    assert on["credits"] == pytest.approx(ONTARIO_BPA_CREDIT, abs=CENT)
    assert on["surtax"] == 0
    assert on["premiums"] == pytest.approx(600, abs=CENT)
    assert on["total"] == pytest.approx(2_525 - ONTARIO_BPA_CREDIT + 600, abs=CENT)
    assert r.total_tax == pytest.approx(7_165.7755, abs=CENT)


def test_top_federal_bracket_and_no_enhancement_at_300000(on26):
    r = tax(on26, ordinary_income=300_000)
    on_income = 58_523 * 0.14 + (117_045 - 58_523) * 0.205 + (181_440 - 117_045) * 0.26
    on_income += (258_482 - 181_440) * 0.29 + (300_000 - 258_482) * 0.33
    assert r.ordinary_tax == pytest.approx(on_income, abs=CENT)
    assert r.credit_details["basic_personal_amount_enhancement"] == 0
    assert federal(r) == pytest.approx(on_income - 14_829 * 0.14, abs=CENT)


@pytest.mark.parametrize(
    ("net_income", "enhancement"),
    [
        (181_440, 1_623),  # at the 29% threshold: whole
        (219_961, 811.5),  # halfway: half
        (258_482, 0),  # at the 33% threshold: gone
        (400_000, 0),
    ],
)
def test_basic_personal_amount_phase_down_edges(on26, net_income, enhancement):
    r = tax(on26, ordinary_income=net_income)
    assert r.credit_details["basic_personal_amount"] == pytest.approx(14_829 * 0.14, abs=CENT)
    got = r.credit_details["basic_personal_amount_enhancement"]
    assert got == pytest.approx(enhancement * 0.14, abs=CENT)


# --- age amount --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("net_income", "federal_amount", "ontario_amount"),
    [
        (40_000, 9_208, 6_341),  # below both thresholds
        (46_432, 9_208, 6_341),  # federal clawback starts here
        (47_210, 9_208 - 0.15 * (47_210 - 46_432), 6_341),  # Ontario's starts here
        (60_000, 9_208 - 0.15 * 13_568, 6_341 - 0.15 * 12_790),
        (89_483.34, 9_208 - 0.15 * (89_483.34 - 46_432), 0),  # Ontario's is gone
        (107_818.67, 0, 0),  # federal gone: 46,432 + 9,208 / 0.15
        (150_000, 0, 0),
    ],
)
def test_age_amount_clawback_start_and_end(on26, net_income, federal_amount, ontario_amount):
    r = tax(on26, age=66, ordinary_income=net_income)
    assert r.credit_details["age_amount"] == pytest.approx(federal_amount * 0.14, abs=0.01)
    got = ontario(r)["credit:age_amount"]
    assert got == pytest.approx(max(0.0, ontario_amount) * 0.0505, abs=0.01)


def test_no_age_amount_before_65(on26):
    r = tax(on26, age=64, ordinary_income=30_000)
    assert r.credit_details["age_amount"] == 0
    assert ontario(r)["credit:age_amount"] == 0


def test_pension_income_amount_is_the_lesser_of_the_amount_and_the_income(on26):
    small = tax(on26, age=70, ordinary_income=30_000, pension_income=1_000)
    large = tax(on26, age=70, ordinary_income=30_000, pension_income=25_000)
    assert small.credit_details["pension_income_amount"] == pytest.approx(1_000 * 0.14)
    assert large.credit_details["pension_income_amount"] == pytest.approx(2_000 * 0.14)
    assert ontario(small)["credit:pension_income_amount"] == pytest.approx(1_000 * 0.0505)
    assert ontario(large)["credit:pension_income_amount"] == pytest.approx(1_795 * 0.0505)


def test_credits_never_make_a_level_negative(on26):
    r = tax(on26, age=70, ordinary_income=12_000, pension_income=12_000)
    assert r.total_tax == 0
    assert ontario(r)["total"] == 0
    assert r.credits == pytest.approx(12_000 * 0.14)  # limited to the tax on income


# --- dividends and gains -------------------------------------------------------------


def test_eligible_dividends_gross_up_and_dividend_tax_credits(on26):
    r = tax(on26, ordinary_income=60_000, qualified_dividends=10_000)
    assert r.gross_up == pytest.approx(3_800)
    assert r.taxable_income == pytest.approx(73_800)
    fed_on_income = 58_523 * 0.14 + (73_800 - 58_523) * 0.205
    fed_dtc = 13_800 * 0.150198
    assert r.credit_details["dividend_tax_credit"] == pytest.approx(fed_dtc, abs=CENT)
    assert federal(r) == pytest.approx(fed_on_income - FEDERAL_BPA_CREDIT - fed_dtc, abs=CENT)
    on = ontario(r)
    on_after_credits = 53_891 * 0.0505 + (73_800 - 53_891) * 0.0915 - ONTARIO_BPA_CREDIT
    assert on["income_credits"] == pytest.approx(1_380, abs=CENT)
    assert on["premiums"] == pytest.approx(750)  # 72,600 < 73,800 <= 200,000
    assert on["total"] == pytest.approx(on_after_credits - 1_380 + 750, abs=CENT)
    assert r.total_tax == pytest.approx(10_206.2171, abs=0.01)


def test_half_of_a_capital_gain_is_included(on26):
    r = tax(on26, ordinary_income=50_000, ltcg=20_000)
    assert r.included_gains == pytest.approx(10_000)
    assert r.taxable_income == pytest.approx(60_000)


# --- OAS recovery tax ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("other_income", "clawback"),
    [
        (95_323 - 9_000, 0.0),  # net income before adjustments exactly at the threshold
        (100_000 - 9_000, 0.15 * (100_000 - 95_323)),
        (155_323 - 9_000, 9_000.0),  # full recovery: 95,323 + 9,000 / 0.15
        (200_000 - 9_000, 9_000.0),  # never more than the OAS received
    ],
)
def test_oas_recovery_tax_start_and_full_recovery(on26, other_income, clawback):
    r = tax(on26, age=70, ordinary_income=other_income, social_security=9_000)
    assert r.clawbacks["oas_recovery_tax"] == pytest.approx(clawback, abs=CENT)
    # Deducted at line 23500: net and taxable income are after the repayment.
    assert r.net_income == pytest.approx(other_income + 9_000 - clawback, abs=CENT)
    assert r.taxable_income == pytest.approx(r.net_income, abs=CENT)


def test_oas_repayment_lowers_the_income_the_age_amount_is_measured_on(on26):
    r = tax(on26, age=70, ordinary_income=91_000, social_security=9_000)
    repayment = 0.15 * (100_000 - 95_323)
    net = 100_000 - repayment
    expected = max(0.0, 9_208 - 0.15 * (net - 46_432)) * 0.14
    assert r.credit_details["age_amount"] == pytest.approx(expected, abs=CENT)


def test_retiree_with_every_mechanism_line_by_line(on26):
    """A 72-year-old: RRIF 60,000 (eligible pension income), CPP 12,000, interest 3,000,
    OAS 8,900, eligible dividends 5,000, capital gains 10,000; T1, Schedule 1 and ON428."""
    r = tax(
        on26,
        age=72,
        ordinary_income=75_000,
        pension_income=60_000,
        social_security=8_900,
        qualified_dividends=5_000,
        ltcg=10_000,
    )
    # Line 15000: 75,000 + OAS 8,900 + 5,000 x 1.38 + 10,000 / 2 = 95,800 (= line 23400).
    assert r.agi == pytest.approx(95_800)
    # Line 23500: OAS repayment 15% x (95,800 - 95,323) = 71.55; line 23600 = 95,728.45.
    assert r.clawbacks["oas_recovery_tax"] == pytest.approx(71.55, abs=CENT)
    assert r.taxable_income == pytest.approx(95_728.45, abs=CENT)
    # Federal: 8,193.22 + 20.5% x 37,205.45 = 15,820.34; credits at 14% on 16,452 (BPA,
    # net income under 181,440) + age 9,208 - 15% x 49,296.45 = 1,813.53 + pension 2,000;
    # dividend tax credit 6,900 x 15.0198%; plus the OAS recovery tax (line 42200).
    fed = 15_820.33725 - 0.14 * (16_452 + 1_813.5325 + 2_000) - 6_900 * 0.150198 + 71.55
    assert federal(r) == pytest.approx(fed, abs=CENT)
    assert federal(r) == pytest.approx(12_018.35, abs=0.01)
    # Ontario: 2,721.4955 + 9.15% x 41,837.45 = 6,549.62; credits at 5.05% on 12,989 + age 0
    # (6,341 - 15% x 48,518.45 < 0) + pension 1,795 -> 5,803.03, under the 5,818 surtax
    # threshold; dividend tax credit 690; health premium 750 (72,600 to 200,000).
    on = ontario(r)
    assert on["credit:age_amount"] == 0
    assert on["surtax"] == 0
    assert on["total"] == pytest.approx(6_549.622175 - 0.0505 * 14_784 - 690 + 750, abs=CENT)
    assert r.total_tax == pytest.approx(17_881.38, abs=0.01)


# --- Ontario surtax and health premium -------------------------------------------------


def _income_with_ontario_tax(after_credits: float) -> float:
    """Taxable income (no age) at which Ontario tax after the basic personal credit is
    `after_credits`, by inverting the brackets (second or third band)."""
    target = after_credits + ONTARIO_BPA_CREDIT
    second_top = ontario_tax_on(107_785)
    if target <= second_top:
        return 53_891 + (target - ontario_tax_on(53_891)) / 0.0915
    return 107_785 + (target - second_top) / 0.1116


def test_ontario_surtax_thresholds(on26):
    first = _income_with_ontario_tax(5_818)  # about 94,901
    second = _income_with_ontario_tax(7_446)  # about 111,810
    assert ontario(tax(on26, ordinary_income=first))["surtax"] == pytest.approx(0, abs=CENT)
    # 1,000 more income in the 9.15% band: 91.50 more Ontario tax, 20% of it as surtax.
    r = tax(on26, ordinary_income=first + 1_000)
    assert ontario(r)["surtax"] == pytest.approx(0.20 * 91.5, abs=CENT)
    at_second = ontario(tax(on26, ordinary_income=second))["surtax"]
    assert at_second == pytest.approx(0.20 * (7_446 - 5_818), abs=CENT)
    # 1,000 more in the 11.16% band: 111.60 over the second threshold.
    r = tax(on26, ordinary_income=second + 1_000)
    expected = 0.20 * (7_446 + 111.6 - 5_818) + 0.36 * 111.6
    assert ontario(r)["surtax"] == pytest.approx(expected, abs=CENT)


def test_ontario_surtax_is_on_tax_before_the_dividend_tax_credit(on26):
    # ON428 Part C (2023 layout, lines 62-71): the surtax is figured on Ontario tax after
    # non-refundable credits (line 65); the dividend tax credit comes off after the surtax
    # is added (lines 69-71).
    r = tax(on26, ordinary_income=100_000, qualified_dividends=10_000)
    after_credits = ontario_tax_on(113_800) - ONTARIO_BPA_CREDIT
    surtax = 0.20 * (after_credits - 5_818) + 0.36 * (after_credits - 7_446)
    on = ontario(r)
    assert on["surtax"] == pytest.approx(surtax, abs=CENT)
    assert on["total"] == pytest.approx(after_credits + surtax - 1_380 + 750, abs=CENT)


@pytest.mark.parametrize(
    ("taxable_income", "premium"),
    [
        (20_000, 0),
        (22_000, 120),  # 6% x 2,000
        (25_000, 300),
        (36_000, 300),
        (37_000, 360),  # 300 + 6% x 1,000
        (38_500, 450),
        (48_000, 450),
        (48_400, 550),  # 450 + 25% x 400
        (48_600, 600),
        (72_000, 600),
        (72_600, 750),
        (200_000, 750),
        (200_600, 900),
        (500_000, 900),
    ],
)
def test_ontario_health_premium_steps(on26, taxable_income, premium):
    r = tax(on26, ordinary_income=taxable_income)
    assert ontario(r)["premium:ontario_health_premium"] == pytest.approx(premium, abs=CENT)


# --- indexing, registered accounts -----------------------------------------------------


def test_indexing_grows_indexed_tables_and_keeps_fixed_ones(on26):
    later = on26.for_year(2027, 0.02)
    assert later.ordinary.brackets["single"].thresholds[1] == pytest.approx(58_523 * 1.02)
    level = later.levels[0]
    thresholds = level.ordinary.brackets["single"].thresholds
    assert thresholds[1:3] == pytest.approx([53_891 * 1.02, 107_785 * 1.02])
    assert thresholds[3:] == [150_000, 220_000]  # fixed by Taxation Act 2007 s.8(1)
    assert level.surtaxes_on_tax[0].thresholds == pytest.approx([5_818 * 1.02, 7_446 * 1.02])
    assert level.premiums[0].steps[0].start == 20_000  # not indexed
    age = next(c for c in later.credits if c.name == "age_amount")
    assert age.amount["single"] == pytest.approx(9_208 * 1.02)
    assert age.phaseout is not None and age.phaseout.start["single"] == pytest.approx(46_432 * 1.02)
    pension = next(c for c in later.credits if c.name == "pension_income_amount")
    assert pension.amount["single"] == 2_000  # s.118(3) is not indexed
    assert later.benefit_clawbacks[0].threshold["single"] == pytest.approx(95_323 * 1.02)


def test_far_years_keep_the_partly_indexed_brackets_ascending(on26):
    far = on26.for_year(2070, 0.05)  # the indexed 107,785 overtakes the fixed 220,000
    thresholds = far.levels[0].ordinary.brackets["single"].thresholds
    assert all(b > a for a, b in zip(thresholds, thresholds[1:], strict=False))
    assert tax(far, ordinary_income=1_000_000).total_tax > 0


@pytest.mark.parametrize(
    ("age_at_year_end", "fraction"),
    [(71, 0.0), (72, 0.0528), (73, 0.0540), (90, 0.1099), (96, 0.2000), (105, 0.2000)],
)
def test_rrif_minimum_by_age_on_january_1(on26, age_at_year_end, fraction):
    # The RRSP becomes a RRIF in the year its owner turns 71; the minimum starts the next
    # year, at the factor for the age on January 1 (one less than at the year's end).
    born = 2026 - age_at_year_end
    amount = on26.rmd_amount("rrsp", age_at_year_end, born, 100_000)
    assert amount == pytest.approx(100_000 * fraction)
    assert on26.rmd_amount("tfsa", age_at_year_end, born, 100_000) == 0


def test_rrsp_limit_is_18_percent_of_earned_income_up_to_the_dollar_limit(on26):
    rrsp = on26.limits_by_name["rrsp"]
    assert rrsp.for_earned_income(45, 100_000) == pytest.approx(18_000)
    assert rrsp.for_earned_income(45, 250_000) == 33_810
    assert on26.limits_by_name["tfsa"].for_age(45) == 7_000


def test_arrays_give_the_same_figures_as_floats(on26):
    incomes = np.array([20_000.0, 60_000.0, 120_000.0, 300_000.0])
    out = compute_tax_arrays(
        on26,
        "single",
        (70,),
        ordinary_income=incomes,
        social_security=9_000.0,
        qualified_dividends=2_000.0,
        pension_income=5_000.0,
    )
    for i, income in enumerate(incomes):
        one = tax(
            on26,
            70,
            ordinary_income=float(income),
            social_security=9_000,
            qualified_dividends=2_000,
            pension_income=5_000,
        )
        assert out.total_tax[i] == pytest.approx(one.total_tax, abs=1e-6)
        assert out.levels["ontario"]["total"][i] == pytest.approx(one.levels_tax, abs=1e-6)


# --- the command line and validation -----------------------------------------------------


def employee_at_50000(capsys, rules: str) -> tuple[int, str]:
    """`taxopt tax` for a 40-year-old employee earning 50,000: exit code and output."""
    argv = ["tax", "--rules", rules, "--filing-status", "single", "--age", "40"]
    code = main([*argv, "--ordinary-income", "50000"])
    return code, capsys.readouterr().out


def test_tax_command_prints_federal_and_ontario_parts(capsys):
    code, out = employee_at_50000(capsys, "ca-on-2026")
    assert code == 0
    assert "Federal tax" in out and "4,696.72" in out  # 7,000 - 2,303.28
    assert "Ontario tax" in out and "2,469.06" in out  # 2,525 - 655.94 + 600
    assert "Ontario: premiums" in out
    assert "(amounts in C$, CAD)" in out.splitlines()[0]


def test_validate_names_the_field_of_a_bad_ontario_table(capsys, tmp_path):
    text = (RULES_DIR / "ca-on-2026.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("thresholds = [5818, 7446]", "thresholds = [7446, 5818]"))
    code = main(["rules", "validate", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "surtaxes_on_tax" in err and "strictly increase" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("rate = 0.15\nmeasure", "rate = 0.15\nend = { single = 90000 }\nmeasure", "either rate"),
        ("{ start = 36000, rate = 0.06", "{ start = 10000, rate = 0.06", "strictly increase"),
        ("rate = 0.10\n", "rate = 10\n", "less than or equal to 1"),
        ("rates = [0.20, 0.36]", "rates = [0.20, nan]", "finite"),
    ],
)
def test_validate_refuses_tables_that_cannot_be_law(capsys, tmp_path, old, new, words):
    text = (RULES_DIR / "ca-on-2026.toml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    code = main(["rules", "validate", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "Traceback" not in err
    assert words in err


# --- properties --------------------------------------------------------------------------

CA_ON = load_rules("ca-on-2026")
MONOTONE_KINDS = ("ordinary_income", "ltcg", "social_security")


@st.composite
def households(draw: st.DrawFn) -> tuple[RuleSet, TaxInput]:
    rules = CA_ON.for_year(draw(st.sampled_from([2026, 2030, 2045])), 0.025)
    ordinary = float(draw(st.integers(0, 400_000)))
    income = TaxInput(
        filing_status="single",
        ages=(draw(st.integers(18, 100)),),
        ordinary_income=ordinary,
        pension_income=float(draw(st.integers(0, int(ordinary)))),
        qualified_dividends=float(draw(st.integers(0, 100_000))),
        ltcg=float(draw(st.integers(0, 200_000))),
        social_security=float(draw(st.integers(0, 12_000))),
    )
    return rules, income


@settings(max_examples=150, deadline=None)
@given(households(), st.sampled_from(MONOTONE_KINDS), st.integers(1, 50_000))
def test_tax_is_never_negative_and_rises_with_income(case, kind, more):
    rules, income = case
    r = compute_tax(rules, income)
    assert r.total_tax >= 0
    assert all(level["total"] >= 0 for level in r.levels.values())
    assert r.total_tax - r.levels_tax >= -1e-6
    # More ordinary income, gains or OAS never lowers the tax: every rate, clawback and
    # phase-out adds tax as income rises. (Not so for eligible dividends: at low incomes
    # their credit exceeds the tax on their gross-up, a negative marginal rate in law.)
    values = {**income.__dict__, kind: getattr(income, kind) + more}
    bumped = compute_tax(rules, TaxInput(**values))
    assert bumped.total_tax >= r.total_tax - 1e-6


def test_optimize_refuses_a_level_it_cannot_model_in_one_line(capsys, tmp_path):
    """The optimizer plans Canadian rule sets (tests/test_canada_plans.py); a level whose
    rates fall with income cannot fill its brackets in order, so it is refused."""
    rules = (RULES_DIR / "ca-on-2026.toml").read_text()
    falling = rules.replace(
        "rates      = [0.0505, 0.0915, 0.1116, 0.1216, 0.1316]",
        "rates      = [0.0505, 0.0915, 0.1116, 0.1216, 0.1016]",
    ).replace('name = "ca-on-2026"', 'name = "ca-on-falling"')
    assert falling != rules
    rules_path = tmp_path / "ca-on-falling.toml"
    rules_path.write_text(falling)
    code = main(["optimize", str(EXAMPLES / "ontario-retiree.toml"), "--rules", str(rules_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "levels[ontario].ordinary.brackets.single: rates that fall" in err
    assert "`taxopt tax`" in err and len(err.strip().splitlines()) == 1


@settings(max_examples=60, deadline=None)
@given(households())
def test_arrays_and_floats_agree_on_random_households(case):
    rules, income = case
    one = compute_tax(rules, income)
    out = compute_tax_arrays(
        rules,
        income.filing_status,
        income.ages,
        ordinary_income=np.array([income.ordinary_income]),
        pension_income=income.pension_income,
        qualified_dividends=income.qualified_dividends,
        ltcg=income.ltcg,
        social_security=income.social_security,
    )
    assert out.total_tax[0] == pytest.approx(one.total_tax, abs=1e-6)
    assert out.clawbacks["oas_recovery_tax"][0] == pytest.approx(one.clawbacks["oas_recovery_tax"])
    for name, parts in one.levels.items():
        for key, value in parts.items():
            assert out.levels[name][key][0] == pytest.approx(value, abs=1e-6)


def test_federal_rule_set_alone_has_no_provincial_part(capsys):
    rules = load_rules("ca-federal-2026")
    r = tax(rules, ordinary_income=50_000)
    assert r.levels == {}
    assert r.total_tax == pytest.approx(50_000 * 0.14 - FEDERAL_BPA_CREDIT, abs=CENT)
    code, out = employee_at_50000(capsys, "ca-federal-2026")
    assert code == 0 and "Ontario" not in out and "4,696.72" in out


@pytest.mark.parametrize(("year", "limit"), [(2026, 7_000), (2027, 7_000), (2030, 7_500)])
def test_tfsa_limit_grows_in_steps_of_500(on26, year, limit):
    # ITA s.207.01(1): the indexed $5,000 is rounded to a multiple of $500 (here, down):
    # at 2.5% a year 7,000 grows to 7,175 in 2027 (still 7,000), 7,727 in 2030 (7,500).
    assert on26.for_year(year, 0.025).limits_by_name["tfsa"].annual == limit

"""Social Security claiming age: the SSA factors (rule data) checked against SSA's own
published figures, the flows a claim makes, and the optimizer's choice of the age.

Factors, by hand from the law (42 USC §402(q), (w), §416(l)) as SSA states it: SSA
Handbook §724 (5/9 of 1% for each of the first 36 months before full retirement age, 5/12
of 1% for each month beyond), SSA fact sheet "Delayed Retirement Credits" (2/3 of 1% a
month for people born 1943 or later; 5/8 of 1% for 1941-42; none past 70) and SSA's table
"a $1,000 benefit at full retirement age at 62 / at 70" by year of birth ($700 / $1,240
for 1960 and later; $708 / $1,253 for 1959; $741 / $1,307 for 1955; $750 / $1,320 for
1943-54).
"""

from __future__ import annotations

import json

import pytest

from taxopt.cashflows import plan_flows
from taxopt.optimize import optimize
from taxopt.plan import plan_from_dict
from taxopt.rules import load_rules

RULES = load_rules("us-federal-2026")
SS = RULES.social_security


@pytest.mark.parametrize(
    ("birth_year", "claim_age", "factor"),
    [
        # Full retirement age 67 (born 1960 or later): 60 months early at 62 =
        # 36 x 5/9% + 24 x 5/12% = 20% + 10% = 30% less.
        (1964, 62, 0.70),
        (1964, 63, 0.75),  # 48 months: 20% + 5%
        (1964, 64, 0.80),  # 36 months: 20%
        (1964, 65, 1 - 24 * 5 / 900),  # 13 1/3% less
        (1964, 66, 1 - 12 * 5 / 900),  # 6 2/3% less
        (1964, 67, 1.00),
        (1964, 68, 1.08),  # 12 months x 2/3%
        (1964, 69, 1.16),
        (1964, 70, 1.24),  # 36 months x 2/3%: SSA's $1,240
        # Born 1959, full retirement age 66 and 10 months: 58 months early at 62
        # (36 x 5/9% + 22 x 5/12% = 29.17%: SSA's $708); 38 months of credit at 70
        # (25.33%: SSA's $1,253).
        (1959, 62, 1 - 36 * 5 / 900 - 22 * 5 / 1200),
        (1959, 70, 1 + 38 * 2 / 300),
        (1959, 67, 1 + 2 * 2 / 300),  # two months past full retirement age
        # Born 1955, 66 and 2 months: 50 months early ($741), 46 months of credit ($1,307).
        (1955, 62, 1 - 36 * 5 / 900 - 14 * 5 / 1200),
        (1955, 70, 1 + 46 * 2 / 300),
        # Born 1943-54, 66: 75% at 62 ($750), 132% at 70 ($1,320).
        (1950, 62, 0.75),
        (1950, 70, 1.32),
        # Born 1941, 65 and 8 months, credits 5/8% a month: 52 months to 70 = 32.5%.
        (1941, 70, 1 + 52 * 0.00625),
    ],
)
def test_benefit_factor_matches_ssa(birth_year, claim_age, factor):
    assert SS.benefit_factor(birth_year, claim_age) == pytest.approx(factor, abs=1e-12)


@pytest.mark.parametrize(
    ("birth_year", "at_62", "at_70"),
    [(1960, 700, 1240), (1959, 708, 1253), (1955, 741, 1307), (1950, 750, 1320)],
)
def test_ssa_table_of_a_1000_benefit(birth_year, at_62, at_70):
    """SSA's table, whole dollars of a $1,000 benefit at full retirement age (SSA rounds
    the reduced amounts down and the increased ones to the nearest dollar)."""
    assert 1000 * SS.benefit_factor(birth_year, 62) == pytest.approx(at_62, abs=1.0)
    assert 1000 * SS.benefit_factor(birth_year, 70) == pytest.approx(at_70, abs=1.0)


def test_full_retirement_age_by_birth_year():
    months = {1937: 65 * 12, 1940: 65 * 12 + 6, 1954: 66 * 12, 1957: 66 * 12 + 6, 1960: 67 * 12}
    for born, expected in months.items():
        assert SS.full_retirement_age_months(born) == expected
    assert list(SS.claim_ages()) == list(range(62, 71))
    with pytest.raises(ValueError, match="outside 62 to 70"):
        SS.benefit_factor(1964, 61)


def single(horizon_age: int, **stream) -> dict:
    """Sam, 62 in 2026 and retired, $600,000 in a traditional IRA of bonds earning 3% a
    year (inflation 2.5%: 0.49% real), no other income; Social Security of $30,000 a year
    at full retirement age (67)."""
    return {
        "name": "Sam",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": horizon_age,
        "inflation": 0.025,
        "people": [{"name": "Sam", "birth_year": 1964}],
        "tiers": [{"name": "bonds", "expected_return": 0.03}],
        "profile": {"weights": {"bonds": 1.0}},
        "accounts": [
            {
                "name": "sam_ira",
                "kind": "traditional_ira",
                "owner": "Sam",
                "balances": {"bonds": 600_000},
            }
        ],
        "income": [{"name": "Sam SS", "kind": "social_security", "owner": "Sam", **stream}],
    }


def test_a_pinned_claim_pays_the_factor_from_its_year():
    """Claimed at 62 (2026): 0.70 x $30,000 = $21,000 of today's dollars, raised with
    inflation; the same benefit given as claimed (annual, start_age) makes the same flows,
    so the old form of a plan is a pinned claim."""
    by_age = plan_from_dict(single(95, pia_annual=30_000, claim_age=62))
    as_claimed = plan_from_dict(single(95, annual=21_000, start_age=62))
    a, b = plan_flows(by_age, RULES), plan_flows(as_claimed, RULES)
    assert a.social_security == pytest.approx(b.social_security, abs=1e-6)
    assert a.social_security[2026] == pytest.approx(21_000)
    at_70 = plan_flows(plan_from_dict(single(95, pia_annual=30_000, claim_age=70)), RULES)
    assert at_70.social_security[2033] == 0.0
    assert at_70.social_security[2034] == pytest.approx(37_200 * 1.025**8)


def test_delaying_to_70_pays_on_a_long_horizon():
    """Horizon 95: benefits from 62 to 95, 34 years. Spending is one constant real amount,
    so what a claiming age is worth is the present value of its benefits at the money's
    real return, 1.03 / 1.025 - 1 = 0.49% a year (taxes aside: with no other income most
    of the benefit is untaxed either way). In PIA-years, f(a) x sum over t = a-62 .. 33 of
    1.004878^-t: 62: 0.70 x 31.4 = 21.99; 67: 1.00 x 26.46; 70: 1.24 x 23.55 = 29.20,
    rising with every year of delay (each year adds 5-8% of the PIA for life, and the
    portfolio bridges the years before at almost no real cost). So 70, by some
    (29.20 - 28.44) x $30,000 / 34 years ~ $670 a year of spending over 69."""
    result = optimize(
        plan_from_dict(single(95, claim_age="optimize", pia_annual=30_000)), RULES, paths=0
    )
    claim = result.social_security.iloc[0]
    assert (claim.claim_age, claim.claim_year, claim.chosen_by) == (70, 2034, "optimizer")
    assert claim.first_year_benefit_real == pytest.approx(37_200)
    table = result.claiming
    assert sorted(table["Sam"]) == list(range(62, 71))
    assert table.loc[table["chosen"], "Sam"].item() == 70
    confirmed = table.dropna(subset=["objective_confirmed"]).set_index("Sam")
    assert list(confirmed.index) == [69, 70]  # climbed from the screen's best, 70
    assert confirmed.at[70, "objective_confirmed"] > confirmed.at[69, "objective_confirmed"]
    assert result.reconciliation_max_abs_error < 1.0  # the ledger replays the chosen claim
    assert result.yearly.set_index("year").at[2033, "social_security"] == 0.0
    assert any(n.startswith("claiming: Sam claims Social Security at 70") for n in result.notes)


def test_claiming_early_pays_when_the_plan_ends_early(tmp_path):
    """Horizon 72: benefits only to 2036. In PIA-years (as above, t = a-62 .. 10):
    62: 0.70 x 10.74 = 7.52; 63: 7.30; 64: 6.99; 67: 5.79; 70: 1.24 x 2.87 = 3.56:
    every year of delay loses a year of payments that the larger benefit cannot repay in
    the few years left. So 62, by some (7.52 - 7.30) x $30,000 / 11 years ~ $600 a year
    of spending over 63. The JSON says so."""
    result = optimize(plan_from_dict(single(72, pia_annual=30_000)), RULES, paths=0)
    claim = result.social_security.iloc[0]
    assert (claim.claim_age, claim.claim_year) == (62, 2026)
    assert claim.first_year_benefit_real == pytest.approx(21_000)
    confirmed = result.claiming.dropna(subset=["objective_confirmed"]).set_index("Sam")
    assert list(confirmed.index) == [62, 63]
    assert confirmed.at[62, "objective_confirmed"] > confirmed.at[63, "objective_confirmed"]
    assert result.reconciliation_max_abs_error < 1.0
    data = json.loads(json.dumps(result.to_dict()))
    assert data["social_security"][0]["claim_age"] == 62
    assert data["social_security"][0]["chosen_by"] == "optimizer"
    assert len(data["claiming"]) == 9 and data["claiming_seconds"] >= 0


def test_a_couple_is_searched_person_by_person():
    """Alex and Blake, both 62, long horizon, fast mode: each person's age is screened
    with the other's fixed, again while one changes; with low income and a long horizon
    both delay to 70 (the argument of the single case, twice)."""
    data = single(95, pia_annual=30_000)
    data["filing_status"] = "mfj"
    data["people"] = [{"name": "Alex", "birth_year": 1964}, {"name": "Blake", "birth_year": 1964}]
    data["accounts"][0] |= {"owner": "Alex", "balances": {"bonds": 1_200_000}}
    data["income"] = [
        {"name": "Alex SS", "kind": "social_security", "owner": "Alex", "pia_annual": 30_000},
        {"name": "Blake SS", "kind": "social_security", "owner": "Blake", "pia_annual": 20_000},
    ]
    result = optimize(plan_from_dict(data), RULES, mode="fast", with_baselines=False, paths=0)
    ages = dict(
        zip(result.social_security["person"], result.social_security["claim_age"], strict=True)
    )
    assert ages == {"Alex": 70, "Blake": 70}
    assert set(result.claiming.columns) >= {"Alex", "Blake", "objective_screen", "chosen"}
    assert len(result.claiming) >= 17  # 9 ages each, sharing one assignment
    # (fast mode's model approximates the kinks: the exact cases above check model == ledger)


@pytest.mark.parametrize(
    ("birth_year", "age", "share_of_other_pia"),
    # SSA "Benefits for Spouses": at full retirement age 67 a spouse's benefit is 32.5% of
    # the other's PIA at 62, 35% at 63, 37.5% at 64, 41.7% at 65, 45.8% at 66, 50% from 67
    # (25/36 of 1% a month for 36 months, 5/12 of 1% beyond; no delayed credit); at full
    # retirement age 66 (born 1943-54), 35% at 62.
    [
        (1964, 62, 0.325),
        (1964, 63, 0.35),
        (1964, 64, 0.375),
        (1964, 65, 0.5 * (1 - 24 * 25 / 3600)),
        (1964, 66, 0.5 * (1 - 12 * 25 / 3600)),
        (1964, 67, 0.5),
        (1964, 70, 0.5),
        (1950, 62, 0.35),
    ],
)
def test_spousal_factor_matches_ssa(birth_year, age, share_of_other_pia):
    share = SS.spousal_fraction * SS.spousal_factor(birth_year, age)
    assert share == pytest.approx(share_of_other_pia, abs=1e-12)


def couple(alex_age, blake_age) -> dict:
    """Alex and Blake, both born 1964 (62 in 2026), married filing jointly; PIAs $36,000
    and $12,000 a year: half of Alex's is $18,000, $6,000 above Blake's own."""
    data = single(95)
    data["filing_status"] = "mfj"
    data["people"] = [{"name": "Alex", "birth_year": 1964}, {"name": "Blake", "birth_year": 1964}]
    data["accounts"][0]["owner"] = "Alex"
    data["income"] = [
        {"name": "Alex SS", "kind": "social_security", "owner": "Alex", "pia_annual": 36_000,
         "claim_age": alex_age},
        {"name": "Blake SS", "kind": "social_security", "owner": "Blake",
         "pia_annual": 12_000, "claim_age": blake_age},
    ]
    return data


def test_a_spouse_adds_the_excess_of_half_the_other_pia_once_both_have_claimed():
    """Blake claims at 62 (2026): own 0.70 x $12,000 = $8,400. Alex claims at 67 (2031):
    $36,000, and Blake's spousal top-up starts then, at Blake's full retirement age:
    0.5 x $36,000 - $12,000 = $6,000 (no reduction). 2031 on: $50,400 a year (today's $).
    With Alex at 62 too, the top-up starts in 2026 at Blake's 62: $6,000 x 0.65 = $3,900."""
    flows = plan_flows(plan_from_dict(couple(67, 62)), RULES).social_security
    real = {y: flows[y] / 1.025 ** (y - 2026) for y in flows}
    assert real[2026] == pytest.approx(8_400)
    assert real[2030] == pytest.approx(8_400)
    assert real[2031] == pytest.approx(36_000 + 8_400 + 6_000)
    early = plan_flows(plan_from_dict(couple(62, 62)), RULES).social_security
    assert early[2026] == pytest.approx(0.70 * 36_000 + 8_400 + 3_900)
    # The higher earner gets no top-up (half of $12,000 is below $36,000); a single filer
    # none at all.
    single_filer = plan_from_dict({**couple(67, 62), "filing_status": "single"})
    assert plan_flows(single_filer, RULES).social_security[2031] == pytest.approx(
        (36_000 + 8_400) * 1.025**5
    )


def test_the_ledger_replays_a_spousal_top_up_exactly():
    """The pinned claims above through the exact optimizer: the ledger's Social Security is
    the hand-worked $50,400 a year from 2031, and model and ledger agree."""
    result = optimize(plan_from_dict(couple(67, 62)), RULES, with_baselines=False, paths=0)
    yearly = result.yearly.set_index("year")
    assert yearly.at[2031, "social_security"] == pytest.approx(50_400 * 1.025**5)
    assert result.reconciliation_max_abs_error < 1.0
    blake = result.social_security.set_index("person").loc["Blake"]
    assert (blake.spousal_from, blake.spousal_benefit_real) == (2031, pytest.approx(6_000))
    assert result.claiming.empty and set(result.social_security["chosen_by"]) == {"plan"}

"""Income tax inside the model, from the same rule objects as the pure calculator.

Per year: ordinary income; taxable Social Security (piecewise in provisional income);
deductions with the senior phase-out; ordinary brackets as bracket-filling variables;
preferential income stacked on top; NIIT; early-withdrawal penalty.

Several preferential schedules (UK dividends then gains), nil-rate allowances and schedules
that take no left-over deductions are stacked by taxopt.model.stacking (`needs_layers`);
a rule set with one plain schedule (US) keeps the form below. Phase-outs are measured on
the income their rule names (`measure`: MAGI, or income without gains for the UK taper).

Convex parts are exact in a linear program. The non-convex parts (concave kinks) use a few
binaries per year in exact mode; fast mode replaces them with an LP approximation and the
ledger reports the error:
- stacking of preferential income on ordinary income: exact uses one binary per
  preferential threshold that forces the ordinary brackets to fill in order; fast lets the
  LP place ordinary income above a threshold early (under-states tax);
- deductions that exceed ordinary income: exact uses one binary; fast may under-state tax;
- taxable Social Security: exact uses two binaries; fast assumes the maximum taxable share
  (over-states tax for low incomes);
- senior-deduction phase-out: exact uses one binary; fast lets the phase-out run past zero
  (over-states tax above the phase-out range);
- NIIT: exact uses one binary for the lesser-of; fast taxes the whole MAGI excess
  (over-states tax when investment income is the lesser).

A row "if z = 1 then e <= 0" (`ModelContext.implies`) is written e - M (1 - z) <= 0 with
M = `money_bound` (under a fixed regime z is a constant: the row is e <= 0 or absent).

Symbols (nominal dollars of year t; the year index is left out below): N = ordinary income
before deductions (`ordinary_income_terms`), Q = qualified dividends, G = `gain`, R[l] the
gain per unit of each sale, X = `included_gain` (or rho G, rho the inclusion rate), B the
Social Security benefits, A = N + Q + X (`other_income`), MAGI = A + taxable benefits,
D = deductions, U = `unused_deduction`, W = `deduction_beyond_income`, O = ordinary
taxable income (`ordinary_taxable`), o[i] = `ordinary_segment` (bracket i of the cut points
of both schedules), f[j] = `preferential_band`, r[i] = `regular_segment`, y = `income_tax`,
T = `tax`, z = the kink's binary.

Rows (constraint families), each per year:
- gain:                  G - sum_l R[l] q[l] = 0            (no sale can realize a loss)
- gain_floor:            G - sum_l R[l] q[l] >= 0          (else; G >= 0 by its bound)
- gain_is_realized, gain_is_zero (exact): z=1 => G <= sum R q; z=0 => G <= 0
  (gains = max(0, net gain): Schedule D line 16, no carry-forward as in the calculator);
- included_gain:         X - rho G >= -rho E               (annual exemption E; US: none);
- provisional, ss_order0, ss_order1a, ss_order1b, ss_order1c, ss_order2a, ss_order2b,
  ss_order2c, ss_chain: taxable Social Security (IRC §86, Pub. 915 Worksheet 1); see
  `_add_taxable_benefits`;
- phaseout_a, phaseout_b, phaseout_c (per deduction): the deduction's phase-out; see
  `_add_deductions`;
- preferential_nonneg:   Q + X - U + W >= 0;
- unused_only_if_needed, unused_ordinary_zero (exact): z=0 => U <= 0; z=1 => O <= 0
  (deductions fall on ordinary income first: Qualified Dividends and Capital Gain Tax
  Worksheet lines 2-5);
- ordinary_fill:         sum_i o[i] - O = 0,  0 <= o[i] <= width of bracket i (IRC §1(j));
- preferential_fill, stack, stack_order_a, stack_order_b: preferential income stacked on
  top of ordinary income (IRC §1(h)(1)); see `_add_stacking`;
- regular_fill, income_tax_stacked, income_tax_regular, ordinary_cap_a, ordinary_cap_b:
  the lesser of the stacked tax and the regular tax (IRC §1(h)(1)); see `_add_ordinary_cap`;
- surtax_excess, surtax_on_excess, surtax_on_nii, surtax_nii_lesser_a,
  surtax_nii_lesser_b (per surtax): NIIT, IRC §1411; see `_add_niit`;
- credit_cap:            credit - ordinary tax - preferential tax <= 0 (nonrefundable);
- credit_value:          credit - the credits' values <= 0 (shaped credits, income
  credits: taxopt.model.layered, which also adds the clawbacks' and levels' rows);
- tax_total:             T - (income tax + surtaxes + p sum early w - credit + state tax)
  = 0, with p the early-withdrawal rate (IRC §72(t), RuleSet.withdrawal_is_early) and the
  state tax of taxopt.model.state_taxes (0 without a state).
"""

from __future__ import annotations

import math

from taxopt.model.context import ModelContext, lin
from taxopt.model.contributions import deductible_contributions
from taxopt.model.holdings import GAIN_NOISE, realized_gains, yield_income
from taxopt.model.layered import (
    add_clawbacks,
    add_levels,
    credit_ceiling,
    declare_layered,
    dividend_factor,
    needs_layered,
    pension_income_terms,
)
from taxopt.model.stacking import (
    add_layers,
    add_offsets,
    declare_layers,
    declare_stacking_families,
    declare_stacking_rows,
    needs_layers,
    offsetting_schedule,
    preferential_amounts,
)
from taxopt.model.tax_free import taxed_withdrawal_terms
from taxopt.model.withdrawals import early_withdrawals
from taxopt.rules import RuleSet
from taxopt.tax import deduction_amount
from taxopt.tax import schedule_tax as _schedule_tax

# The ordinary-cap regime binds when the ledger's income tax equals the regular tax within
# this many dollars (rounding of the two schedules' arithmetic).
CAP_TIE_DOLLARS = 1e-6
# Pieces of provisional income (Pub. 915 Worksheet 1): below base 1, the first-tier band
# while it taxes, the rest of that band, above base 2 until the cap, beyond the cap.
BELOW_BASE1, FIRST_TIER, FIRST_TIER_CAPPED, SECOND_TIER, BEYOND_CAP = range(5)
SURTAX_DIMS = ("surtax", "year")  # surtax rows are named {surtax}_{year}_..., as before


def declare_taxes(ctx: ModelContext) -> None:
    """Variable families of the tax rows (see the module docstring) and the shared
    expression families (other_income, magi, taxable_ss, deduction, ordinary_taxable,
    ordinary_tax, preferential_tax, regular_tax, niit, nii)."""
    for name in ("tax", "gain", "included_gain", "unused_deduction", "deduction_beyond_income"):
        ctx.declare(name, ("year",))
    ctx.declare("income_tax", ("year",))
    ctx.declare("credit", ("year",))
    ctx.declare("ordinary_segment", ("year", "segment"), "ordinary_{year}_{segment}")
    ctx.declare("preferential_band", ("year", "band"), "preferential_{year}_{band}")
    ctx.declare("regular_segment", ("year", "segment"), "regular_{year}_{segment}")
    ctx.declare("provisional_piece", ("year", "piece"), "provisional_{year}_{piece}")
    ctx.declare("phaseout", ("year", "deduction"))
    ctx.declare("surtax_excess", ("surtax", "year"), "{surtax}_excess_{year}")
    ctx.declare("surtax", ("surtax", "year"), "{surtax}_{year}")
    declare_stacking_families(ctx)
    declare_layered(ctx)
    for name in (
        "other_income",
        "magi",
        "taxable_ss",
        "deduction",
        "ordinary_taxable",
        "ordinary_tax",
        "preferential_tax",
        "regular_tax",
        "niit",
        "nii",
    ):
        ctx.expressions.declare(name, ("year",))
    for year in ctx.years:
        _declare_year(ctx, year, ctx.rules_by_year[year])


def _declare_year(ctx: ModelContext, year: int, rules: RuleSet) -> None:
    """The year's tax variables; which exist depends on the rules and the mode only."""
    v = ctx.variables
    status = ctx.plan.filing_status
    v["tax"].add(year)
    v["gain"].add(year)  # bounded to 0 in add_taxes when no sale can realize a gain
    if rules.capital_gains.annual_exemption.get(status, 0.0) > 0:
        v["included_gain"].add(year)
    v["unused_deduction"].add(year)
    _declare_brackets(ctx, year, rules)
    if needs_layered(rules):  # credits bounded by rows (taxopt.model.layered)
        v["credit"].add(year, low=0.0 if ctx.exact else None)
    else:
        credits = sum(c.rate * c.amount[status] for c in rules.credits)
        if credits:
            v["credit"].add(year, high=credits)
    benefits = ctx.social_security[year]
    if ctx.exact and benefits > 0 and rules.benefit_taxation is not None:
        for i, length in enumerate(_benefit_pieces(rules, status, benefits)):
            v["provisional_piece"].add((year, i), high=length)
    ages = ctx.ages(year)
    for d in rules.deductions:
        if d.applies_in(year) and d.phaseout is not None and d.qualifying_people(ages):
            full = d.amount[status] * d.qualifying_people(ages)
            v["phaseout"].add((year, d.name), high=full if ctx.exact else None)
    for surtax in rules.surtaxes:
        v["surtax_excess"].add((surtax.name, year))
        v["surtax"].add((surtax.name, year))


def _declare_brackets(ctx: ModelContext, year: int, rules: RuleSet) -> None:
    """ordinary_segment (bounded by their widths), preferential_band and
    deduction_beyond_income with preferential rates, regular_segment and income_tax where
    the IRC §1(h)(1) cap can bind (exact mode)."""
    v = ctx.variables
    status = ctx.plan.filing_status
    cuts = _cut_points(rules, status)
    if offsetting_schedule(rules) is not None:
        v["deduction_beyond_income"].add(year)
    if needs_layers(rules):
        declare_layers(ctx, year, rules, [None if end is None else end - s for s, end in cuts])
    elif rules.preferential:
        for i in range(len(rules.preferential[0].brackets[status].rates)):
            v["preferential_band"].add((year, i))
    for i, (start, end) in enumerate(cuts):
        v["ordinary_segment"].add((year, i), high=None if end is None else end - start)
    if _cap_applies(rules) and ctx.exact and _cap_saving(rules, status) > 0:
        ordinary = rules.ordinary.brackets[status]
        for i, (start, end, _rate) in enumerate(ordinary.bands()):
            v["regular_segment"].add((year, i), high=None if math.isinf(end) else end - start)
        v["income_tax"].add(year)


def _cut_points(rules: RuleSet, status: str) -> list[tuple[float, float | None]]:
    """(start, end) of each ordinary segment: the brackets of the ordinary schedule cut
    again at every preferential schedule's thresholds (the last segment has no end)."""
    cuts = set(rules.ordinary.brackets[status].thresholds)
    for pref in rules.preferential:
        cuts |= set(pref.brackets[status].thresholds)
    cuts = sorted(cuts)
    return [(start, cuts[i + 1] if i + 1 < len(cuts) else None) for i, start in enumerate(cuts)]


def ordinary_segments(ctx: ModelContext, year: int) -> list[tuple[float, float | None, object]]:
    """(start, end, `ordinary_segment` variable) of the year's ordinary segments, bottom up
    (the last has no end)."""
    segment = ctx.variables["ordinary_segment"]
    cuts = _cut_points(ctx.rules_by_year[year], ctx.plan.filing_status)
    return [(start, end, segment[year, i]) for i, (start, end) in enumerate(cuts)]


def _benefit_pieces(rules: RuleSet, status: str, benefits: float) -> list[float | None]:
    """Lengths of the pieces of provisional income (see BELOW_BASE1..BEYOND_CAP)."""
    table = rules.benefit_taxation
    base1, base2 = table.base1[status], table.base2[status]
    first_cap = min(table.rate1 * benefits, table.rate1 * (base2 - base1))
    len1 = first_cap / table.rate1
    len2 = (base2 - base1) - len1
    len3 = (table.max_fraction * benefits - first_cap) / table.rate2
    return [base1, len1, len2, len3, None]


def _cap_applies(rules: RuleSet) -> bool:
    """The rule set caps preferential tax at ordinary rates ([preferential_cap], US)."""
    return bool(rules.preferential) and rules.preferential_cap is not None


def _cap_saving(rules: RuleSet, status: str) -> float:
    """The most the IRC §1(h)(1) cap can save: where a preferential rate exceeds the
    ordinary rate at the same position (the 15% band inside the 12% bracket), summed over
    the schedules (a bound when several stack: each position holds one of them)."""
    ordinary = rules.ordinary.brackets[status]
    saving = 0.0
    for pref in rules.preferential:
        preferential = pref.brackets[status]
        cuts = sorted(set(ordinary.thresholds) | set(preferential.thresholds))
        for start, end in zip(cuts, cuts[1:], strict=False):
            excess = preferential.rate_at(start) - ordinary.rate_at(start)
            saving += max(0.0, excess) * (end - start)
    return saving


def add_taxes(ctx: ModelContext) -> None:
    """Tax rows of every year (the rule set passed `RuleSet.check_optimizer_support`)."""
    ctx.declare_rows(
        "gain",
        "gain_floor",
        "gain_is_realized",
        "gain_is_zero",
        "included_gain",
        "provisional",
        "ss_order0",
        "ss_order1a",
        "ss_order1b",
        "ss_order1c",
        "ss_order2a",
        "ss_order2b",
        "ss_order2c",
        "ss_chain",
        "preferential_nonneg",
        "unused_only_if_needed",
        "unused_ordinary_zero",
        "ordinary_fill",
        "preferential_fill",
        "regular_fill",
        "income_tax_stacked",
        "income_tax_regular",
        "ordinary_cap_a",
        "ordinary_cap_b",
        "credit_cap",
        "tax_total",
        dims=("year",),
    )
    ctx.declare_rows("phaseout_a", "phaseout_b", "phaseout_c", dims=("year", "deduction"))
    ctx.declare_rows("stack", "stack_order_a", "stack_order_b", dims=("year", "threshold"))
    declare_stacking_rows(ctx)
    ctx.declare_rows("surtax_excess", dims=SURTAX_DIMS, name_format="{surtax}_{year}_excess")
    ctx.declare_rows("surtax_on_excess", dims=SURTAX_DIMS, name_format="{surtax}_{year}_on_excess")
    ctx.declare_rows("surtax_on_nii", dims=SURTAX_DIMS, name_format="{surtax}_{year}_on_nii")
    ctx.declare_rows(
        "surtax_nii_lesser_a", dims=SURTAX_DIMS, name_format="{surtax}_{year}_nii_lesser_a"
    )
    ctx.declare_rows(
        "surtax_nii_lesser_b", dims=SURTAX_DIMS, name_format="{surtax}_{year}_nii_lesser_b"
    )
    for year in ctx.years:
        _add_year_taxes(ctx, year, ctx.rules_by_year[year])


def ordinary_income_terms(ctx: ModelContext, year: int) -> tuple[dict, float]:
    """Ordinary income before deductions: ({variable: coef}, constant), nominal dollars."""
    terms = taxed_withdrawal_terms(ctx, year)
    for var, coef in yield_income(ctx, year, "ordinary").items():
        terms[var] = terms.get(var, 0.0) + coef
    for var in deductible_contributions(ctx, year):
        terms[var] = terms.get(var, 0.0) - 1.0
    constant = sum(ctx.earnings[year].values()) + ctx.other_income[year]
    return terms, constant


def _add_year_taxes(ctx: ModelContext, year: int, rules: RuleSet) -> None:
    """The rows of one year (symbols of the module docstring; p the early-withdrawal rate,
    C the credits, S_o = sum_i rate_i o[i] and S_p the preferential tax):

    - preferential_nonneg:    Q + X - U + W >= 0
    - unused_only_if_needed:  z=0 => U <= 0          (exact; z = "deductions exceed
    - unused_ordinary_zero:   z=1 => O <= 0           ordinary income")
    - ordinary_fill:          sum_i o[i] - O = 0, O = N + taxable benefits - D + U
    - credit_cap:             C - S_o - S_p <= 0      (credits are nonrefundable)
    - credit_value:           C - (the credits' values) <= 0, for shaped credits and
      income credits (taxopt.model.layered.credit_ceiling)
    - tax_total:              T - (y + surtaxes + p sum early w - C + Y + K + V) = 0, Y the
      state's tax (`state_tax`, taxopt.model.state_taxes) for a plan with a state, K the
      benefit clawbacks and V the further levels' tax (taxopt.model.layered)

    and, through the helpers, the gain, benefit, deduction, stacking, cap and surtax rows.
    """
    status = ctx.plan.filing_status
    ages = ctx.ages(year)
    v, e = ctx.variables, ctx.expressions
    big = ctx.money_bound(year)

    ordinary_terms, ordinary_constant = ordinary_income_terms(ctx, year)
    # Dividends as they enter income: grossed up where the rule set says (Canada).
    factor = dividend_factor(rules)
    qualified = {
        var: rate * factor for var, rate in yield_income(ctx, year, "qualified_dividends").items()
    }

    gains = _add_gains(ctx, year, big)
    included = _included_gains(ctx, year, rules, gains)

    # Other income (AGI without benefits) and taxable Social Security.
    other = _add(lin(ordinary_terms, ordinary_constant), lin(qualified), included)
    e["other_income"].set(year, other)
    taxable_ss = _add_taxable_benefits(ctx, year, rules, other, big)
    magi = other + taxable_ss
    e["magi"].set(year, magi)
    # Benefit clawbacks (taxopt.model.layered); the deductible ones leave net income.
    clawbacks, repaid = add_clawbacks(ctx, year, rules, magi)

    measures = {"magi": magi, "total_income": magi - included, "net_income": magi - repaid}
    deduction = _add_deductions(ctx, year, rules, measures, status, ages, big)

    # Taxable income splits into ordinary (brackets) and preferential (stacked on top);
    # deductions fall on ordinary income first, then on the preferential income whose
    # schedule takes them (`deductions_offset`). A kind no schedule covers is ordinary;
    # investment yields are in ordinary income unless a schedule covers them.
    kinds = {
        "qualified_dividends": lin(qualified),
        "ltcg": included,
        "investment_ordinary_income": lin(yield_income(ctx, year, "ordinary")),
    }
    unused = v["unused_deduction"][year]
    ordinary_taxable = _ordinary_part(
        rules,
        lin(ordinary_terms, ordinary_constant) + taxable_ss - deduction + unused - repaid,
        kinds,
    )
    # Each schedule's income after deductions (taxopt.model.stacking.add_offsets).
    amounts = {p.name: _add(*(kinds[k] for k in p.applies_to)) for p in rules.preferential}
    if offsetting_schedule(rules) is None:
        unused.upBound = 0
    else:
        add_offsets(ctx, year, rules, amounts, unused, big)
        if ctx.exact:
            # Deduction left over from ordinary income only when ordinary taxable income is 0.
            flag = ctx.binary(
                f"deduction_exceeds_ordinary_{year}",
                year,
                lambda i, r, rs=rules: int(
                    r.agi - sum(preferential_amounts(rs, i, r).values()) - r.total_deductions < 0
                ),
            )
            ctx.implies("unused_only_if_needed", year, flag, 0, lin({unused: 1.0}), big)
            ctx.implies("unused_ordinary_zero", year, flag, 1, ordinary_taxable, big)
    preferential_income = _add(*amounts.values()) if rules.preferential else None

    schedule = rules.ordinary.brackets[status]
    segments = ordinary_segments(ctx, year)
    ordinary_tax_terms = {seg: schedule.rate_at(start) for start, _end, seg in segments}
    ctx.constrain(
        "ordinary_fill", year, lin({s: 1.0 for _, _, s in segments}) - ordinary_taxable == 0
    )
    e["ordinary_taxable"].set(year, ordinary_taxable)
    e["taxable_income"].set(
        year,
        ordinary_taxable if preferential_income is None else ordinary_taxable + preferential_income,
    )

    preferential_tax_terms = {}
    if needs_layers(rules):
        preferential_tax_terms = add_layers(
            ctx, year, rules, segments, amounts, ordinary_taxable, big
        )
    elif rules.preferential:
        preferential_tax_terms = _add_stacking(
            ctx, year, rules.preferential[0].brackets[status], segments, preferential_income, big
        )

    if _cap_applies(rules):
        income_tax = _add_ordinary_cap(
            ctx,
            year,
            schedule,
            ordinary_taxable + preferential_income,
            lin(preferential_tax_terms) + lin(ordinary_tax_terms),
            big,
        )
    else:  # no cap: the stacked tax as it is (preferential_tax_terms is {} without any)
        income_tax = lin(preferential_tax_terms) + lin(ordinary_tax_terms)

    niit = _add_niit(ctx, year, rules, magi, lin(qualified) + included, big)

    penalty = 0.0
    if rules.early_withdrawal is not None:
        penalty = rules.early_withdrawal_penalty_rate() * lin(early_withdrawals(ctx, year))

    tax_expr = income_tax + niit + penalty + clawbacks
    pension = lin(pension_income_terms(ctx, year))
    if rules.levels:  # further levels on the same taxable income (taxopt.model.layered)
        taxable_income = e["taxable_income"][year]
        tax_expr = tax_expr + add_levels(
            ctx, year, rules, taxable_income, measures, pension, lin(qualified)
        )
    if year in v["state_tax"]:  # the state's tax (taxopt.model.state_taxes)
        tax_expr = tax_expr + v["state_tax"][year]
    if year in v["credit"]:
        credit = v["credit"][year]
        ctx.constrain(
            "credit_cap",
            year,
            credit - lin(ordinary_tax_terms) - lin(preferential_tax_terms) <= 0,
        )
        if needs_layered(rules):
            ceiling = credit_ceiling(
                ctx,
                year,
                "federal",
                rules.credits,
                rules.income_credits,
                schedule,
                measures,
                pension,
                lin(qualified),
            )
            ctx.constrain("credit_value", year, credit - ceiling <= 0)
        tax_expr = tax_expr - credit
    ctx.constrain("tax_total", year, v["tax"][year] - tax_expr == 0)
    e["ordinary_tax"].set(year, lin(ordinary_tax_terms))
    e["preferential_tax"].set(year, lin(preferential_tax_terms))
    e["niit"].set(year, niit)


def _ordinary_part(rules: RuleSet, ordinary, kinds: dict):
    """Ordinary taxable income: `ordinary` (which holds investment yields) with the kinds
    no preferential schedule covers added, and covered investment yields taken out."""
    covered = {kind for p in rules.preferential for kind in p.applies_to}
    for kind, amount in kinds.items():
        if kind == "investment_ordinary_income":
            if kind in covered:
                ordinary -= amount
        elif kind not in covered:
            ordinary += amount
    return ordinary


def _add(*exprs):
    out = lin({})
    for e in exprs:
        out += e
    return out


def _add_gains(ctx: ModelContext, year: int, big: float):
    """Rows gain, or gain_floor with gain_is_realized and gain_is_zero (module docstring).

    Realized long-term gains, not below zero (no loss carry-forward, as in the calculator).
    When no sale can realize a loss, gains equal the sales' gains exactly; otherwise the
    variable only bounds them from below (tax pressure and the objective's GAIN_TIE_BREAK
    keep it tight).
    """
    gains = ctx.variables["gain"][year]
    gain_terms = realized_gains(ctx, year)
    if not gain_terms:
        gains.upBound = 0
    elif min(gain_terms.values()) >= -GAIN_NOISE:
        ctx.constrain("gain", year, gains - lin(gain_terms) == 0)
    else:
        ctx.constrain("gain_floor", year, gains - lin(gain_terms) >= 0)
        if ctx.exact:
            # gains = max(0, realized): a kink. Without it a fixed regime could meet its
            # consistency rows with phantom gains (a tier whose price falls sells at a loss).
            positive = ctx.binary(f"gains_positive_{year}", year, lambda i, r: int(i.ltcg > 0))
            ctx.implies("gain_is_realized", year, positive, 1, gains - lin(gain_terms), big)
            ctx.implies("gain_is_zero", year, positive, 0, lin({gains: 1.0}), big)
    return gains


def _included_gains(ctx: ModelContext, year: int, rules: RuleSet, gains):
    """Row included_gain: X - rho G >= -rho E (gains above an annual exemption E, at the
    inclusion rate rho); without an exemption the included gain is rho G."""
    rate = rules.capital_gains.inclusion_rate
    if year not in ctx.variables["included_gain"]:
        return rate * lin({gains: 1.0})
    exemption = rules.capital_gains.annual_exemption[ctx.plan.filing_status]
    included = ctx.variables["included_gain"][year]
    ctx.constrain("included_gain", year, included - rate * gains >= -rate * exemption)
    return lin({included: 1.0})


def _add_taxable_benefits(ctx: ModelContext, year: int, rules: RuleSet, other, big: float):
    """Taxable Social Security as a piecewise-linear function of provisional income.

    IRC §86(a)-(c) as IRS Pub. 915 Worksheet 1 computes it. With B the benefits, beta the
    benefit fraction (line 2: 50%), A the other income (lines 3-6), b1, b2 the base amounts
    (line 8; b2 - b1 is line 10), r1 = 50%, r2 = 85% and m = 85% (lines 13, 15, 17):

        provisional P = A + beta B                                           (line 7)
        taxable = min(m B, r2 max(0, P - b2) + min(r1 B, r1 clip(P - b1, 0, b2 - b1)))
                                                                        (lines 9-18)

    P is split into pieces d0..d4 (`provisional_piece`) of lengths b1, L1, L2, L3, inf
    with slopes 0, r1, 0, r2, 0, where C1 = min(r1 B, r1 (b2 - b1)) is line 14's cap,
    L1 = C1 / r1, L2 = (b2 - b1) - L1 and L3 = (m B - C1) / r2 (line 18's cap reached):

    - provisional:  sum_i d_i - P = 0;  taxable benefits = r1 d1 + r2 d3.

    The function is concave where a slope falls back to 0, so exact mode orders the pieces
    with two binaries, z1 = "line 14 capped" (P >= b1 + L1) and z2 = "line 18 capped"
    (P >= b2 + L3); fast mode takes m B (over-states tax below the cap):

    - ss_order0:   d0 - b1 z1 >= 0      (below-base piece full once the first tier is)
    - ss_order1a:  d1 - L1 z1 >= 0      (first-tier piece full when z1)
    - ss_order1b:  d2 - L2 z1 <= 0      (capped rest of the band only when z1)
    - ss_order1c:  d3 - L3 z1 <= 0      (second tier only when z1)
    - ss_order2a:  d3 - L3 z2 >= 0      (second tier full when z2)
    - ss_order2b:  z2 = 0 => d4 <= 0    (beyond the cap only when z2)
    - ss_order2c:  d2 - L2 z2 >= 0      (rest of the band full when z2)
    - ss_chain:    z2 - z1 <= 0         (line 18's cap only after line 14's)

    Earlier pieces are full whenever a later one is used, so a fixed regime is consistent.
    """
    benefits = ctx.social_security[year]
    table = rules.benefit_taxation
    if benefits <= 0:
        return lin({})
    if table is None:
        return lin({}, benefits)
    status = ctx.plan.filing_status
    if not ctx.exact:
        return lin({}, table.max_fraction * benefits)
    base1, len1, len2, len3, _ = _benefit_pieces(rules, status, benefits)
    base2 = table.base2[status]
    piece = ctx.variables["provisional_piece"]
    deltas = [piece[year, i] for i in range(BEYOND_CAP + 1)]
    provisional = other + table.benefit_fraction * benefits
    ctx.constrain("provisional", year, lin({d: 1.0 for d in deltas}) - provisional == 0)
    full1, full2 = base1 + len1, base2 + len3

    def _provisional(i, r, fraction=table.benefit_fraction):
        return r.agi - r.taxable_social_security + fraction * i.social_security

    rise1 = ctx.binary(
        f"ss_first_tier_full_{year}", year, lambda i, r: int(_provisional(i, r) >= full1)
    )
    rise2 = ctx.binary(
        f"ss_cap_reached_{year}", year, lambda i, r: int(_provisional(i, r) >= full2)
    )
    d0, d1, d2, d3, d4 = deltas
    rest = max(len2, 0.0)
    ctx.constrain("ss_order1a", year, d1 - len1 * rise1 >= 0)
    ctx.constrain("ss_order1b", year, d2 - rest * rise1 <= 0)
    ctx.constrain("ss_order2a", year, d3 - len3 * rise2 >= 0)
    ctx.implies("ss_order2b", year, rise2, 0, lin({d4: 1.0}), big)
    ctx.constrain("ss_chain", year, rise2 - rise1 <= 0)
    ctx.constrain("ss_order0", year, d0 - base1 * rise1 >= 0)
    ctx.constrain("ss_order1c", year, d3 - len3 * rise1 <= 0)
    ctx.constrain("ss_order2c", year, d2 - rest * rise2 >= 0)
    taxable = lin({d1: table.rate1, d3: table.rate2})
    ctx.expressions["taxable_ss"].set(year, taxable)
    return taxable


def _add_deductions(ctx: ModelContext, year: int, rules: RuleSet, measures, status, ages, big):
    """Total deductions; each phase-out is a variable lost = `phaseout`[t, d].

    With n qualifying people (Deduction.qualifying_people), amount a per person, rate q
    and start s (the rule's phase-out, measured on M, the income its `measure` names in
    `measures`: MAGI for the OBBBA §70103 senior deduction, income without gains for the
    UK personal allowance taper, ITA 2007 s.35(2), s.58; written MAGI below):
    lost = min(n a, max(0, q n (MAGI - s))), a convex-then-concave kink.

    - phaseout_a:  z=0 => q n (MAGI - s) - lost <= 0   (fast: lost - q n (MAGI - s) >= 0)
    - phaseout_b:  lost - n a z >= 0                   (exact: all lost once z = 1)
    - phaseout_c:  z=1 => n a - q n (MAGI - s) <= 0    (exact: z only past the end)
    """
    fixed = 0.0
    phased = lin({})
    phaseout = ctx.variables["phaseout"]
    for d in rules.deductions:
        if not d.applies_in(year):
            continue
        if d.phaseout is None:
            fixed += deduction_amount(d, status, ages, 0.0)
            continue
        if (year, d.name) not in phaseout:  # nobody qualifies this year
            continue
        people = d.qualifying_people(ages)
        full = d.amount[status] * people
        lost = phaseout[year, d.name]
        measure = d.phaseout.measure
        excess = d.phaseout.rate * people * (measures[measure] - d.phaseout.start[status])
        key = (year, d.name)
        if ctx.exact:
            start, rate, amount = d.phaseout.start[status], d.phaseout.rate, d.amount[status]
            gone = ctx.binary(
                f"phaseout_complete_{year}_{d.name}",
                year,
                lambda i, r, s=start, q=rate, f=amount, m=measure: int(
                    q * (_measured(r, m) - s) >= f
                ),
            )
            ctx.implies("phaseout_a", key, gone, 0, excess - lost, big)
            ctx.constrain("phaseout_b", key, lost - full * gone >= 0)
            ctx.implies("phaseout_c", key, gone, 1, full - excess, big + full)
        else:
            ctx.constrain("phaseout_a", key, lost - excess >= 0)
        phased += full - lin({lost: 1.0})
    ctx.expressions["deduction"].set(year, phased + fixed)
    return phased + fixed


def _measured(result, measure: str) -> float:
    """A phase-out's income measure from the calculator's result (tax.calculate's
    `measures`: total income is AGI without the gains included)."""
    return result.magi if measure == "magi" else result.agi - result.included_gains


def _add_stacking(ctx: ModelContext, year: int, schedule, segments, preferential_income, big):
    """Preferential income stacked on top of ordinary taxable income (IRC §1(h)(1)(B)-(D);
    Qualified Dividends and Capital Gain Tax Worksheet lines 5-24), bands f[j] of the
    preferential schedule with thresholds h_j:

    - preferential_fill:   sum_j f[j] - (Q + X - U + W) = 0
    - stack[t, j]:         sum_{i: start_i < h_{j+1}} o[i] + sum_{j' <= j} f[j'] <= h_{j+1}
    - stack_order_a (exact): z_j = 0 => sum_{i: start_i >= h_{j+1}} o[i] <= 0
    - stack_order_b (exact): sum_{i: start_i < h_{j+1}} o[i] - h_{j+1} z_j >= 0
      (z_j = ordinary income above h_{j+1}: the ordinary segments fill in order).
    """
    band = ctx.variables["preferential_band"]
    bands = [band[year, i] for i in range(len(schedule.rates))]
    terms = {b: rate for b, rate in zip(bands, schedule.rates, strict=True)}
    ctx.constrain(
        "preferential_fill", year, lin({b: 1.0 for b in bands}) - preferential_income == 0
    )
    for j, threshold in enumerate(schedule.thresholds[1:]):
        below = {seg: 1.0 for start, _end, seg in segments if start < threshold}
        above = {seg: 1.0 for start, _end, seg in segments if start >= threshold}
        # Ordinary income below the threshold plus the bands up to it fit under it.
        room = dict(below)
        room.update({b: 1.0 for b in bands[: j + 1]})
        ctx.constrain("stack", (year, j), lin(room) <= threshold)
        if ctx.exact and above:
            over = ctx.binary(
                f"ordinary_above_{year}_{j}",
                year,
                lambda i, r, t=threshold: int(r.ordinary_taxable_income > t),
            )
            ctx.implies("stack_order_a", (year, j), over, 0, lin(above), big)
            ctx.constrain("stack_order_b", (year, j), lin(below) - threshold * over >= 0)
    return terms


def _add_ordinary_cap(ctx: ModelContext, year, ordinary, taxable_income, stacked, big):
    """y = min(stacked tax, all taxable income at ordinary rates): IRC §1(h)(1) ("a tax
    equal to the lesser of"; Qualified Dividends and Capital Gain Tax Worksheet line 24 vs
    line 23). With S the stacked tax, r[i] the `regular_segment`s of the ordinary
    schedule, Rg = sum_i rate_i r[i], K the most the cap can save (`_cap_saving`, the
    big-M of the rows) and z = "the cap binds" (exact mode only; fast over-states by <= K):

    - regular_fill:        sum_i r[i] - taxable income = 0
    - income_tax_stacked:  y - S + K z >= 0
    - income_tax_regular:  z=1 => Rg - y <= 0
    - ordinary_cap_a:      z=1 => Rg - S <= 0
    - ordinary_cap_b:      S - Rg - K z <= 0
    """
    if year not in ctx.variables["income_tax"]:
        return stacked
    saving = _cap_saving(ctx.rules_by_year[year], ctx.plan.filing_status)
    regular_segment = ctx.variables["regular_segment"]
    segments = {regular_segment[year, i]: rate for i, (_s, _e, rate) in enumerate(ordinary.bands())}
    ctx.constrain("regular_fill", year, lin({v: 1.0 for v in segments}) - taxable_income == 0)
    regular = lin(segments)
    income_tax = ctx.variables["income_tax"][year]
    binds = ctx.binary(
        f"ordinary_cap_binds_{year}",
        year,
        lambda i, r, sched=ordinary: int(
            r.capital_gains_tax < r.taxable_income
            and abs(_schedule_tax(sched, r.taxable_income) - r.ordinary_tax - r.capital_gains_tax)
            < CAP_TIE_DOLLARS
            and r.preferential_taxable_income > 0
        ),
    )
    ctx.constrain("income_tax_stacked", year, income_tax - stacked + saving * binds >= 0)
    ctx.implies("income_tax_regular", year, binds, 1, regular - income_tax, big)
    ctx.implies("ordinary_cap_a", year, binds, 1, regular - stacked, big)
    ctx.constrain("ordinary_cap_b", year, stacked - regular - saving * binds <= 0)
    ctx.expressions["regular_tax"].set(year, regular)
    return lin({income_tax: 1.0})


def _add_niit(ctx: ModelContext, year, rules: RuleSet, magi, investment, big):
    """Each surtax s (US: NIIT, IRC §1411(a)(1); Form 8960 lines 12-17) owes
    rate x min(net investment income, max(0, MAGI - threshold)). With e = `surtax_excess`,
    n = `surtax`, NII = gains included + qualified and ordinary yields, z = "NII is the
    lesser" (exact mode):

    - surtax_excess:        e - MAGI >= -threshold      (e >= 0 by its bound)
    - surtax_on_excess:     z=0 => rate e - n <= 0      (fast: n - rate e >= 0)
    - surtax_on_nii:        z=1 => rate NII - n <= 0
    - surtax_nii_lesser_a:  z=1 => NII - (MAGI - threshold) <= 0
    - surtax_nii_lesser_b:  z=0 => (MAGI - threshold) - NII <= 0
    """
    status = ctx.plan.filing_status
    out = lin({})
    nii = investment + lin(yield_income(ctx, year, "ordinary"))
    for surtax in rules.surtaxes:
        key = (surtax.name, year)
        excess = ctx.variables["surtax_excess"][key]
        ctx.constrain("surtax_excess", key, excess - magi >= -surtax.threshold[status])
        amount = ctx.variables["surtax"][key]
        if ctx.exact:
            # The binary picks which of the two is the lesser; minimizing tax takes the smaller.
            threshold = surtax.threshold[status]
            nii_lesser = ctx.binary(
                f"{surtax.name}_nii_lesser_{year}",
                year,
                lambda i, r, t=threshold: int(
                    i.investment_ordinary_income + i.qualified_dividends + r.included_gains
                    <= r.magi - t
                ),
            )
            bound = surtax.rate * big
            ctx.implies(
                "surtax_on_excess", key, nii_lesser, 0, surtax.rate * excess - amount, bound
            )
            ctx.implies("surtax_on_nii", key, nii_lesser, 1, surtax.rate * nii - amount, bound)
            # The chosen branch must really be the lesser (keeps a fixed regime exact).
            gap = magi - surtax.threshold[status]
            ctx.implies("surtax_nii_lesser_a", key, nii_lesser, 1, nii - gap, big)
            ctx.implies("surtax_nii_lesser_b", key, nii_lesser, 0, gap - nii, big)
        else:
            ctx.constrain("surtax_on_excess", key, amount - surtax.rate * excess >= 0)
        out += lin({amount: 1.0})
    ctx.expressions["nii"].set(year, nii)
    return out

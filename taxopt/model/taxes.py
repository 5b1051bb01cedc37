"""Income tax inside the model, from the same rule objects as the pure calculator.

Per year: ordinary income; taxable Social Security (piecewise in provisional income);
deductions with the senior phase-out; ordinary brackets as bracket-filling variables;
preferential income stacked on top; NIIT; early-withdrawal penalty.

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
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.model.contributions import deductible_contributions
from taxopt.model.holdings import realized_gains, yield_income
from taxopt.model.withdrawals import early_withdrawals
from taxopt.rules import RuleSet, WithdrawalTax
from taxopt.tax import deduction_amount
from taxopt.tax import schedule_tax as _schedule_tax


def create_tax_variables(ctx: ModelContext) -> None:
    for year in ctx.years:
        ctx.x["tax"][year] = ctx.var(f"tax_{year}")


def add_taxes(ctx: ModelContext) -> None:
    """Taxes of every year (the rule set passed `RuleSet.check_optimizer_support`)."""
    for year in ctx.years:
        _add_year_taxes(ctx, year, ctx.rules_by_year[year])


def ordinary_income_terms(ctx: ModelContext, year: int) -> tuple[dict, float]:
    """Ordinary income before deductions: ({variable: coef}, constant), nominal dollars."""
    terms: dict = {}
    for account in ctx.accounts:
        kind = ctx.kind[account.name]
        if kind.withdrawals == WithdrawalTax.ORDINARY:
            var = ctx.x["withdraw"][account.name, year]
            terms[var] = 1.0 - kind.tax_free_withdrawal_fraction
    for (source, _target, y), var in ctx.x["convert"].items():
        if y == year:
            terms[var] = 1.0 - ctx.kind[source].tax_free_withdrawal_fraction
    for var, coef in yield_income(ctx, year, "ordinary").items():
        terms[var] = terms.get(var, 0.0) + coef
    for var in deductible_contributions(ctx, year):
        terms[var] = terms.get(var, 0.0) - 1.0
    constant = sum(ctx.earnings[year].values()) + ctx.other_income[year]
    return terms, constant


def _add_year_taxes(ctx: ModelContext, year: int, rules: RuleSet) -> None:
    status = ctx.plan.filing_status
    ages = ctx.ages(year)
    x = ctx.x
    big = ctx.money_bound(year)

    ordinary_terms, ordinary_constant = ordinary_income_terms(ctx, year)
    qualified = yield_income(ctx, year, "qualified_dividends")

    # Realized long-term gains, not below zero (no loss carry-forward, as in the calculator).
    # When no sale can realize a loss, gains equal the sales' gains exactly; otherwise the
    # variable only bounds them from below (tax pressure keeps it tight where it matters).
    gains = ctx.var(f"gain_{year}")
    x["gain"][year] = gains
    gain_terms = realized_gains(ctx, year)
    if not gain_terms:
        gains.upBound = 0
    elif min(gain_terms.values()) >= -1e-9:
        ctx.constrain(f"gain_{year}", gains - lin(gain_terms) == 0)
    else:
        ctx.constrain(f"gain_floor_{year}", gains - lin(gain_terms) >= 0)
        ctx.x["gain_floor"][year] = gains  # the objective keeps it tight (see objective)
        if ctx.exact:
            # gains = max(0, realized): a kink. Without it a fixed regime could meet its
            # consistency rows with phantom gains (a tier whose price falls sells at a loss).
            positive = ctx.binary(f"gains_positive_{year}", year, lambda i, r: int(i.ltcg > 0))
            ctx.implies(f"gain_is_realized_{year}", positive, 1, gains - lin(gain_terms), big)
            ctx.implies(f"gain_is_zero_{year}", positive, 0, lin({gains: 1.0}), big)
    included = _included_gains(ctx, year, rules, gains)

    # Other income (AGI without benefits) and taxable Social Security.
    other = _add(lin(ordinary_terms, ordinary_constant), lin(qualified), included)
    x["other_income"][year] = other
    taxable_ss = _add_taxable_benefits(ctx, year, rules, other, big)
    magi = other + taxable_ss
    x["magi"][year] = magi

    deduction = _add_deductions(ctx, year, rules, magi, status, ages, big)

    # Taxable income splits into ordinary (brackets) and preferential (stacked on top);
    # deductions fall on ordinary income first, then on preferential income.
    unused = ctx.var(f"unused_deduction_{year}")
    ordinary_taxable = lin(ordinary_terms, ordinary_constant) + taxable_ss - deduction + unused
    preferential_income = None
    if rules.preferential:
        wasted = ctx.var(f"deduction_beyond_income_{year}")
        preferential_income = lin(qualified) + included - unused + lin({wasted: 1.0})
        ctx.constrain(f"preferential_nonneg_{year}", preferential_income >= 0)
        if ctx.exact:
            # Deduction left over from ordinary income only when ordinary taxable income is 0.
            flag = ctx.binary(
                f"deduction_exceeds_ordinary_{year}",
                year,
                lambda i, r: int(
                    r.agi - i.qualified_dividends - r.included_gains - r.total_deductions < 0
                ),
            )
            ctx.implies(f"unused_only_if_needed_{year}", flag, 0, lin({unused: 1.0}), big)
            ctx.implies(f"unused_ordinary_zero_{year}", flag, 1, ordinary_taxable, big)
    else:  # no preferential rates: dividends and gains are ordinary income
        ordinary_taxable += lin(qualified) + included

    schedule = rules.ordinary.brackets[status]
    pref = rules.preferential[0] if rules.preferential else None
    cut_points = sorted(
        set(schedule.thresholds) | set(pref.brackets[status].thresholds if pref else [])
    )
    segments = []
    ordinary_tax_terms = {}
    for i, start in enumerate(cut_points):
        end = cut_points[i + 1] if i + 1 < len(cut_points) else None
        seg = ctx.var(f"ordinary_{year}_{i}", 0.0, None if end is None else end - start)
        rate = _rate_at(schedule.thresholds, schedule.rates, start)
        segments.append((start, end, seg))
        ordinary_tax_terms[seg] = rate
    ctx.constrain(
        f"ordinary_fill_{year}", lin({s: 1.0 for _, _, s in segments}) - ordinary_taxable == 0
    )
    x["ordinary_taxable"][year] = ordinary_taxable
    x["ordinary_segments"][year] = segments

    preferential_tax_terms = {}
    if pref is not None:
        preferential_tax_terms = _add_stacking(
            ctx, year, pref.brackets[status], segments, preferential_income, big
        )

    if pref is not None:
        income_tax = _add_ordinary_cap(
            ctx,
            year,
            schedule,
            pref.brackets[status],
            ordinary_taxable + preferential_income,
            lin(ordinary_tax_terms) + lin(preferential_tax_terms),
            big,
        )
    else:
        income_tax = lin(ordinary_tax_terms)

    niit = _add_niit(ctx, year, rules, magi, lin(qualified) + included, big)

    penalty = 0.0
    if rules.early_withdrawal is not None:
        penalty = rules.early_withdrawal.penalty_rate * lin(early_withdrawals(ctx, year))

    tax_expr = income_tax + niit + penalty
    credits = sum(c.rate * c.amount[status] for c in rules.credits)
    if credits:
        credit = ctx.var(f"credit_{year}", 0.0, credits)
        ctx.constrain(
            f"credit_cap_{year}",
            credit - lin(ordinary_tax_terms) - lin(preferential_tax_terms) <= 0,
        )
        tax_expr = tax_expr - credit
    ctx.constrain(f"tax_total_{year}", x["tax"][year] - tax_expr == 0)
    x["ordinary_tax"][year] = lin(ordinary_tax_terms)
    x["preferential_tax"][year] = lin(preferential_tax_terms)
    x["niit"][year] = niit


def _add(*exprs):
    out = lin({})
    for e in exprs:
        out += e
    return out


def _rate_at(thresholds: list[float], rates: list[float], income: float) -> float:
    rate = rates[0]
    for t, r in zip(thresholds, rates, strict=True):
        if income >= t:
            rate = r
    return rate


def _included_gains(ctx: ModelContext, year: int, rules: RuleSet, gains):
    status = ctx.plan.filing_status
    exemption = rules.capital_gains.annual_exemption.get(status, 0.0)
    rate = rules.capital_gains.inclusion_rate
    if exemption <= 0:
        return rate * lin({gains: 1.0})
    included = ctx.var(f"included_gain_{year}")
    ctx.constrain(f"included_gain_{year}", included - rate * gains >= -rate * exemption)
    return lin({included: 1.0})


def _add_taxable_benefits(ctx: ModelContext, year: int, rules: RuleSet, other, big: float):
    """Taxable Social Security as a piecewise-linear function of provisional income."""
    benefits = ctx.social_security[year]
    table = rules.benefit_taxation
    if benefits <= 0:
        return lin({})
    if table is None:
        return lin({}, benefits)
    status = ctx.plan.filing_status
    if not ctx.exact:
        return lin({}, table.max_fraction * benefits)
    base1, base2 = table.base1[status], table.base2[status]
    first_cap = min(table.rate1 * benefits, table.rate1 * (base2 - base1))
    len1 = first_cap / table.rate1
    len2 = (base2 - base1) - len1
    len3 = (table.max_fraction * benefits - first_cap) / table.rate2
    pieces = [(base1, 0.0), (len1, table.rate1), (len2, 0.0), (len3, table.rate2), (None, 0.0)]
    deltas = []
    for i, (length, _slope) in enumerate(pieces):
        deltas.append(ctx.var(f"provisional_{year}_{i}", 0.0, length))
    provisional = other + table.benefit_fraction * benefits
    ctx.constrain(f"provisional_{year}", lin({d: 1.0 for d in deltas}) - provisional == 0)
    # Zero-slope pieces after a rising piece may be used only once that piece is full.
    full1, full2 = base1 + len1, base2 + len3

    def _provisional(i, r, fraction=table.benefit_fraction):
        return r.agi - r.taxable_social_security + fraction * i.social_security

    rise1 = ctx.binary(
        f"ss_first_tier_full_{year}", year, lambda i, r: int(_provisional(i, r) >= full1)
    )
    rise2 = ctx.binary(
        f"ss_cap_reached_{year}", year, lambda i, r: int(_provisional(i, r) >= full2)
    )
    ctx.constrain(f"ss_order1a_{year}", deltas[1] - len1 * rise1 >= 0)
    ctx.constrain(f"ss_order1b_{year}", deltas[2] - max(len2, 0.0) * rise1 <= 0)
    ctx.constrain(f"ss_order2a_{year}", deltas[3] - len3 * rise2 >= 0)
    ctx.implies(f"ss_order2b_{year}", rise2, 0, lin({deltas[4]: 1.0}), big)
    ctx.constrain(f"ss_chain_{year}", rise2 - rise1 <= 0)
    # Earlier pieces are full whenever a later one is used, so a fixed regime is consistent.
    ctx.constrain(f"ss_order0_{year}", deltas[0] - base1 * rise1 >= 0)
    ctx.constrain(f"ss_order1c_{year}", deltas[3] - len3 * rise1 <= 0)
    ctx.constrain(f"ss_order2c_{year}", deltas[2] - max(len2, 0.0) * rise2 >= 0)
    taxable = lin({deltas[1]: table.rate1, deltas[3]: table.rate2})
    ctx.x["taxable_ss"][year] = taxable
    return taxable


def _add_deductions(ctx: ModelContext, year: int, rules: RuleSet, magi, status, ages, big):
    """Total deductions; phase-outs become variables."""
    fixed = 0.0
    phased = lin({})
    for d in rules.deductions:
        if not d.applies_in(year):
            continue
        if d.phaseout is None:
            fixed += deduction_amount(d, status, ages, 0.0)
            continue
        people = sum(1 for a in ages if a >= (d.min_age or 0)) if d.per_qualifying_person else 1
        if people == 0:
            continue
        full = d.amount[status] * people
        lost = ctx.var(f"phaseout_{year}_{d.name}", 0.0, None if not ctx.exact else full)
        excess = d.phaseout.rate * people * (magi - d.phaseout.start[status])
        if ctx.exact:
            start, rate, amount = d.phaseout.start[status], d.phaseout.rate, d.amount[status]
            gone = ctx.binary(
                f"phaseout_complete_{year}_{d.name}",
                year,
                lambda i, r, s=start, q=rate, f=amount: int(q * (r.magi - s) >= f),
            )
            ctx.implies(f"phaseout_a_{year}_{d.name}", gone, 0, excess - lost, big)
            ctx.constrain(f"phaseout_b_{year}_{d.name}", lost - full * gone >= 0)
            ctx.implies(f"phaseout_c_{year}_{d.name}", gone, 1, full - excess, big + full)
        else:
            ctx.constrain(f"phaseout_a_{year}_{d.name}", lost - excess >= 0)
        phased += full - lin({lost: 1.0})
    ctx.x["deduction"][year] = phased + fixed
    return phased + fixed


def _add_stacking(ctx: ModelContext, year: int, schedule, segments, preferential_income, big):
    """Split preferential income into the bands it fills on top of ordinary taxable income."""
    bands = []
    terms = {}
    for i, rate in enumerate(schedule.rates):
        band = ctx.var(f"preferential_{year}_{i}")
        bands.append(band)
        terms[band] = rate
    ctx.constrain(
        f"preferential_fill_{year}", lin({b: 1.0 for b in bands}) - preferential_income == 0
    )
    for j, threshold in enumerate(schedule.thresholds[1:]):
        below = {seg: 1.0 for start, _end, seg in segments if start < threshold}
        above = {seg: 1.0 for start, _end, seg in segments if start >= threshold}
        # Ordinary income below the threshold plus the bands up to it fit under it.
        room = dict(below)
        room.update({b: 1.0 for b in bands[: j + 1]})
        ctx.constrain(f"stack_{year}_{j}", lin(room) <= threshold)
        if ctx.exact and above:
            over = ctx.binary(
                f"ordinary_above_{year}_{j}",
                year,
                lambda i, r, t=threshold: int(r.ordinary_taxable_income > t),
            )
            ctx.implies(f"stack_order_a_{year}_{j}", over, 0, lin(above), big)
            ctx.constrain(f"stack_order_b_{year}_{j}", lin(below) - threshold * over >= 0)
    ctx.x["preferential_bands"][year] = bands
    return terms


def _add_ordinary_cap(
    ctx: ModelContext, year, ordinary, preferential, taxable_income, stacked, big
):
    """min(stacked tax, all taxable income at ordinary rates): IRC §1(h)(1).

    The cap can bind only where a preferential rate exceeds the ordinary rate at the same
    position (the 15% band inside the 12% bracket); the most it can save bounds the big-M.
    """
    cuts = sorted(set(ordinary.thresholds) | set(preferential.thresholds))
    saving = 0.0
    for start, end in zip(cuts, cuts[1:], strict=False):
        excess = _rate_at(preferential.thresholds, preferential.rates, start) - _rate_at(
            ordinary.thresholds, ordinary.rates, start
        )
        saving += max(0.0, excess) * (end - start)
    if saving <= 0 or not ctx.exact:
        return stacked  # fast mode over-states tax here by at most `saving`
    segments = {}
    for i, start in enumerate(ordinary.thresholds):
        end = ordinary.thresholds[i + 1] if i + 1 < len(ordinary.thresholds) else None
        segments[ctx.var(f"regular_{year}_{i}", 0.0, None if end is None else end - start)] = (
            ordinary.rates[i]
        )
    ctx.constrain(f"regular_fill_{year}", lin({v: 1.0 for v in segments}) - taxable_income == 0)
    regular = lin(segments)
    income_tax = ctx.var(f"income_tax_{year}")
    binds = ctx.binary(
        f"ordinary_cap_binds_{year}",
        year,
        lambda i, r, sched=ordinary: int(
            r.capital_gains_tax < r.taxable_income
            and abs(_schedule_tax(sched, r.taxable_income) - r.ordinary_tax - r.capital_gains_tax)
            < 1e-6
            and r.preferential_taxable_income > 0
        ),
    )
    ctx.constrain(f"income_tax_stacked_{year}", income_tax - stacked + saving * binds >= 0)
    ctx.implies(f"income_tax_regular_{year}", binds, 1, regular - income_tax, big)
    ctx.implies(f"ordinary_cap_a_{year}", binds, 1, regular - stacked, big)
    ctx.constrain(f"ordinary_cap_b_{year}", stacked - regular - saving * binds <= 0)
    ctx.x["regular_tax"][year] = regular
    return lin({income_tax: 1.0})


def _add_niit(ctx: ModelContext, year, rules: RuleSet, magi, investment, big):
    """rate x min(net investment income, max(0, MAGI - threshold)) per surtax."""
    status = ctx.plan.filing_status
    out = lin({})
    nii = investment + lin(yield_income(ctx, year, "ordinary"))
    for surtax in rules.surtaxes:
        name = f"{surtax.name}_{year}"
        excess = ctx.var(f"{surtax.name}_excess_{year}")
        ctx.constrain(f"{name}_excess", excess - magi >= -surtax.threshold[status])
        amount = ctx.var(name)
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
            ctx.implies(f"{name}_on_excess", nii_lesser, 0, surtax.rate * excess - amount, bound)
            ctx.implies(f"{name}_on_nii", nii_lesser, 1, surtax.rate * nii - amount, bound)
            # The chosen branch must really be the lesser (keeps a fixed regime exact).
            gap = magi - surtax.threshold[status]
            ctx.implies(f"{name}_nii_lesser_a", nii_lesser, 1, nii - gap, big)
            ctx.implies(f"{name}_nii_lesser_b", nii_lesser, 0, gap - nii, big)
        else:
            ctx.constrain(f"{name}_on_excess", amount - surtax.rate * excess >= 0)
        out += lin({amount: 1.0})
    ctx.x["nii"][year] = nii
    return out

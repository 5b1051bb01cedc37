"""Shaped credits, benefit clawbacks, gross-ups and further tax levels inside the model.

The tables a rule set layers on its income tax (Canada: `ca-federal-2026` and a province
as a level) are read from the same rule objects as the calculator (taxopt.tax.calculate,
`credit_values`, `level_tax`); no jurisdiction's figures live here. taxopt.model.taxes
calls these helpers where its rows need them: the gross-up factor where dividends enter
income, `add_clawbacks` after MAGI, `credit_ceiling` for the nonrefundable credit and
`add_levels` for the levels' tax.

Symbols (nominal currency of year t; the year index is left out): M the income a ramp is
measured on (AGI before repayments for a clawback, the measure a credit's phase-out names,
taxable income TI for a premium), NI = AGI less deductible repayments (net income), P the
eligible pension income (`pension_income_terms`), Dg the grossed-up dividends.

Ramps. A clawback, a credit's phase-out and a premium step share one shape,
lost = min(full, max(0, q (M - s))): the marginal rate rises at s and falls back at the
point where the whole amount is lost (the OAS recovery tax, the age amount). With
l = `ramp`[t, name] (0 <= l <= full) and z = "the ramp is complete" (exact mode; the
regime search fixes it from the ledger's true taxes):

- ramp_a:  z=0 => q (M - s) - l <= 0
- ramp_b:  l - full z >= 0
- ramp_c:  z=1 => full - q (M - s) <= 0

Fast mode has no binaries: it keeps ramp_a without the cap, which over-states a clawback
beyond the benefit and lets a credit's phase-out run past zero (the credit may go below
zero), and it charges each premium step at its cap (over-states by at most the caps).

Credits are nonrefundable: the model's credit columns are as large as the rows allow,
because every unit lowers tax, so upper bounds are exact (a max(0, tax - credits) that is
convex in the minimisation):

- credit_value:       C - sum_c rate_c (n_c a_c - l_c) - sum_k rate_k Dg <= 0, where a
  credit limited to pension income counts v = `limited_credit` instead of n a - l, with
- limited_amount:     v - (n a - l) <= 0
- limited_income:     v - P <= 0

Levels (per level; the order of Form ON428 Part C), with s[i] = `level_segment` (bracket
widths as bounds; the rates rise, so the LP fills them in order), LC = `level_credit`,
a = `level_after_credits` >= 0, u[k] = `level_surtax` >= 0 and b = `level_net` >= 0:

- level_fill:          sum_i s[i] - TI = 0
- level_credit_value:  LC - (the level's credit values, as credit_value) <= 0
- level_after_credits: a - (sum_i r_i s[i] - LC) >= 0
- level_surtax:        u[k] - r_k (a - h_k) >= 0       (surtax on tax, each threshold h_k)
- level_net:           b - (a + sum_k u[k] - sum income credits) >= 0

and the level's tax is b plus its premium steps (ramps on TI).
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.rules import Credit, RuleSet
from taxopt.tax import grossed_up

RAMP_ROWS = ("ramp_a", "ramp_b", "ramp_c")


def needs_layered(rules: RuleSet) -> bool:
    """Whether the rule set has any table this module models."""
    return bool(
        rules.levels
        or rules.benefit_clawbacks
        or rules.gross_ups
        or rules.income_credits
        or any(_shaped(c) for c in rules.credits)
    )


def _shaped(credit: Credit) -> bool:
    return (
        credit.rate is None
        or credit.min_age is not None
        or credit.limited_to is not None
        or credit.phaseout is not None
    )


def dividend_factor(rules: RuleSet) -> float:
    """How much income one unit of dividends received makes (1 + its gross-up)."""
    return grossed_up(rules, "qualified_dividends", 1.0)


def declare_layered(ctx: ModelContext) -> None:
    """The variable families of this module (see the module docstring)."""
    ctx.declare("ramp", ("year", "ramp"), "ramp_{year}_{ramp}")
    ctx.declare("limited_credit", ("year", "credit"), "limited_{year}_{credit}")
    ctx.declare("level_segment", ("year", "level", "segment"), "{level}_{year}_{segment}")
    ctx.declare("level_credit", ("year", "level"), "{level}_credit_{year}")
    ctx.declare("level_after_credits", ("year", "level"), "{level}_after_credits_{year}")
    ctx.declare("level_surtax", ("year", "level", "surtax"), "{level}_{surtax}_{year}")
    ctx.declare("level_net", ("year", "level"), "{level}_net_{year}")
    ctx.declare_rows(*RAMP_ROWS, dims=("year", "ramp"))
    ctx.declare_rows("limited_amount", "limited_income", dims=("year", "credit"))
    ctx.declare_rows("credit_value", dims=("year",))
    ctx.declare_rows(
        "level_fill",
        "level_credit_value",
        "level_after_credits",
        "level_net",
        dims=("year", "level"),
    )
    ctx.declare_rows("level_surtax", dims=("year", "level", "surtax"))


def pension_income_terms(ctx: ModelContext, year: int) -> dict:
    """{withdraw variable: taxable share} of withdrawals that are eligible pension income
    this year (RuleSet.withdrawal_is_pension_income, the owner's age at the end of the year)."""
    withdraw = ctx.variables["withdraw"]
    terms = {}
    for account in ctx.accounts:
        age = ctx.owner_age(account.name, year)
        if age is not None and ctx.base_rules.withdrawal_is_pension_income(account.kind, age):
            share = 1.0 - ctx.kind[account.name].tax_free_withdrawal_fraction
            terms[withdraw[year, account.name]] = share
    return terms


def ramp(ctx: ModelContext, year: int, name: str, measured, start, rate, full, measure_of):
    """lost = min(full, max(0, rate (measured - start))) as an expression (rows ramp_a,
    ramp_b, ramp_c of the module docstring; fast mode ramp_a only); `measure_of(tax_result)`
    is the same income from the calculator's result, for the regime of the binary."""
    key = (year, name)
    excess = rate * (measured - start)
    if ctx.exact:
        lost = ctx.variables["ramp"].add(key, high=full)
        big = ctx.money_bound(year)
        complete = ctx.binary(
            f"ramp_complete_{year}_{name}",
            year,
            lambda i, r: int(rate * (measure_of(r) - start) >= full),
        )
        ctx.implies("ramp_a", key, complete, 0, excess - lost, big)
        ctx.constrain("ramp_b", key, lost - full * complete >= 0)
        ctx.implies("ramp_c", key, complete, 1, full - excess, big + full)
    else:
        lost = ctx.variables["ramp"].add(key)
        ctx.constrain("ramp_a", key, lost - excess >= 0)
    return lin({lost: 1.0})


def add_clawbacks(ctx: ModelContext, year: int, rules: RuleSet, agi) -> tuple:
    """(all clawbacks, the deductible ones) as expressions: each benefit clawback is a
    ramp of `rate` on AGI over its threshold, at most the year's benefit."""
    benefits = ctx.social_security[year]
    total = deductible = lin({})
    if benefits <= 0:
        return total, deductible
    status = ctx.plan.filing_status
    for clawback in rules.benefit_clawbacks:
        lost = ramp(
            ctx,
            year,
            clawback.name,
            agi,
            clawback.threshold[status],
            clawback.rate,
            benefits,
            lambda r: r.agi,
        )
        total = total + lost
        if clawback.deductible:
            deductible = deductible + lost
    return total, deductible


def credit_ceiling(
    ctx: ModelContext,
    year: int,
    scope: str,
    credits: list[Credit],
    income_credits,
    schedule,
    measures: dict,
    pension,
    dividends,
):
    """The most the credits can take off a tax (before the limit to the tax), as an
    expression: each credit's rate x its amount for the qualifying people, less its
    phase-out (a ramp), at most pension income when limited to it (rows limited_amount,
    limited_income); plus each income credit's rate x the grossed-up dividends."""
    status = ctx.plan.filing_status
    ages = ctx.ages(year)
    total = lin({})
    for credit in credits:
        people = credit.qualifying_people(ages)
        full = credit.amount[status] * people
        if full <= 0:
            continue
        amount = lin({}, full)
        if credit.phaseout is not None:
            rule = credit.phaseout
            start = rule.start[status]
            per_unit = (
                rule.rate
                if rule.end is None
                else credit.amount[status] / (rule.end[status] - start)
            )
            amount = amount - ramp(
                ctx,
                year,
                f"{scope}_{credit.name}",
                measures[rule.measure],
                start,
                per_unit * people,
                full,
                _measure_of(rule.measure),
            )
        if credit.limited_to == "pension_income":
            key = (year, f"{scope}_{credit.name}")
            limited = ctx.variables["limited_credit"].add(key)
            ctx.constrain("limited_amount", key, limited - amount <= 0)
            ctx.constrain("limited_income", key, limited - pension <= 0)
            amount = lin({limited: 1.0})
        total = total + credit.rate_under(schedule) * amount
    for income_credit in income_credits:
        total = total + income_credit.rate * dividends
    return total


def _measure_of(measure: str):
    """The calculator result's income of a phase-out `measure` (tax.calculate's measures)."""
    if measure == "net_income":
        return lambda r: r.net_income
    if measure == "magi":
        return lambda r: r.magi
    return lambda r: r.agi - r.included_gains


def add_levels(
    ctx: ModelContext, year: int, rules: RuleSet, taxable_income, measures, pension, dividends
):
    """The further levels' tax of the year as an expression (rows level_fill,
    level_credit_value, level_after_credits, level_surtax and level_net of the module
    docstring)."""
    out = lin({})
    status = ctx.plan.filing_status
    v = ctx.variables
    for level in rules.levels:
        key = (year, level.name)
        schedule = level.ordinary.brackets[status]
        segments = {}
        for i, (start, end, rate) in enumerate(schedule.bands()):
            high = None if end == float("inf") else end - start
            segments[v["level_segment"].add((year, level.name, i), high=high)] = rate
        ctx.constrain("level_fill", key, lin({s: 1.0 for s in segments}) - taxable_income == 0)
        credit = v["level_credit"].add(key, low=0.0 if ctx.exact else None)
        ceiling = credit_ceiling(
            ctx,
            year,
            level.name,
            level.credits,
            [],
            schedule,
            measures,
            pension,
            dividends,
        )
        ctx.constrain("level_credit_value", key, credit - ceiling <= 0)
        after = v["level_after_credits"].add(key)
        ctx.constrain("level_after_credits", key, after - (lin(segments) - credit) >= 0)
        before_income_credits = lin({after: 1.0})
        for surtax in level.surtaxes_on_tax:
            for k, (threshold, rate) in enumerate(
                zip(surtax.thresholds, surtax.rates, strict=True)
            ):
                skey = (year, level.name, f"{surtax.name}_{k}")
                amount = v["level_surtax"].add(skey)
                ctx.constrain("level_surtax", skey, amount - rate * (after - threshold) >= 0)
                before_income_credits = before_income_credits + lin({amount: 1.0})
        by_income = lin({})
        for income_credit in level.income_credits:
            by_income = by_income + income_credit.rate * dividends
        net = v["level_net"].add(key)
        ctx.constrain("level_net", key, net - (before_income_credits - by_income) >= 0)
        out = out + lin({net: 1.0}) + _premiums(ctx, year, level, taxable_income)
    return out


def _premiums(ctx: ModelContext, year: int, level, taxable_income):
    """A level's premiums: each step a ramp on taxable income (fast mode: at its cap)."""
    out = lin({})
    for premium in level.premiums:
        for k, step in enumerate(premium.steps):
            if not ctx.exact:
                out = out + step.cap
                continue
            out = out + ramp(
                ctx,
                year,
                f"{level.name}_{premium.name}_{k}",
                taxable_income,
                step.start,
                step.rate,
                step.cap,
                lambda r: r.taxable_income,
            )
    return out


def fast_mode_layered_notes(rules: RuleSet) -> list[str]:
    """What fast mode approximates in this module's tables (empty when it has none)."""
    ramps = [c.name for c in rules.benefit_clawbacks]
    ramps += [c.name for c in rules.credits if c.phaseout is not None]
    premiums = []
    for level in rules.levels:
        ramps += [f"{level.name} {c.name}" for c in level.credits if c.phaseout is not None]
        premiums += [p.name for p in level.premiums]
    notes = []
    if ramps:
        notes.append(
            f"fast mode lets {', '.join(ramps)} run past their ends (a clawback beyond the "
            "benefit, a credit below nothing), which over-states tax at high incomes; exact "
            "mode models where each ends"
        )
    if premiums:
        notes.append(
            f"fast mode charges {', '.join(premiums)} at its full amount every year "
            "(over-states tax at low incomes); exact mode follows its steps"
        )
    return notes

"""The plan in plain words, read off the Result: where each tier lives, what to convert and
when, the withdrawal order, and the headline figures with their risk and their value
against the rule of thumb. Pure functions of the Result; the sheets only lay them out.

Fields that newer Results carry (stress test, present value of tax, return basis) are read
with getattr, so a Result without them still gets a complete story.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxopt.report.labels import (
    RETURN_BASIS,
    RULE_OF_THUMB,
    account_labels,
    baseline_label,
    objective_label,
    place_of,
    policy_label,
    tier_label,
)

SHOWN_SHARE = 0.10  # a place holding less of a tier than this is not named
FLOW_FLOOR = 1.0  # dollars: smaller yearly flows are not instructions


@dataclass(frozen=True)
class Headline:
    label: str
    value: float | None
    kind: str  # number kind: money, percent, rate
    note: str = ""


def money(value: float) -> str:
    return f"${round(value):,.0f}".replace("$-", "-$")


def year_span(years: list[int]) -> str:
    if not years:
        return ""
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def first_retired_index(result) -> int:
    years = list(result.yearly["year"])
    retired = [i for i, y in enumerate(years) if y >= result.plan.retirement_year]
    return retired[0] if retired else len(years) - 1


def tier_placement(result, snapshot: str = "retirement") -> list[str]:
    """One sentence per tier: the places holding it at `snapshot`, largest first."""
    location = result.location
    at = location[location["snapshot"] == snapshot]
    if at.empty:
        at = location[location["snapshot"] == location["snapshot"].iloc[0]]
    place = {a.name: place_of(result.rules, a) for a in result.plan.accounts}
    lines = []
    for tier in result.plan.tier_names:
        of_tier = at[at["tier"] == tier]
        total = float(of_tier["dollars"].sum())
        if total <= FLOW_FLOOR:
            continue
        by_place: dict[str, float] = {}
        for row in of_tier.itertuples():
            by_place[place[row.account]] = by_place.get(place[row.account], 0.0) + row.dollars
        parts = [
            f"{name} {dollars / total:.0%}"
            for name, dollars in sorted(by_place.items(), key=lambda kv: -kv[1])
            if dollars / total >= SHOWN_SHARE
        ]
        lines.append(f"{tier_label(tier)}: " + ", ".join(parts))
    return lines


def conversion_sentence(result) -> str:
    y = result.yearly
    converting = y[y["roth_conversions"] > FLOW_FLOOR]
    if converting.empty:
        if not result.plan.options.roth_conversions:
            return "No Roth conversions (not allowed in this plan)."
        return "No Roth conversions: they would not pay under these assumptions."
    years = [int(v) for v in converting["year"]]
    real = converting["roth_conversions"] / converting["inflation_factor"]
    # The calculator's marginal rate is the next dollar's: what stops each year's conversion
    # (the converted dollars themselves may be taxed less, even nothing).
    rates = [float(r) for r in converting["marginal_ordinary_rate"]]
    low, high = f"{min(rates):.0%}", f"{max(rates):.0%}"
    span = low if low == high else f"{low} to {high}"
    top = f"; each year's conversion stops where the next dollar would cost {span} in tax"
    if (converting["total_tax"] < FLOW_FLOOR).all():
        top = f"; they cost no tax{top}"
    return (
        f"Convert {money(real.sum())} (today's dollars) from traditional to Roth accounts in "
        f"{year_span(years)}{'' if _consecutive(years) else ' (some years)'}, about "
        f"{money(real.mean())} a year{top}."
    )


def _consecutive(years: list[int]) -> bool:
    return years == list(range(years[0], years[-1] + 1))


def withdrawal_order(result) -> str:
    """Accounts by the first year they are drawn on, with the years they are drawn."""
    y = result.yearly
    labels = account_labels(result.plan, result.rules)
    spans = []
    for account in result.plan.accounts:
        drawn = y[y[f"withdrawal_{account.name}"] > FLOW_FLOOR]
        if drawn.empty:
            continue
        years = [int(v) for v in drawn["year"]]
        spans.append((years[0], labels[account.name], years))
    if not spans:
        return "No withdrawals from the accounts during the plan."
    spans.sort()
    parts = [
        f"{label} {year_span(years)}" + ("" if _consecutive(years) else " (some years)")
        for _first, label, years in spans
    ]
    never = [
        labels[a.name]
        for a in result.plan.accounts
        if labels[a.name] not in {label for _f, label, _y in spans}
    ]
    tail = f"; never drawn: {', '.join(never)}" if never else ""
    return "Draw in this order: " + "; then ".join(parts) + tail + "."


def claiming_sentences(result) -> list[str]:
    """Per benefit given at full retirement age: when to claim it and what it pays, and
    why that age when the optimizer chose it ("Claim Social Security at 70 (2034): ...")."""
    table = getattr(result, "social_security", None)
    if table is None or table.empty:
        return []
    from taxopt.claiming import claim_reasons

    reasons = claim_reasons(result.plan, getattr(result, "claiming", None))
    couple = len(result.plan.people) > 1
    out = []
    for row in table.itertuples():
        who = f"{row.person}: claim" if couple else "Claim"
        text = (
            f"{who} Social Security at {row.claim_age} ({row.claim_year}): "
            f"{money(row.first_year_benefit_real)} a year in today's dollars, "
            f"{row.benefit_factor:.0%} of the {money(row.pia_annual_real)} at full "
            "retirement age"
        )
        if row.spousal_benefit_real > 0:
            text += (
                f", plus {money(row.spousal_benefit_real)} a year as a spouse from "
                f"{int(row.spousal_from)}"
            )
        if row.person in reasons:
            text += f"; the optimizer's choice, {reasons[row.person]}."
        else:
            text += ", the age the plan sets."
        out.append(text)
    return out


def spending_sentence(result) -> str:
    plan = result.plan
    f = result.figures
    if plan.objective.kind == "max_spending":
        how = "the highest steady amount the plan can keep to the end"
    else:
        how = "set by the withdrawal policy: " + policy_label(plan.withdrawal)
    first = getattr(f, "first_year_spending", None)
    if first is not None:  # a scenario plan's year one, pinned, spends more
        how += f"; {max(plan.retirement_year, plan.start_year)} itself spends {money(first)}"
    return (
        f"Spend {money(f.sustainable_spending)} a year after tax (today's dollars) from "
        f"{max(plan.retirement_year, plan.start_year)}: {how}."
    )


def scenarios_of(result):
    return getattr(result, "scenarios", None)


def scenario_sentence(result) -> str | None:
    """Where this year's decisions come from when they were chosen against scenarios."""
    solved = scenarios_of(result)
    if solved is None:
        return None
    year = result.plan.start_year
    validation = getattr(solved, "validation", {})
    own = validation.get(solved.name)
    paths = solved.tree.scenarios
    tried = (
        f"{solved.candidates} sets of {paths} paths (the best set's moves)"
        if solved.candidates > 1
        else f"{paths} paths at once"
    )
    if not solved.kept and validation:
        return (
            f"This year's ({year}) moves are the one-path plan's: replayed on "
            f"{solved.validation_paths:,} simulated market paths they keep "
            f"{money(validation['deterministic'])} a year safe against "
            f"{money(own)} for the moves chosen against {tried}."
        )
    text = (
        f"This year's ({year}) moves were chosen against {paths} possible "
        f"market paths at once, not one: no decision relies on knowing which path comes."
    )
    if validation:
        text += (
            f" Replayed on {solved.validation_paths:,} other paths they keep "
            f"{money(own)} a year safe, against "
            f"{money(validation['deterministic'])} for the one-path plan's moves"
            + (
                f" (the best of {solved.candidates} sets of {paths} paths)."
                if solved.candidates > 1
                else "."
            )
        )
    if solved.cvar is not None:
        text += (
            f" On the worst {1 - solved.target:.0%} of the {paths} paths they were chosen "
            "against the plan still sustains "
            f"{money(solved.cvar)} a year on average."
        )
    return text + " The later years shown re-plan from this year on the median path."


def stress_of(result):
    return getattr(result, "stress", None)


def spending_headline(result) -> Headline:
    """The spending headline: a scenario plan's is the level every retirement year keeps
    (its first year, pinned to moves chosen against many paths, may spend more)."""
    f = result.figures
    year = max(result.plan.retirement_year, result.plan.start_year)
    if scenarios_of(result) is None:
        return Headline(
            "Spending a year, after tax (today's $)",
            f.sustainable_spending,
            "money",
            f"first retirement year, {year}",
        )
    first = getattr(f, "first_year_spending", None)
    return Headline(
        "Spending kept every year, after tax (today's $)",
        f.sustainable_spending,
        "money",
        f"every retirement year from {year} on the median path"
        + (f"; {year} itself spends {money(first)}" if first is not None else ""),
    )


def spread_headline(stress) -> Headline | None:
    """What the stress paths sustain, at the median and the 10th and 90th percentiles."""
    spread = getattr(stress, "spread", None)
    if not spread:
        return None
    return Headline(
        "Spending the paths sustain, median (today's $)",
        spread[50],
        "money",
        f"10th percentile {money(spread[10])}, 90th {money(spread[90])}: the highest constant "
        "spending each simulated path meets",
    )


def headlines(result) -> list[Headline]:
    """The figures of the first sheet, today's dollars."""
    f = result.figures
    plan = result.plan
    out = [spending_headline(result)]
    stress = stress_of(result)
    if stress is not None:
        target = getattr(stress, "target", None)
        paths = getattr(stress, "paths", None)
        out.append(
            Headline(
                "Chance this spending lasts (success rate)",
                getattr(stress, "success_rate", None),
                "percent",
                f"share of {paths:,} simulated market paths" if paths else "simulated paths",
            )
        )
        out.append(
            Headline(
                "Safe spending a year (today's $)",
                getattr(stress, "safe_spending", None),
                "money",
                f"met on at least {target:.0%} of the paths" if target else "",
            )
        )
        spread = spread_headline(stress)
        if spread is not None:
            out.append(spread)
    solved = scenarios_of(result)
    if solved is not None and solved.cvar is not None:
        out.append(
            Headline(
                "Spending on the worst paths (today's $)",
                solved.cvar,
                "money",
                f"mean sustained on the worst {1 - solved.target:.0%} of the "
                f"{solved.tree.scenarios} scenarios",
            )
        )
    out += [
        Headline(
            "Estate after tax (today's $)",
            f.after_tax_estate,
            "money",
            f"at the end of {plan.end_year}, heirs' tax on traditional money deducted"
            + (f". {result.rules.meta.estate_note}" if result.rules.meta.estate_note else ""),
        ),
        Headline(
            "Lifetime tax (today's $)",
            f.lifetime_tax,
            "money",
            "each year's tax divided by inflation since today, added up",
        ),
    ]
    pv = getattr(f, "lifetime_tax_pv", None)
    if pv is not None:
        rate = getattr(f, "discount_rate", None)
        note = f"discounted at {rate:.2%} a year" if rate is not None else "discounted"
        out.append(Headline("Lifetime tax, present value (today's $)", pv, "money", note))
    rate = f.first_year_withdrawal_rate
    out.append(
        Headline(
            "First-year withdrawal rate",
            rate,
            "rate",
            "withdrawals less contributions, over the portfolio at retirement",
        )
    )
    return out


@dataclass(frozen=True)
class Comparison:
    """The plan against the rule of thumb (today's dollars); None when not evaluated."""

    label: str
    spending_gain: float
    estate_gain: float
    tax_saved: float
    tax_saved_pv: float | None  # the same at present value, when the result carries it
    explanation: str


def against_rule_of_thumb(result) -> Comparison | None:
    table = result.baselines_table
    if RULE_OF_THUMB in table.index:
        name = RULE_OF_THUMB
    elif len(table) > 1:
        name = str(table.index[1])
    else:
        return None
    row = table.loc[name]
    spending = float(row["gain_in_sustainable_spending"])
    estate = float(row["gain_in_after_tax_estate"])
    saved = float(row["tax_saved"])
    saved_pv = float(row["tax_saved_pv"]) if "tax_saved_pv" in row.index else None
    return Comparison(
        baseline_label(name),
        spending,
        estate,
        saved,
        saved_pv,
        _explain(result, spending, estate, saved, saved_pv),
    )


def _explain(result, spending: float, estate: float, saved: float, saved_pv: float | None) -> str:
    parts = []
    if spending < -0.5:
        y = result.yearly
        first = y.iloc[first_retired_index(result)]
        converted = float(first["roth_conversions"]) / float(first["inflation_factor"])
        why = (
            f"the plan converts {money(converted)} to Roth that year and pays its tax"
            if converted > FLOW_FLOOR
            else "the plan pays more tax early"
        )
        parts.append(
            f"First-year spending is {money(-spending)} lower than under the rule of thumb: "
            f"{why}, in exchange for an estate {money(estate)} "
            f"{'larger' if estate >= 0 else 'smaller'}."
        )
    elif spending > 0.5:
        parts.append(f"The plan spends {money(spending)} a year more than the rule of thumb.")
    else:
        parts.append("Spending is the same as under the rule of thumb.")
    at_present = f" ({money(saved_pv)} at present value)" if saved_pv is not None else ""
    if saved > 0.5:
        parts.append(
            f"It pays {money(saved)} less tax over the plan (today's dollars){at_present}."
        )
    elif saved < -0.5:
        parts.append(f"It pays {money(-saved)} more tax over the plan, which buys the gains above.")
    if abs(spending) <= 0.5 and abs(estate) <= 0.5 and abs(saved) <= 0.5:
        parts = ["The plan and the rule of thumb come out the same here: little tax is at stake."]
    return " ".join(parts)


def assumptions_sentence(result) -> str:
    plan = result.plan
    basis = getattr(result, "return_basis", None)
    growth = RETURN_BASIS.get(basis, "expected (average) returns") if basis else None
    parts = [
        f"Inflation {plan.inflation:.1%} a year",
        f"tax law {result.rules.meta.title}",
        f"goal: {objective_label(plan.objective.kind).lower()}",
    ]
    if growth:
        parts.append(f"returns on the {growth}")
    return "; ".join(parts) + "."

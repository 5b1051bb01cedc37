"""What the client can confirm: balances by account and tier, basis, income streams,
earnings, savings, assumptions, the rule set; where each tier lives; the plan file itself."""

from __future__ import annotations

import re

from taxopt.cashflows import claim_of
from taxopt.report.book import Sheet
from taxopt.report.labels import (
    RETURN_BASIS,
    RMD_SURPLUS,
    SNAKE_CASE,
    STREAM_KINDS,
    YIELD_CHARACTER,
    account_labels,
    humanize,
    objective_label,
    policy_label,
    tier_label,
)
from taxopt.report.tables import Column, Table, first_column_width, write_table, write_tables
from taxopt.report.vocabulary import Vocabulary

TODAY = "(today's $)"
CHOSEN_BY = {"optimizer": "the optimizer", "plan": "the plan"}


def write_inputs(sheet: Sheet, result) -> None:
    plan = result.plan
    tiers = plan.tier_names
    names = account_labels(plan, result.rules).values()
    sheet.set_widths([first_column_width(names, 30), 12, *([12.5] * max(len(tiers) + 2, 5))])
    sheet.text_row("Inputs to confirm", "title", 24.0)
    sheet.text_row(
        f"Everything the plan assumes. Amounts are {plan.start_year} (today's) dollars.",
        "subtitle",
    )
    sheet.skip()
    tables = [_people(plan), _balances(result), *_basis(result), *_income(result), *_claims(result)]
    tables += _marketplace(plan, result.rules)
    tables += [_assumptions(result), _tiers(result)]
    _notes(sheet, result)  # first: what only the household can confirm
    write_tables(sheet, tables, new_page_each=False)


def _people(plan) -> Table:
    return Table(
        "People",
        [
            Column("Name", [p.name for p in plan.people], "text"),
            Column("Born", [p.birth_year for p in plan.people], "year"),
            Column(
                f"Age in {plan.start_year}",
                [plan.start_year - p.birth_year for p in plan.people],
                "integer",
            ),
        ],
    )


def _balances(result) -> Table:
    plan, rules = result.plan, result.rules
    labels = account_labels(plan, rules)
    accounts = plan.accounts
    return Table(
        f"Balances at the start of {plan.start_year}, by account and tier",
        [
            Column("Account", [labels[a.name] for a in accounts], "text"),
            Column("Owner", [a.owner or "joint" for a in accounts], "text"),
            *(
                Column(
                    f"{tier_label(t)} {TODAY}",
                    [a.balances.get(t, 0.0) for a in accounts],
                    total=True,
                )
                for t in plan.tier_names
            ),
            Column(f"Total {TODAY}", [a.total for a in accounts], total=True),
        ],
    )


def _basis(result) -> list[Table]:
    plan, rules = result.plan, result.rules
    labels = account_labels(plan, rules)
    taxable = [
        a
        for a in plan.accounts
        if rules.account_kinds[a.kind].growth == "taxed" and not getattr(a, "implied", False)
    ]
    if not taxable:
        return []
    return [
        Table(
            "Cost basis in taxable accounts (what was paid)",
            [
                Column("Account", [labels[a.name] for a in taxable], "text"),
                Column("", ["" for _ in taxable], "text"),
                *(
                    Column(f"{tier_label(t)} {TODAY}", [a.basis_of(t) for a in taxable], total=True)
                    for t in plan.tier_names
                ),
                Column(
                    f"Total {TODAY}",
                    [sum(a.basis_of(t) for t in plan.tier_names) for a in taxable],
                    total=True,
                ),
            ],
        )
    ]


def _stream_start(stream) -> str:
    """When a stream starts, in words (a claimed benefit: its claiming age)."""
    if stream.claimed_by_age:
        return f"age {stream.claim_age}"
    return f"age {stream.start_age}" if stream.start_age is not None else str(stream.start_year)


def _stream_annual(result, stream) -> float:
    """Today's dollars a year at the start: a claimed benefit's as claimed."""
    if stream.claimed_by_age:
        return claim_of(result.plan, stream, result.rules).annual_real
    return stream.annual


def _claims(result) -> list[Table]:
    """Social Security given at full retirement age: the claim each person makes."""
    claims = getattr(result, "social_security", None)  # a Result; not a plain stand-in
    if claims is None or claims.empty:
        return []
    return [
        Table(
            "Social Security claims",
            [
                Column("Person", list(claims["person"]), "text"),
                Column(f"Full benefit a year {TODAY}", list(claims["pia_annual_real"])),
                Column("Claiming age", [str(a) for a in claims["claim_age"]], "text"),
                Column("From", list(claims["claim_year"]), "year"),
                Column("Share of the full benefit", list(claims["benefit_factor"]), "percent"),
                Column(f"A year once claimed {TODAY}", list(claims["first_year_benefit_real"])),
                Column(
                    "Age set by",
                    [CHOSEN_BY[c] for c in claims["chosen_by"]],
                    "text",
                ),
            ],
        )
    ]


def _marketplace(plan, rules) -> list[Table]:
    """The plan's marketplace coverage before Medicare (its [aca] table), when it has one."""
    if plan.aca is None or rules.aca is None:
        return []
    aca = plan.aca
    names = list(aca.benchmark_premium)
    last_year = {n: plan.person(n).birth_year + rules.aca.until_age - 1 for n in names}
    size = aca.household_size or len(plan.people)
    return [
        Table(
            "Marketplace coverage before Medicare",
            [
                Column("Person", names, "text"),
                Column(
                    f"Benchmark premium, a year {TODAY}",
                    [aca.benchmark_premium[n] for n in names],
                    total=True,
                ),
                Column("From", [aca.from_year or plan.retirement_year for _ in names], "year"),
                Column("Through", [last_year[n] for n in names], "year"),
            ],
            note=f"The benchmark is the second-lowest-cost silver plan; the premium tax credit "
            f"is worked out each year on that year's income, for a household of {size}.",
        )
    ]


def _income(result) -> list[Table]:
    plan, rules = result.plan, result.rules
    out = []
    if plan.income:
        streams = plan.income
        out.append(
            Table(
                "Income streams",
                [
                    Column("Name", [s.name for s in streams], "text"),
                    Column("Kind", [STREAM_KINDS.get(s.kind, s.kind) for s in streams], "text"),
                    Column("Owner", [s.owner or "" for s in streams], "text"),
                    Column("Starts", [_stream_start(s) for s in streams], "text"),
                    Column(
                        "Ends",
                        [str(s.end_year) if s.end_year else "for life" for s in streams],
                        "text",
                    ),
                    Column(f"A year {TODAY}", [_stream_annual(result, s) for s in streams]),
                    Column(
                        "Raised with inflation", [s.inflation_adjusted for s in streams], "text"
                    ),
                ],
            )
        )
    if plan.earnings:
        out.append(
            Table(
                "Earnings",
                [
                    Column("Person", [e.person for e in plan.earnings], "text"),
                    Column(f"Wages a year {TODAY}", [e.annual for e in plan.earnings]),
                    Column(
                        "Last year",
                        [e.until_year or plan.retirement_year - 1 for e in plan.earnings],
                        "year",
                    ),
                ],
            )
        )
    c = plan.contributions
    if c.yearly_amount or c.initial or c.fixed:
        rows = [
            (f"Saved each year {TODAY}", c.yearly_amount, "money"),
            (f"One-off amount in {plan.start_year} {TODAY}", c.initial, "money"),
            ("Real growth of the savings a year", c.growth, "percent"),
            ("Last year of saving", c.until_year or plan.retirement_year - 1, "year"),
        ]
        rows += [
            (
                f"Fixed each year to {_fixed_label(plan, rules, f.account)} {TODAY}",
                f.annual,
                "money",
            )
            for f in c.fixed
        ]
        out.append(_pairs("Savings", rows))
    return out


def _fixed_label(plan, rules, account: str) -> str:
    return account_labels(plan, rules).get(account, account)


def _pairs(title: str, rows: list[tuple[str, object, str]]) -> Table:
    """A two-column table whose values have mixed kinds (written as text where not money)."""
    return Table(
        title,
        [
            Column("", [label for label, _v, _k in rows], "text", width=30),
            Column("", [_shown(v, k) for _l, v, k in rows], "text"),
        ],
    )


def _shown(value, kind: str) -> str:
    if isinstance(value, str):
        return value
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "year":
        return str(int(value))
    return str(value)


def _assumptions(result) -> Table:
    plan, rules = result.plan, result.rules
    p, obj = plan.profile, plan.objective
    weights = ", ".join(f"{tier_label(t)} {v:.0%}" for t, v in p.weights.items())
    policy = policy_label(plan.withdrawal)
    if obj.kind == "max_spending":
        policy = "not used: the goal sets the spending (highest steady amount)"
    rows: list[tuple[str, object, str]] = [
        ("Goal", objective_label(obj.kind), "text"),
        ("Withdrawal policy", policy, "text"),
        *(
            [
                (
                    "A required distribution above the policy's withdrawal is",
                    RMD_SURPLUS[surplus],
                    "text",
                )
            ]
            if (surplus := getattr(plan.withdrawal, "rmd_surplus", None)) in RMD_SURPLUS
            else []
        ),
        ("Retirement year", plan.retirement_year, "year"),
        ("Last year of the plan", plan.end_year, "year"),
        ("Inflation a year", plan.inflation, "percent"),
        (f"Estate to leave at least {TODAY}", obj.bequest_floor, "money"),
        ("Heirs' tax rate on traditional money", obj.heir_tax_rate, "percent"),
        *(
            [("Roth conversions allowed", "yes" if plan.options.roth_conversions else "no", "text")]
            if Vocabulary.converts(result.rules)
            else []
        ),
        ("Portfolio mix (index tiers)", weights, "text"),
        ("Each tier may differ from its weight by", p.tolerance, "percent"),
    ]
    if p.reserve_tier:
        rows.append(
            (
                f"Cash reserve ({tier_label(p.reserve_tier)})",
                f"{p.reserve_min:.0%} to {p.reserve_max:.0%} of the portfolio",
                "text",
            )
        )
    if p.glide_path:
        g = p.glide_path
        to = ", ".join(f"{tier_label(t)} {v:.0%}" for t, v in g.to_weights.items())
        rows.append(("Glide path", f"from age {g.start_age} to {g.end_age} towards {to}", "text"))
    basis = getattr(result, "return_basis", None)
    if basis:
        rows.append(("Returns the plan is built on", RETURN_BASIS.get(basis, basis), "text"))
    stress = getattr(result, "stress", None)
    if stress is not None:
        paths, seed = getattr(stress, "paths", None), getattr(stress, "seed", None)
        rows.append(("Stress test", f"{paths:,} simulated market paths, seed {seed}", "text"))
        tol = getattr(stress, "tolerance", None)
        if tol is not None:
            rows.append(("Safe spending found to within", f"${tol:,.0f} a year", "text"))
    rows.append(("Tax law", f"{rules.meta.title} ({rules.name})", "text"))
    rows.append(("Sources of the tax law", "every value with its source: the Rules sheet", "text"))
    return _pairs("Assumptions", rows)


def _notes(sheet: Sheet, result) -> None:
    """Facts the plan assumes that the household should confirm (Result.notes), with any
    plan-file field named in words."""
    implied = [a for a in result.plan.accounts if getattr(a, "implied", False)]
    labels = account_labels(result.plan, result.rules)
    notes = [_implied_note(result.rules, a, labels[a.name]) for a in implied]
    notes += [
        n
        for n in getattr(result, "notes", None) or []
        if not any(f"'{a.name}'" in n or f" {a.name} " in n for a in implied)
    ]
    if not notes:
        return
    last = len(sheet.widths) - 1
    sheet.keep(20.0 + 30.0 * len(notes))
    sheet.text_row("Please confirm", "section", 20.0)
    for note in notes:
        for name in sorted(labels, key=len, reverse=True):  # accounts by the client's names
            note = note.replace(name, labels[name])
        note = _rule_set_paths(note, result.rules)
        text = SNAKE_CASE.sub(lambda m: f"{humanize(m.group(0)).lower()} (in the plan file)", note)
        sheet.wrapped(text, last, lines=max(1, len(text) // 110 + 1))
    sheet.skip()


# "(account_kinds.sipp.tax_free_lifetime_limit)": a field path in parentheses.
FIELD_PATH = re.compile(r"\((?P<root>[a-z][a-z0-9_]*)(?:\[[^\]]*\])?(?:\.[A-Za-z0-9_]+)*\)")


def _rule_set_paths(note: str, rules) -> str:
    """A note's field path into the rule set (not the plan file) named as the rule set."""
    fields = type(rules).model_fields

    def named(m: re.Match) -> str:
        return f"(rule set {rules.name})" if m.group("root") in fields else m.group(0)

    return FIELD_PATH.sub(named, note)


def _implied_note(rules, account, label: str) -> str:
    if rules.account_kinds[account.kind].growth == "taxed":
        return (
            f"{label}: the plan opens this account (no money in it today) to reinvest required "
            "distributions above the spending, after their tax; to spend them instead, say so "
            "in the plan."
        )
    return (
        f"{label}: the plan opens this account (no money in it today) to receive the Roth "
        "conversions it recommends; a conversion can only go to the owner's own Roth."
    )


def _tiers(result) -> Table:
    plan = result.plan
    tiers = plan.tiers
    growth = getattr(result, "tier_returns", None) or {}
    cols = [
        Column("Tier", [tier_label(t.name) for t in tiers], "text"),
        Column("Expected return a year (average)", [t.expected_return for t in tiers], "percent"),
    ]
    if growth:
        cols.append(
            Column("Growth used in the plan a year", [growth.get(t.name) for t in tiers], "percent")
        )
    cols += [
        Column("Yield a year", [t.yield_rate for t in tiers], "percent"),
        Column(
            "Yield taxed as", [YIELD_CHARACTER.get(t.yield_character, "") for t in tiers], "text"
        ),
        Column("Volatility a year", [t.volatility for t in tiers], "percent"),
    ]
    return Table("Investment tiers", cols)


def write_location(sheet: Sheet, result) -> None:
    """Where each tier lives at today, retirement and later ages (after that year's moves)."""
    plan, rules = result.plan, result.rules
    labels = account_labels(plan, rules)
    tiers = plan.tier_names
    first = first_column_width(labels.values())
    sheet.set_widths([first, *([12.5] * (len(tiers) + 2))])
    sheet.text_row("Where each tier lives", "title", 24.0)
    sheet.text_row(
        "Holdings after each year's moves, in nominal dollars of that year; the last column "
        "is today's dollars.",
        "subtitle",
    )
    sheet.skip()
    location = result.location
    for snapshot, frame in location.groupby("snapshot", sort=False):
        year = int(frame["year"].iloc[0])
        factor = plan.inflation_factor(year)
        dollars = {(r.account, r.tier): r.dollars for r in frame.itertuples()}
        accounts = plan.accounts
        totals = [sum(dollars.get((a.name, t), 0.0) for t in tiers) for a in accounts]
        table = Table(
            f"{str(snapshot).capitalize()}: {year}",
            [
                Column("Account", [labels[a.name] for a in accounts], "text"),
                *(
                    Column(
                        f"{tier_label(t)} (nominal $)",
                        [dollars.get((a.name, t), 0.0) for a in accounts],
                        total=True,
                    )
                    for t in tiers
                ),
                Column("Total (nominal $)", totals, total=True),
                Column(
                    TODAY.strip("()").capitalize() + " total ($)",
                    [v / factor for v in totals],
                    total=True,
                ),
            ],
        )
        sheet.keep(20 + 54 + 15 * (len(accounts) + 3))
        place = write_table(sheet, table)
        portfolio = sum(totals)
        row = place.total_row + 1 if place.total_row is not None else sheet.row
        sheet.write(row, 0, "Share of the portfolio", style="note")
        for j, t in enumerate(tiers, start=1):
            share = (
                sum(dollars.get((a.name, t), 0.0) for a in accounts) / portfolio
                if portfolio
                else 0.0
            )
            sheet.write(row, j, share, "percent")


def write_plan_file(sheet: Sheet, result) -> None:
    """The plan as read and validated, as JSON: one line per row."""
    sheet.set_widths([120])
    sheet.text_row("The plan file, as read", "title", 24.0)
    sheet.text_row("Every field of the plan after validation, defaults filled in (JSON).", "note")
    sheet.skip()
    text = result.plan.model_dump_json(indent=2, by_alias=True)
    for line in text.splitlines():
        row = sheet.advance()
        sheet.write(row, 0, line)

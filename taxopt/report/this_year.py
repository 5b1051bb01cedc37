"""This year's action list: per account what to contribute, withdraw and convert, the RMD
due, the trades between tiers, the taxable lots to sell with their gain, the expected tax,
and the room left in the bracket, the 0% gains band and below the NIIT threshold.

Amounts are the plan's first year, so nominal and today's dollars are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxopt.marketplace import marketplace_years
from taxopt.report.book import Sheet
from taxopt.report.headroom import Headroom, headroom, with_irmaa_room
from taxopt.report.labels import account_labels, surtax_label, tier_label
from taxopt.report.tables import Column, Table, first_column_width, write_table

TRADE_FLOOR = 1.0  # dollars: smaller tier changes are not trades


@dataclass(frozen=True)
class AccountAction:
    account: str
    kind: str
    opening: float
    contribute: float
    withdraw: float
    convert_out: float
    convert_to: str
    rmd_due: float
    after: float


@dataclass(frozen=True)
class TierTrade:
    account: str
    tier: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class LotSale:
    account: str
    tier: str
    bought: str
    proceeds: float
    basis: float

    @property
    def gain(self) -> float:
        return self.proceeds - self.basis


def first_year(result) -> int:
    return int(result.plan.start_year)


def account_actions(result) -> list[AccountAction]:
    plan, rules = result.plan, result.rules
    year = first_year(result)
    row = result.yearly.iloc[0]
    labels = account_labels(plan, rules)
    holdings = result.ledger.holdings
    now = holdings[holdings["year"] == year]
    out = []
    for a in plan.accounts:
        targets = sorted(
            {
                labels[d]
                for (s, d, y), v in result.decisions.conversions.items()
                if s == a.name and y == year and v > TRADE_FLOOR
            }
        )
        out.append(
            AccountAction(
                account=labels[a.name],
                kind=rules.account_kinds[a.kind].label,
                opening=float(row[f"opening_{a.name}"]),
                contribute=float(row[f"contribution_{a.name}"]),
                withdraw=float(row[f"withdrawal_{a.name}"]),
                convert_out=float(row[f"conversion_out_{a.name}"]),
                convert_to=", ".join(targets),
                rmd_due=float(row[f"rmd_{a.name}"]),
                after=float(now[now["account"] == a.name]["post_trade"].sum()),
            )
        )
    return out


def tier_trades(result) -> list[TierTrade]:
    """Each account's holding of each tier before and after this year's moves."""
    plan = result.plan
    year = first_year(result)
    labels = account_labels(plan, result.rules)
    holdings = result.ledger.holdings
    now = holdings[holdings["year"] == year]
    out = []
    for a in plan.accounts:
        for tier in plan.tier_names:
            before = float(a.balances.get(tier, 0.0))
            after = float(
                now[(now["account"] == a.name) & (now["tier"] == tier)]["post_trade"].sum()
            )
            if abs(after - before) > TRADE_FLOOR:
                out.append(TierTrade(labels[a.name], tier_label(tier), before, after))
    return out


def lot_sales(result) -> list[LotSale]:
    """Taxable lots sold this year: the plan's opening lots at today's value and basis."""
    plan = result.plan
    year = first_year(result)
    labels = account_labels(plan, result.rules)
    accounts = {a.name: a for a in plan.accounts}
    out = []
    for (account, tier, bought, opening, sold), units in result.decisions.lot_sales.items():
        if sold != year or units <= TRADE_FLOOR * 1e-3:
            continue
        a = accounts[account]
        balance = a.balances.get(tier, 0.0)
        basis_share = a.basis_of(tier) / balance if opening and balance > 0 else 1.0
        # In the first year every lot is worth what it held at the start (value per unit 1).
        out.append(
            LotSale(
                labels[account],
                tier_label(tier),
                "held today" if opening else str(bought),
                units,
                units * basis_share,
            )
        )
    return out


def this_year_headroom(result) -> Headroom:
    plan = result.plan
    year = first_year(result)
    income = result.ledger.inputs[0]
    room = headroom(result.rules.for_year(year, plan.inflation), income)
    premium_year = irmaa_premium_year(result)
    if premium_year is None:
        return room
    return with_irmaa_room(room, result.rules.for_year(premium_year, plan.inflation), income)


def irmaa_premium_year(result) -> int | None:
    """The year whose Medicare premiums this year's MAGI sets, when someone will be on
    Medicare then; None otherwise (or without a [medicare] table)."""
    medicare = result.rules.medicare
    if medicare is None:
        return None
    premium_year = first_year(result) + medicare.lookback_years
    if medicare.on_medicare(result.plan.ages_in(premium_year)) == 0:
        return None
    return premium_year


@dataclass(frozen=True)
class MarketplacePosition:
    """This year's marketplace premium and the income room around the premium tax credit:
    lines for the tax block (label, nominal dollars, format) and note lines."""

    lines: list[tuple[str, float | None, str]]
    notes: list[str]


def marketplace_position(result) -> MarketplacePosition | None:
    """The premium after the credit, the MAGI left before the next band of the applicable
    percentage and below the cliff (or above it), when the plan buys marketplace coverage
    this year; None otherwise."""
    year = first_year(result)
    bought = marketplace_years(result.plan, result.rules).get(year)
    if bought is None:
        return None
    aca = result.rules.for_year(year, result.plan.inflation).aca
    row = result.yearly.iloc[0]
    size, area, benchmark = bought.household_size, bought.area, bought.benchmark_premium
    ptc = aca.premium_tax_credit(row["aca_magi"], size, benchmark, area)
    cliff = aca.eligible_to * aca.poverty_line(size, area)
    at_cliff = aca.premium_tax_credit(cliff, size, benchmark, area).credit
    lines: list[tuple[str, float | None, str]] = [
        ("Marketplace premium after the premium tax credit ($)", ptc.net_premium, "money"),
    ]
    if ptc.cliff_room is None:
        lines.append(
            ("Income (MAGI) above the credit's cliff ($)", row["aca_magi"] - cliff, "money")
        )
    else:
        if ptc.band_room is not None and ptc.band_room < ptc.cliff_room:
            lines.append(
                ("Income (MAGI) left before the credit's next band ($)", ptc.band_room, "money")
            )
        lines.append(("Income (MAGI) left below the credit's cliff ($)", ptc.cliff_room, "money"))
    notes = [
        "The premium tax credit is measured on this year's income (AGI plus untaxed Social "
        f"Security), now {ptc.fpl_ratio:.0%} of the poverty line.",
        f"Above {cliff:,.0f} ({aca.eligible_to:.0%} of the poverty line) the whole credit is "
        f"lost: {at_cliff:,.0f} this year at the cliff.",
    ]
    return MarketplacePosition(lines, notes)


def write_this_year(sheet: Sheet, result) -> None:
    year = first_year(result)
    words = sheet.book.vocabulary
    actions = account_actions(result)
    first = first_column_width([a.account for a in actions])
    sheet.set_widths(
        [first, 12, 11, 11]
        + ([11, 20] if words.has_conversions else [])
        + ([11] if words.has_rmd else [])
        + [12]
    )
    sheet.text_row(f"What to do in {year}", "title", 24.0)
    sheet.text_row(
        f"All amounts are {year} dollars (the plan's first year, so also today's dollars).",
        "subtitle",
    )
    solved = getattr(result, "scenarios", None)
    if solved is not None:
        sheet.text_row(
            f"Chosen against {solved.tree.scenarios} return scenarios (table below); later "
            "years re-plan from them on the median path."
            if solved.kept
            else f"The one-path plan's moves: on {solved.validation_paths:,} validation paths "
            f"they kept more safe spending than those chosen against {solved.tree.scenarios} "
            "scenarios (table below).",
            "subtitle",
        )
    sheet.skip()
    columns = [
        Column("Account", [a.account for a in actions], "text", width=first),
        Column(f"Balance at the start of {year} ($)", [a.opening for a in actions], total=True),
        Column("Contribute ($)", [a.contribute for a in actions], total=True),
        Column("Withdraw ($)", [a.withdraw for a in actions], total=True),
    ]
    if words.has_conversions:
        columns += [
            Column("Convert to Roth ($)", [a.convert_out for a in actions], total=True),
            Column("Convert into", [a.convert_to for a in actions], "text"),
        ]
    if words.has_rmd:
        columns.append(Column("RMD due ($)", [a.rmd_due for a in actions], total=True))
    columns.append(Column("Balance after these moves ($)", [a.after for a in actions], total=True))
    note = "Withdrawals from a taxable account are sales net of purchases"
    if words.has_rmd:
        met_by = "withdrawal and conversion" if words.has_conversions else "withdrawal"
        note += f"; the RMD due is met by the {met_by} from the same account"
    write_table(
        sheet,
        Table(
            "Each account",
            columns,
            note=note + ".",
        ),
    )
    trades = tier_trades(result)
    if trades:
        write_table(
            sheet,
            Table(
                "Trades between tiers inside each account",
                [
                    Column("Account", [t.account for t in trades], "text"),
                    Column("Tier", [t.tier for t in trades], "text"),
                    Column("Held now ($)", [t.before for t in trades]),
                    Column("Hold after the moves ($)", [t.after for t in trades]),
                    Column("Buy (+) / sell (-) ($)", [t.change for t in trades]),
                ],
                note="Changes include this year's contributions, "
                + ("withdrawals and conversions." if words.has_conversions else "and withdrawals."),
            ),
        )
    else:
        sheet.text_row("No trades between tiers this year.", "note")
        sheet.skip()
    sales = lot_sales(result)
    if sales:
        write_table(
            sheet,
            Table(
                "Taxable investments to sell, with their gain",
                [
                    Column("Account", [s.account for s in sales], "text"),
                    Column("Tier", [s.tier for s in sales], "text"),
                    Column("Bought", [s.bought for s in sales], "text"),
                    Column("Sell ($)", [s.proceeds for s in sales], total=True),
                    Column("Cost basis ($)", [s.basis for s in sales], total=True),
                    Column("Gain taxed ($)", [s.gain for s in sales], total=True),
                ],
            ),
        )
    else:
        sheet.text_row("No taxable investments to sell this year.", "note")
        sheet.skip()
    _tax_block(sheet, result)
    if solved is not None:
        _scenario_table(sheet, solved)


def _scenario_table(sheet: Sheet, solved) -> None:
    """Percentiles across the scenarios this year's moves were chosen against."""
    table = solved.table()
    labels = [f"{p}th" if p != "mean" else "mean" for p in table["percentile"]]
    sheet.skip()
    write_table(
        sheet,
        Table(
            f"Across the {solved.tree.scenarios} scenarios (today's $)",
            [
                Column("Percentile", labels, "text"),
                Column("Lowest spending a year ($)", list(table["sustained_spending"])),
                Column("Estate after tax ($)", list(table["after_tax_estate"])),
                Column("Lifetime tax ($)", list(table["lifetime_tax"])),
            ],
            note="The scenario model's figures (fast-mode taxes), each on its own path; "
            "other sheets: the median-path re-plan.",
        ),
    )


def _tax_block(sheet: Sheet, result) -> None:
    row = result.yearly.iloc[0]
    room = this_year_headroom(result)
    rules = result.rules
    example_income = (
        "a conversion"
        if sheet.book.vocabulary.has_conversions
        else "a withdrawal from a traditional account"
    )
    lines: list[tuple[str, float | None, str]] = [
        ("Adjusted gross income ($)", row["agi"], "money"),
        ("Taxable income ($)", row["taxable_income"], "money"),
        ("Tax on ordinary income ($)", row["ordinary_tax"], "money"),
        ("Tax on dividends and gains ($)", row["capital_gains_tax"], "money"),
        ("Net investment income tax ($)", row["niit"], "money"),
        ("Early-withdrawal penalty ($)", row["early_withdrawal_penalty"], "money"),
    ]
    if result.plan.state is not None:  # the total adds the state's tax: show it beside
        lines += [
            ("Federal income tax ($)", row["federal_tax"], "money"),
            (f"State income tax, {result.plan.state.upper()} ($)", row["state_tax"], "money"),
        ]
    lines += [
        ("Expected income tax, total ($)", row["total_tax"], "money"),
        ("Tax bracket of the last dollar of ordinary income", room.bracket_rate, "percent"),
    ]
    if room.ordinary_room is not None:
        lines.append(
            (
                f"More ordinary income ({example_income}, say) before the "
                f"{room.next_bracket_rate:.0%} bracket ($)",
                room.ordinary_room,
                "money",
            )
        )
    if room.zero_rate_gains_room is not None:
        lines.append(
            (
                "More long-term gains that can be realized at 0% ($)",
                room.zero_rate_gains_room,
                "money",
            )
        )
    for surtax in rules.surtaxes:
        lines.append(
            (
                f"Income (MAGI) left below the {surtax_label(surtax.name)} threshold ($)",
                room.surtax_room[surtax.name],
                "money",
            )
        )
    premium_year = irmaa_premium_year(result)
    if premium_year is not None and room.irmaa_tier is not None:
        tier = f"tier {room.irmaa_tier}" if room.irmaa_tier else "no surcharge"
        lines.append(
            (
                f"Income (MAGI) left below the next Medicare tier, {premium_year} ($)",
                room.irmaa_room,
                "money",
            )
        )
    marketplace = marketplace_position(result)
    if marketplace is not None:
        lines += marketplace.lines
    sheet.keep(20.0 + 15.0 * (len(lines) + 2))
    sheet.text_row("Expected tax and the room left this year", "section", 20.0)
    for label, value, kind in lines:
        row = sheet.advance()
        sheet.ws.merge_range(row, 0, row, 3, sheet.book.say(label), sheet.book.format("body"))
        sheet.write(row, 4, value, kind, "bold" if "total" in label else "body")
    sheet.text_row(
        "Room figures come from the tax calculator: each is the extra income of that kind "
        "that keeps this year's tax position, taxable Social Security and deductions included.",
        "note",
    )
    for note in marketplace.notes if marketplace is not None else []:
        sheet.text_row(note, "note")
    if premium_year is not None and room.irmaa_tier is not None:
        sheet.text_row(
            f"Medicare looks back two years: this year's income sets the {premium_year} "
            f"premium surcharge (IRMAA), now {tier}, for each person then on Medicare.",
            "note",
        )

"""An independent scan for circles of money (see taxopt.circles), for the tests.

Reads only the ledger's yearly table and the plain decisions; shares no code with
taxopt.circles.
"""

from __future__ import annotations

from taxopt.rules import Growth


def independent_circles(plan, rules, result) -> set[tuple]:
    """Circles found from the ledger's table and the decisions, without taxopt.circles:
    (year, kind, account, tier) for every pair of legs of at least $1."""
    kinds = {a.name: rules.account_kinds[a.kind] for a in result.plan.accounts}
    found = set()
    d = result.decisions
    for row in result.yearly.itertuples():
        y = row.year
        taxed_in = any(
            getattr(row, f"contribution_{a}") >= 1 for a in kinds if kinds[a].growth == Growth.TAXED
        )
        for a, kind in kinds.items():
            drawn = getattr(row, f"withdrawal_{a}")
            if getattr(row, f"contribution_{a}") >= 1 and drawn >= 1:
                found.add((y, "contribution_and_withdrawal", a, None))
            converted_in = sum(v for (_s, t, yy), v in d.conversions.items() if t == a and yy == y)
            if converted_in >= 1 and drawn >= 1:
                found.add((y, "conversion_and_withdrawal", a, None))
            if kind.growth == Growth.EXEMPT and drawn >= 1 and taxed_in:
                found.add((y, "exempt_to_taxable", a, None))
    growth = {t.name: 1 + t.deterministic_return(plan.return_basis) for t in plan.tiers}
    for (a, tier, year), bought in d.buys.items():
        sold = sum(
            units * growth[tier] ** (year - bought_in)
            for (acct, t, bought_in, _o, sold_in), units in d.lot_sales.items()
            if (acct, t, sold_in) == (a, tier, year)
        )
        if bought >= 1 and sold >= 1:
            found.add((year, "purchase_and_sale", a, tier))
    return found

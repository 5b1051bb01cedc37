"""The decisions a plan consists of, as plain data: what the ledger replays.

Produced by the optimizer (read off the solved model) or by a rule-of-thumb policy
(baselines). All amounts are nominal dollars of their year, at the start of that year.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Decisions:
    contributions: dict[tuple[str, int], float] = field(default_factory=dict)  # (account, year)
    withdrawals: dict[tuple[str, int], float] = field(default_factory=dict)  # (account, year)
    conversions: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (src, dst, year)
    # Sheltered accounts: post-trade dollars per tier; the ledger keeps the shares.
    allocation: dict[tuple[str, str, int], float] = field(
        default_factory=dict
    )  # (acct, tier, year)
    # Taxable accounts: purchases per tier, and sales by lot in purchase units.
    buys: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (acct, tier, year)
    lot_sales: dict[tuple[str, str, int, bool, int], float] = field(default_factory=dict)
    # ^ (account, tier, purchase year, is opening lot, sale year) -> units sold
    # Capped tax-free parts of withdrawals (UK lump sum allowance; taxopt.model.tax_free):
    # (account, year) -> nominal amount taken tax free; an account without entries takes
    # its kind's fraction of each withdrawal until the lifetime limit is used.
    tax_free: dict[tuple[str, int], float] = field(default_factory=dict)
    label: str = "optimized"

    def contribution(self, account: str, year: int) -> float:
        return self.contributions.get((account, year), 0.0)

    def withdrawal(self, account: str, year: int) -> float:
        return self.withdrawals.get((account, year), 0.0)

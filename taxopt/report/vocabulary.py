"""The words of a rule set's jurisdiction for the texts of taxopt, written in US terms.

The report's texts say "Roth", "traditional", "taxable account", "RMD" and "$"; a rule set
names its own: each account kind's `short_label` (UK: ISA, SIPP, GIA) stands for the place
of its growth (exempt, deferred, taxed), the currency symbol and unit word come from
taxopt.currency, and a rule set without [rmd] or conversions has no such sections (the
sheets ask `has_rmd` / `has_conversions`). A US rule set (no short labels, USD) keeps every
text as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from taxopt.currency import UNIT_WORDS, localize
from taxopt.rules import Growth, RuleSet

US_PLACES = {Growth.EXEMPT: "Roth", Growth.DEFERRED: "traditional", Growth.TAXED: "taxable"}


@dataclass(frozen=True)
class Vocabulary:
    currency: str = "USD"
    places: dict = field(default_factory=lambda: dict(US_PLACES))
    has_rmd: bool = True
    has_conversions: bool = True
    public_pension: str = "Social Security"

    @classmethod
    def of(cls, rules: RuleSet, plan=None) -> Vocabulary:
        places = dict(US_PLACES)
        for growth in Growth:
            kinds = [k for k in rules.account_kinds.values() if k.growth == growth]
            if kinds and all(k.short_label for k in kinds):
                places[growth] = "/".join(dict.fromkeys(k.short_label for k in kinds))
        streams = {s.kind for s in getattr(plan, "income", None) or []}
        public = "Social Security"
        if rules.social_security is None:
            public = "State Pension" if "state_pension" in streams else "public pensions"
        public = rules.meta.public_pension or public
        return cls(
            currency=rules.meta.currency,
            places=places,
            has_rmd=rules.rmd is not None and any(k.rmd for k in rules.account_kinds.values()),
            has_conversions=cls.converts(rules),
            public_pension=public,
        )

    @staticmethod
    def converts(rules: RuleSet) -> bool:
        """Whether any account kind of the rule set converts into another (US Roth)."""
        return any(k.convertible_to for k in rules.account_kinds.values())

    @property
    def is_us(self) -> bool:
        return self.places == US_PLACES and self.public_pension == "Social Security"

    def say(self, text: str) -> str:
        """`text` (written in US terms and dollars) in this jurisdiction's words."""
        text = localize(text, self.currency)
        if self.is_us:
            return text
        exempt, deferred = self.places[Growth.EXEMPT], self.places[Growth.DEFERRED]
        taxed = self.places[Growth.TAXED]
        for pattern, word in (
            (r"\bRoth\b", exempt),
            (r"\b[Tt]raditional\b", deferred),
            (r"\btaxable accounts\b", f"{taxed} accounts"),
            (r"\btaxable account\b", f"{taxed} account"),
            (r"\bTaxable accounts?\b", f"{taxed} account"),
            (r"\bthe rest taxable\b", f"the rest in {taxed}"),
            (r"\btaxable and\b", f"{taxed} and"),
            (r"\btaxable (?=\d)", f"{taxed} "),  # a share: "taxable 61%"
            (r"\b[Ss]ocial [Ss]ecurity\b", self.public_pension),
            (r"\bState Pension\b", self.public_pension),  # the stream kind's label
            (r"\bdollar\b", UNIT_WORDS.get(self.currency.upper(), "unit").removesuffix("s")),
            (r"\bRMDs?\b", "minimum withdrawal"),
            (r"\bIRA, 401\(k\)\b", deferred),
            (r"\bAn minimum\b", "A minimum"),
            (r"\ban minimum\b", "a minimum"),
            (r"^minimum withdrawal", "Minimum withdrawal"),  # a header or sentence start
        ):
            text = re.sub(pattern, word, text)
        return text

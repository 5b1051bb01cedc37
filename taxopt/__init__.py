"""taxopt: where each risk tier should live, how to contribute, how to withdraw with least tax."""

from taxopt.errors import InfeasiblePlanError, InputError, SolverError, TaxoptError
from taxopt.rules import RuleSet, available_rule_sets, load_rules
from taxopt.tax import TaxInput, TaxResult, compute_tax

__all__ = [
    "InfeasiblePlanError",
    "InputError",
    "RuleSet",
    "SolverError",
    "TaxInput",
    "TaxResult",
    "TaxoptError",
    "available_rule_sets",
    "compute_tax",
    "load_rules",
]
__version__ = "0.1.0"

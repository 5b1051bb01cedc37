"""taxopt: where each risk tier should live, how to contribute, how to withdraw with least tax.

plan = taxopt.load_plan("examples/couple-near-retirement.toml")
result = taxopt.optimize(plan, taxopt.load_rules("us-federal-2026"))
result.location, result.yearly, result.baselines_table
"""

from taxopt.batching import batch
from taxopt.compare import Comparison, compare
from taxopt.errors import InfeasiblePlanError, InputError, SolverError, TaxoptError
from taxopt.optimize import optimize
from taxopt.plan import Plan, load_plan
from taxopt.project import Projection, future_value, project
from taxopt.result import Result
from taxopt.rules import RuleSet, available_rule_sets, load_rules
from taxopt.simulate import Simulation, simulate
from taxopt.tax import TaxInput, TaxResult, compute_tax

__all__ = [
    "batch",
    "Comparison",
    "compare",
    "InfeasiblePlanError",
    "InputError",
    "Plan",
    "Projection",
    "Result",
    "RuleSet",
    "Simulation",
    "SolverError",
    "TaxInput",
    "TaxResult",
    "TaxoptError",
    "available_rule_sets",
    "compute_tax",
    "future_value",
    "load_plan",
    "load_rules",
    "optimize",
    "project",
    "simulate",
]
__version__ = "0.1.0"

"""Reports built from a Result: the advisor's workbook (excel.py) and its parts."""

from taxopt.report.excel import add_plan_sheets, build_plan_workbook, write_plan_workbook

__all__ = ["add_plan_sheets", "build_plan_workbook", "write_plan_workbook"]

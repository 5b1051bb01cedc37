"""Checked command-line values: every number flag is finite and within a stated range.

`number(low, high)` is an argparse `type=` that refuses text that is not a number, NaN,
infinities and values outside [low, high] with one line naming the range; `integer(...)`
also wants a whole number. `inputs_of` and `output` help the commands check their output
paths (taxopt.io.check_outputs) before any work.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from taxopt.io import Output

PLAN_SUFFIXES = (".toml", ".json")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like taxopt's other errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"taxopt: {message} (see {self.prog} --help)\n")


def number(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """A float in [low, high]; `unit` is shown in the message ("seconds")."""
    span = _span(low, high, unit)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number; give {span}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside the range; give {span}")
        return value

    return parse


def integer(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """A whole number in [low, high]."""
    span = _span(low, high, unit, whole=True)

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number; give {span}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside the range; give {span}")
        return value

    return parse


def _span(low: float, high: float, unit: str, whole: bool = False) -> str:
    kind = "a whole number" if whole else "a number"
    return f"{kind} from {_figure(low)} to {_figure(high)}{' ' + unit if unit else ''}"


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def output(path: str | None, kind: str, flag: str) -> Output | None:
    return Output(path, kind, flag) if path else None


def inputs_of(*given: str | None) -> list[str]:
    """The files a run reads, a folder of plans expanding to its plan files."""
    files: list[str] = []
    for item in given:
        if not item:
            continue
        path = Path(item)
        if path.is_dir():
            files += [str(p) for p in sorted(path.iterdir()) if p.suffix in PLAN_SUFFIXES]
        else:
            files.append(item)
    return files


def warn(message: str) -> None:
    print(f"taxopt: warning: {message}", file=sys.stderr)

"""Seconds spent on each kind of work in a run (model builds, solves, the whole call).

One `Stopwatch` goes with a run; code that builds or solves wraps the work in
`with clock.timing("build"):` and the totals are read once at the end, instead of each step
adding its own seconds to a running sum.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Wall seconds by kind of work, summed over every `timing` block of that kind."""

    def __init__(self) -> None:
        self._seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, kind: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[kind] += time.perf_counter() - started

    def seconds(self, kind: str) -> float:
        """Seconds spent in `kind` so far (0 when none)."""
        return self._seconds.get(kind, 0.0)

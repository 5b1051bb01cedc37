"""A one-line progress report on a terminal: rows done, failures, rate and time left.

Quiet when the stream is not a terminal (a log file, a pipe, a test), unless asked for.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REFRESH_SECONDS = 0.25


class Progress:
    def __init__(
        self,
        total: int,
        skipped: int,
        engine: str,
        enabled: bool | None = None,
        stream: TextIO | None = None,
    ):
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.total, self.skipped, self.engine = total, skipped, engine
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._shown = 0.0

    def update(self, row: dict) -> None:
        self.done += 1
        if row.get("status") != "ok":
            self.failed += 1
        now = time.monotonic()
        if self.enabled and (now - self._shown >= REFRESH_SECONDS or self.done == self.total):
            self._shown = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        skipped = f", {self.skipped} done before" if self.skipped else ""
        return (
            f"batch [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            f" ({self.failed} failed{skipped}) {rate * 60:.1f}/min"
            f" ETA {_clock(left)} on {self.engine}"
        )

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

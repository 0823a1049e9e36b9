"""Timestamped progress lines: a chaos run takes minutes, and says what it is doing."""

from __future__ import annotations

import time


class Progress:
    def __init__(self, *, quiet: bool = False) -> None:
        self._started = time.monotonic()
        self.quiet = quiet

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def __call__(self, line: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {line}", flush=True)

"""A progress bar on stderr without dependencies: redrawn in place on a terminal, a line every
10 % when stderr is a file or a CI log (where carriage returns turn into noise)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class Progress:
    def __init__(
        self,
        total: int | None,
        *,
        label: str,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._clock = clock
        self._last_draw = float("-inf")
        self._last_step = 0  # the last 10 % step printed in line mode
        self._drawn = False
        self._finished = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.finish(completed=kind is None)

    def percent(self) -> int | None:
        if self.total is None:
            return None
        if self.total <= 0:
            return 100
        return min(100, self.done * 100 // self.total)

    def advance(self, count: int) -> None:
        self.done += count
        if self._tty:
            now = self._clock()
            if now - self._last_draw >= REDRAW_SECONDS:
                self._last_draw = now
                self._draw()
            return
        pct = self.percent()
        if pct is not None and pct // 10 > self._last_step:
            self._last_step = pct // 10
            self._line(pct)

    def finish(self, *, completed: bool = True) -> None:
        if self._finished:
            return
        self._finished = True
        if self._tty:
            if completed or self._drawn:
                self._draw()
                self._stream.write("\n")
                self._stream.flush()
            return
        if completed and (self.total is None or self._last_step < 10):
            self._line(self.percent())

    def _draw(self) -> None:
        pct = self.percent()
        if pct is None:
            text = f"\r{self.label}: {human_bytes(self.done)} sent"
        else:
            filled = BAR_WIDTH * pct // 100
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            amount = f"{human_bytes(self.done)} / {human_bytes(self.total or 0)}"
            text = f"\r{self.label} [{bar}] {pct:3d}%  {amount}"
        # Pad so that a shorter redraw does not leave the tail of the previous one.
        self._stream.write(text.ljust(BAR_WIDTH + len(self.label) + 40))
        self._stream.flush()
        self._drawn = True

    def _line(self, pct: int | None) -> None:
        if pct is None:
            text = f"{self.label}: {human_bytes(self.done)} sent"
        else:
            text = (
                f"{self.label}: {pct}% ({human_bytes(self.done)} of {human_bytes(self.total or 0)})"
            )
        print(text, file=self._stream, flush=True)

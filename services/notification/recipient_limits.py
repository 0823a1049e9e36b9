"""At most so many emails per recipient address per minute.

A course with `copy_to` sends its HR contact a copy of every certificate: 200 of them in a few
seconds look like a flood to the receiving server, which then throttles or blocks the sender.
The limit is per process (each instance keeps its own window), which is what a rate limit
against one mailbox needs to be approximately right.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

WINDOW = 60.0


class RecipientRateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._swept = clock()

    def wait(self, addresses: Iterable[str]) -> float:
        """Seconds until one more email may go to every one of `addresses` (0 when it may now)."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        longest = 0.0
        for address in addresses:
            times = self._recent(address.lower(), now)
            if times is not None and len(times) >= self.per_minute:
                longest = max(longest, times[0] + WINDOW - now)
        return longest

    def record(self, addresses: Iterable[str]) -> None:
        if self.per_minute <= 0:
            return
        now = self.clock()
        if now - self._swept > WINDOW:
            self._sweep(now)
        for address in addresses:
            key = address.lower()
            times = self._recent(key, now)
            if times is None:
                times = self._sent[key] = deque()
            times.append(now)

    def _sweep(self, now: float) -> None:
        # Forget addresses with nothing in the window: a year of trainees, each emailed once,
        # would otherwise stay in memory.
        self._swept = now
        for address in [a for a, times in self._sent.items() if times[-1] <= now - WINDOW]:
            del self._sent[address]

    def tracked(self) -> int:
        """How many addresses the limit remembers."""
        return len(self._sent)

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._sent.get(address)
        if times is None:
            return None
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if not times:
            del self._sent[address]
            return None
        return times

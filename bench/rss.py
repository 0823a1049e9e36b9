"""Peak resident memory (RSS) of another process over a window of time, from /proc (Linux)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SAMPLE_SECONDS = 0.05


def status_kib(pid: int, field: str) -> int:
    """One `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise LookupError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> str | None:
    """Reset the process's high-water mark (VmHWM) to its current RSS; the reason when the
    kernel refuses (another user's process, a read-only /proc, a kernel older than 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5\n")
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"
    return None


@dataclass(frozen=True)
class RssReading:
    before_kib: int
    peak_kib: int
    method: str

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024

    @property
    def before_mib(self) -> float:
        return self.before_kib / 1024


class PeakRss:
    """`async with PeakRss(pid) as rss: …` then `rss.reading`.

    VmHWM after a reset is exact. Sampling VmRSS alongside costs little and is what remains
    when the reset is refused: a lower bound, since a spike shorter than a sample is missed.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._before = 0
        self._sampled = 0
        self._reset_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._reading: RssReading | None = None

    @property
    def reading(self) -> RssReading:
        if self._reading is None:
            raise RuntimeError("the measured window has not ended yet")
        return self._reading

    async def __aenter__(self) -> PeakRss:
        self._before = self._sampled = status_kib(self.pid, "VmRSS")
        self._reset_error = reset_peak(self.pid)
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            self._sampled = max(self._sampled, status_kib(self.pid, "VmRSS"))
            hwm = status_kib(self.pid, "VmHWM")
        except (OSError, LookupError):
            # The process died during the window: what was sampled is all there is.
            hwm = 0
        if self._reset_error is None:
            peak, method = max(hwm, self._sampled), "VmHWM after clear_refs reset"
        else:
            peak = self._sampled
            method = (
                f"VmRSS sampled every {SAMPLE_SECONDS * 1000:.0f} ms, a lower bound "
                f"(VmHWM reset refused: {self._reset_error})"
            )
        self._reading = RssReading(self._before, peak, method)

    async def _sample(self) -> None:
        while True:
            try:
                self._sampled = max(self._sampled, status_kib(self.pid, "VmRSS"))
            except (OSError, LookupError):
                return
            await asyncio.sleep(SAMPLE_SECONDS)

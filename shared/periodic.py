"""A small job a service repeats in the background for as long as it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `work` every `interval` seconds (first at once, or after one interval). A failed
    round is logged and the next one comes anyway."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[object]],
        *,
        interval: float,
        at_once: bool,
    ) -> None:
        self.name = name
        self._work = work
        self._interval = interval
        self._at_once = at_once
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        if not self._at_once:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._work()
            except Exception as error:
                log.warning("%s failed; again in %.0fs: %r", self.name, self._interval, error)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

"""Puts back the topics a service needs when the broker lost them.

The embedded broker keeps topics in memory: after it restarts, a consumer subscribed to a
topic nobody has published to again would wait for it (and a dead letter would have nowhere
to go). Apache Kafka does not lose topics, and there the check only costs one metadata
request now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shared.topics import ensure_topics

log = logging.getLogger(__name__)


class TopicWatch:
    def __init__(
        self,
        bootstrap_servers: str,
        topics: Callable[[], list[str]],
        *,
        partitions: int,
        interval: float,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topics = topics
        self._partitions = partitions
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await ensure_topics(self._bootstrap_servers, self._topics(), self._partitions)
            except Exception as error:
                log.debug("topic check failed: %r", error)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="topic-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

"""How long a service keeps what it needs only for a while: published outbox events (for
replays) and processed-event markers (for dropping redeliveries and replays).

A marker must outlive every event that can come again, so markers are kept longer than the
outbox keeps published events: a replay from the outbox is then always recognised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection

from shared import outbox
from shared.mongo import Database, Document

log = logging.getLogger(__name__)


async def ensure_ttl_index(
    collection: AsyncCollection[Document], field: str, keep: timedelta
) -> None:
    """A TTL index on `field`, replacing an index on it made without one (or with another
    lifetime): MongoDB refuses to change an index's options in place."""
    seconds = int(keep.total_seconds())
    for name, spec in (await collection.index_information()).items():
        keys = [key for key, _ in spec["key"]]
        if keys == [field] and spec.get("expireAfterSeconds") != seconds:
            await collection.drop_index(name)
    await collection.create_index(field, expireAfterSeconds=seconds)


class OutboxPruning:
    """Deletes published outbox events older than `keep`, every `interval` seconds."""

    def __init__(self, database: Database, *, keep: timedelta, interval: float) -> None:
        self._database = database
        self._keep = keep
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self) -> int:
        pruned = await outbox.prune_published(self._database, datetime.now(UTC) - self._keep)
        if pruned:
            log.info("pruned %s published outbox events older than %s", pruned, self._keep)
        return pruned

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                log.exception("could not prune the outbox; trying again later")
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-pruning")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

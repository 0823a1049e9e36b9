"""How long a service keeps what it needs only for a while: published outbox events (for
replays) and processed-event markers (for dropping redeliveries and replays).

A marker must outlive every event that can come again, so markers are kept longer than the
outbox keeps published events: a replay from the outbox is then always recognised.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection

from shared import outbox
from shared.mongo import Database, Document
from shared.periodic import Periodic

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


def outbox_pruning(database: Database, *, keep: timedelta, interval: float) -> Periodic:
    """Deletes published outbox events older than `keep`, every `interval` seconds."""

    async def prune() -> None:
        pruned = await outbox.prune_published(database, datetime.now(UTC) - keep)
        if pruned:
            log.info("pruned %s published outbox events older than %s", pruned, keep)

    return Periodic("outbox-pruning", prune, interval=interval, at_once=True)

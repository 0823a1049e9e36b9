"""Transactional outbox: an event is stored in the same transaction as the state change that
caused it, and a relay publishes stored events to Kafka in the order they were written.

The relay marks an event published only after the broker acknowledged it, so a crash between
the two re-publishes it: delivery is at-least-once, and every consumer is idempotent on the
event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from bson import ObjectId
from pymongo import ASCENDING

from shared import correlation, tracing
from shared.events import Envelope, to_json
from shared.mongo import Database, Document, Session

log = logging.getLogger(__name__)

COLLECTION = "outbox"


class Publisher(Protocol):
    async def __call__(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> None: ...


async def ensure_indexes(database: Database) -> None:
    outbox = database.db[COLLECTION]
    await outbox.create_index("event_id", unique=True)
    # Not a compound index with _id: the embedded server rejects inserts under one.
    await outbox.create_index("published")
    # `attesta ops trace` and the web monitor look up one trainee's events.
    await outbox.create_index("key")


async def add(session: Session, database: Database, topic: str, event: Envelope[Any]) -> None:
    """Store `event` for publishing, inside the caller's transaction."""
    await database.db[COLLECTION].insert_one(
        {
            # ObjectIds grow with time and a per-process counter: sorting by _id replays
            # the events of this service in the order they were written.
            "_id": ObjectId(),
            "event_id": event.id,
            "type": event.type,
            "topic": topic,
            "key": event.subject,
            "value": to_json(event),
            "created_at": datetime.now(UTC),
            # A plain boolean: the embedded server miscounts `null` matches.
            "published": False,
            "correlation_id": event.correlationid,
            # The trace this event was written in goes on when the relay publishes it.
            "trace": tracing.carrier(),
        },
        session=session,
    )
    database.announce_on_commit(session)


async def replay(
    database: Database, *, since: datetime | None = None, topics: set[str] | None = None
) -> int:
    """Mark the published events written since `since` (all kept, when None) to `topics` (all,
    when None) as pending again, so the relay publishes them anew in their original order: for
    a broker or topic that lost them. Consumers drop what they have seen, so replaying too much
    is safe and replaying too little is not. Returns how many."""
    query: Document = {"published": True}
    if since is not None:
        # By `_id` (an ObjectId starts with its second of creation), not by `created_at`: the
        # embedded server compares datetime ranges wrongly.
        query["_id"] = {"$gte": ObjectId.from_datetime(since)}
    if topics:
        query["topic"] = {"$in": sorted(topics)}

    async def requeue(session: Session) -> int:
        result = await database.db[COLLECTION].update_many(
            query, {"$set": {"published": False}}, session=session
        )
        database.announce_on_commit(session)
        return int(result.modified_count)

    return await database.in_transaction(requeue)


async def prune_published(database: Database, older_than: datetime) -> int:
    """Forget published events written before `older_than`: the outbox would otherwise grow
    for ever (a `certificate.issued` carries its PDF). Replays reach back this far only."""
    async with database.alone():
        result = await database.db[COLLECTION].delete_many(
            {"_id": {"$lt": ObjectId.from_datetime(older_than)}, "published": True}
        )
    return int(result.deleted_count)


def headers_of(doc: Document) -> dict[str, str]:
    """Kafka headers of a stored event: its type and correlation id readable without parsing
    the value (Kafka UI, `attesta ops tail`, a consumer binding its logs)."""
    headers = {"content-type": "application/cloudevents+json", "ce_type": doc["type"]}
    if correlation_id := doc.get("correlation_id"):
        headers[correlation.KAFKA_HEADER] = str(correlation_id)
    return headers


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publish: Publisher,
        *,
        poll_seconds: float,
        batch: int = 100,
        linger_seconds: float = 0.0,
        on_published: Callable[[str], None] | None = None,
    ) -> None:
        self._database = database
        self._on_published = on_published
        self._linger_seconds = linger_seconds
        self._publish = publish
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        database.after_commit(self._wake.set)

    async def _pending(self) -> list[Document]:
        async def read(session: Session) -> list[Document]:
            cursor = (
                self._database.db[COLLECTION]
                .find({"published": False}, session=session)
                .sort("_id", ASCENDING)
                .limit(self._batch)
            )
            return [doc async for doc in cursor]

        return await self._database.in_transaction(read)

    async def _mark_published(self, ids: list[ObjectId]) -> None:
        async def mark(session: Session) -> None:
            await self._database.db[COLLECTION].update_many(
                {"_id": {"$in": ids}},
                {"$set": {"published": True}},
                session=session,
            )

        await self._database.in_transaction(mark)

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; returns how many were published."""
        pending = await self._pending()
        published: list[ObjectId] = []
        try:
            for doc in pending:
                with tracing.continued(doc.get("trace")):
                    await self._publish(
                        doc["topic"], doc["key"].encode(), bytes(doc["value"]), headers_of(doc)
                    )
                published.append(doc["_id"])
                if self._on_published is not None:
                    self._on_published(doc["topic"])
        finally:
            if published:
                await self._mark_published(published)
        return len(published)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.publish_pending() == self._batch:
                    continue  # more are waiting: do not sleep
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay could not publish; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
                if self._linger_seconds:
                    # Woken by a commit: others usually follow within milliseconds, and one
                    # round (two short transactions) then publishes them all.
                    await asyncio.sleep(self._linger_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with_suppressed = asyncio.gather(self._task, return_exceptions=True)
            await with_suppressed
            self._task = None

    async def pending_count(self) -> int:
        return await self._database.db[COLLECTION].count_documents({"published": False})

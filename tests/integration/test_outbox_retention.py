"""Replaying the outbox from an instant, forgetting published events after a while, and
processed-event markers that expire: against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from shared import outbox
from shared.consuming import PROCESSED_EVENTS
from shared.mongo import Database, Session
from shared.retention import ensure_ttl_index
from shared.settings import ServiceSettings
from tests.integration.test_outbox import sent

HOUR = timedelta(hours=1)


async def write(database: Database, topic: str, *, at: datetime, published: bool) -> ObjectId:
    """One outbox event as if written at `at` (its ObjectId carries the time)."""
    _id = ObjectId.from_datetime(at)
    # from_datetime gives the lowest id of that second; make it unique like a real one.
    _id = ObjectId(_id.binary[:4] + ObjectId().binary[4:])
    event = sent(str(_id), 1)

    async def add(session: Session) -> None:
        await database.db[outbox.COLLECTION].insert_one(
            {
                "_id": _id,
                "event_id": event.id,  # type: ignore[attr-defined]
                "type": "t",
                "topic": topic,
                "key": "k",
                "value": b"{}",
                "created_at": at,
                "published": published,
            },
            session=session,
        )

    await database.in_transaction(add)
    return _id


async def pending_ids(database: Database) -> set[ObjectId]:
    return {d["_id"] async for d in database.db[outbox.COLLECTION].find({"published": False})}


async def test_replay_requeues_the_events_written_since_the_instant_and_no_older(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    old = await write(database, "a", at=now - 3 * HOUR, published=True)
    recent = await write(database, "a", at=now - HOUR, published=True)
    other_topic = await write(database, "b", at=now - HOUR, published=True)
    already_pending = await write(database, "a", at=now - HOUR, published=False)

    requeued = await outbox.replay(database, since=now - 2 * HOUR, topics={"a"})

    assert requeued == 1
    assert await pending_ids(database) == {recent, already_pending}
    assert old not in await pending_ids(database)
    assert other_topic not in await pending_ids(database)
    assert await outbox.replay(database, since=now - 2 * HOUR) == 1  # every topic: "b" too


async def test_pruning_forgets_old_published_events_and_keeps_pending_ones(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    old_published = await write(database, "a", at=now - 10 * 24 * HOUR, published=True)
    old_pending = await write(database, "a", at=now - 10 * 24 * HOUR, published=False)
    recent_published = await write(database, "a", at=now - HOUR, published=True)

    assert await outbox.prune_published(database, now - 7 * 24 * HOUR) == 1

    left = {d["_id"] async for d in database.db[outbox.COLLECTION].find()}
    assert left == {old_pending, recent_published}
    assert old_published not in left


async def test_processed_event_markers_get_a_ttl_index_even_over_an_older_plain_one(
    database: Database,
) -> None:
    markers = database.db[PROCESSED_EVENTS]
    await markers.create_index("processed_at")  # what earlier versions made

    await ensure_ttl_index(markers, "processed_at", timedelta(days=14))
    await ensure_ttl_index(markers, "processed_at", timedelta(days=14))  # again: no change

    on_field = [
        spec
        for spec in (await markers.index_information()).values()
        if [k for k, _ in spec["key"]] == ["processed_at"]
    ]
    assert [spec.get("expireAfterSeconds") for spec in on_field] == [14 * 24 * 3600]


def test_markers_must_outlive_the_outbox_or_replays_would_be_processed_twice() -> None:
    with pytest.raises(ValueError, match="PROCESSED_EVENTS_RETENTION_HOURS"):
        ServiceSettings(outbox_retention_hours=200, processed_events_retention_hours=100)

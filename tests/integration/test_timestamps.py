"""Timestamps written by an update stay datetimes (the embedded server turns a datetime given
to `$set` into a string; `merge_into` is how the services update documents)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.mongo import Database, Session, merge_into


async def test_a_timestamp_set_on_an_existing_document_reads_back_as_a_datetime(
    database: Database,
) -> None:
    created = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    sent = datetime(2024, 5, 1, 9, 45, tzinfo=UTC)
    deliveries = database.db["state"]

    async def claim(session: Session) -> None:
        await merge_into(
            deliveries,
            session,
            "N-1",
            {"status": "sending"},
            on_insert={"created_at": created, "attempts": 0},
        )

    async def finish(session: Session) -> None:
        await merge_into(deliveries, session, "N-1", {"status": "sent", "sent_at": sent})

    await database.in_transaction(claim)
    await database.in_transaction(finish)
    stored = await deliveries.find_one({"_id": "N-1"})
    assert stored == {
        "_id": "N-1",
        "status": "sent",
        "sent_at": sent,
        "created_at": created,
        "attempts": 0,
    }
    assert await deliveries.find_one({"sent_at": {"$gt": created}}) is not None

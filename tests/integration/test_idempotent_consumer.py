"""process_once against the real database: redelivery is harmless, failure leaves no mark."""

from __future__ import annotations

import pytest

from shared.consuming import process_once
from shared.mongo import Database, Session


async def test_the_same_event_is_processed_once(database: Database) -> None:
    runs = 0

    async def work(session: Session) -> None:
        nonlocal runs
        runs += 1
        await database.db["certificates"].insert_one({"n": runs}, session=session)

    assert await process_once(database, "certification", "event-1", work) is True
    assert await process_once(database, "certification", "event-1", work) is False
    assert runs == 1
    assert await database.db["certificates"].count_documents({}) == 1


async def test_another_consumer_of_the_same_event_processes_it_for_itself(
    database: Database,
) -> None:
    async def work(session: Session) -> None:
        return None

    assert await process_once(database, "registration", "event-2", work)
    assert await process_once(database, "notification", "event-2", work)


async def test_a_failed_attempt_leaves_no_mark_so_the_retry_runs(database: Database) -> None:
    async def fails(session: Session) -> None:
        await database.db["certificates"].insert_one({"n": "half"}, session=session)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        await process_once(database, "certification", "event-3", fails)
    assert await database.db["certificates"].count_documents({}) == 0

    async def works(session: Session) -> None:
        await database.db["certificates"].insert_one({"n": "whole"}, session=session)

    assert await process_once(database, "certification", "event-3", works)
    assert await database.db["certificates"].count_documents({}) == 1

"""Counts on the embedded database (answered in SQL, shared/devstack/mongo_server.py) are the
counts PyMongo's count_documents gives, in and out of a transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from bson import Binary
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from tests.conftest import Stack

Document = dict[str, object]


@pytest.fixture
async def deliveries(stack: Stack) -> AsyncIterator[AsyncCollection[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongo_url)
    database = client[f"counts_{uuid.uuid4().hex[:8]}"]
    await database.create_collection("deliveries")
    collection = database["deliveries"]
    await collection.create_index("status")  # counted through the index (indexed_equality_count)
    statuses: list[object] = ["sent", "sent", "pending", "failed", "sent", ["sent", "held"]]
    await collection.insert_many(
        [
            {"_id": f"d{n}", "status": s, "at": datetime.now(UTC), "pdf": Binary(b"%PDF-1.7")}
            for n, s in enumerate(statuses)
        ]
    )
    yield collection
    await client.drop_database(database.name)
    await client.close()


async def test_counts_match_their_filters(deliveries: AsyncCollection[Document]) -> None:
    assert await deliveries.count_documents({}) == 6
    assert await deliveries.count_documents({"status": "sent"}) == 4  # one in an array
    assert await deliveries.count_documents({"status": {"$in": ["pending", "failed"]}}) == 2
    assert await deliveries.count_documents({"status": "held"}) == 1
    assert await deliveries.count_documents({"status": "bounced"}) == 0


async def test_a_count_inside_a_transaction_sees_its_own_writes(
    deliveries: AsyncCollection[Document],
) -> None:
    async with deliveries.database.client.start_session() as session:  # noqa: SIM117
        async with await session.start_transaction():
            await deliveries.insert_one({"_id": "d9", "status": "held"}, session=session)
            assert await deliveries.count_documents({"status": "held"}, session=session) == 2
    assert await deliveries.count_documents({"status": "held"}) == 2

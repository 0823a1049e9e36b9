"""The embedded database expires TTL-indexed documents as MongoDB does, on a monitor's pass
(`shared/devstack/mongo_server.py`), not with a scan of the whole collection on every read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from shared.devstack import servers
from tests.conftest import Stack

Document = dict[str, object]
AN_HOUR_AGO = timedelta(hours=1)


async def ttl_collection(client: AsyncMongoClient[Document]) -> AsyncCollection[Document]:
    database = client[f"ttl_{uuid.uuid4().hex[:8]}"]
    markers = database["markers"]
    await database.create_collection("markers")
    await markers.create_index("at", expireAfterSeconds=1)
    return markers


@pytest.fixture
async def stack_client(stack: Stack) -> AsyncIterator[AsyncMongoClient[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongo_url)
    yield client
    await client.close()


@pytest.fixture
def quick_monitor(tmp_path: Path) -> Iterator[str]:
    port = servers.free_port()
    child = servers.start_mongo(port, tmp_path / "data", tmp_path / "logs", ttl_monitor_seconds=0.2)
    try:
        yield servers.mongo_url(port)
    finally:
        child.stop()


async def test_an_expired_document_outlives_reads_until_the_monitors_next_pass(
    stack_client: AsyncMongoClient[Document],
) -> None:
    markers = await ttl_collection(stack_client)
    assert await markers.find_one({}) is None  # this read was the collection's purge
    await markers.insert_one({"_id": "old", "at": datetime.now(UTC) - AN_HOUR_AGO})

    # Within the minute, as in MongoDB, reads find it: no read scans the table for expiry.
    assert await markers.find_one({"_id": "old"}) is not None
    assert await markers.count_documents({}) == 1


async def test_expired_documents_are_purged_on_the_monitors_pass(quick_monitor: str) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(quick_monitor)
    try:
        markers = await ttl_collection(client)
        await markers.insert_many(
            [
                {"_id": "old", "at": datetime.now(UTC) - AN_HOUR_AGO},
                {"_id": "fresh", "at": datetime.now(UTC) + AN_HOUR_AGO},
            ]
        )
        await asyncio.sleep(0.3)  # past the monitor's interval

        left = [doc["_id"] async for doc in markers.find({})]
    finally:
        await client.close()
    assert left == ["fresh"]

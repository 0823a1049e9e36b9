"""The embedded database keeps transactions atomic when a client dies mid-transaction and when
two sessions start one at once (`shared/devstack/mongo_server.py`). Each test runs its own
server so that it can stop and restart it: what survives a restart is what was committed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from shared.devstack import servers

Document = dict[str, object]


class Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = servers.free_port()
        self.child = servers.start_mongo(self.port, root / "data", root / "logs")

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def restart(self) -> None:
        self.child.stop()
        self.child = servers.start_mongo(self.port, self.root / "data", self.root / "logs")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.child.stop()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[AsyncMongoClient[Document]]:
    connected: AsyncMongoClient[Document] = AsyncMongoClient(server.url)
    await connected["t"].create_collection("counters")
    await connected["t"].create_collection("certificates")
    yield connected
    await connected.close()


DIES_MID_TRANSACTION = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pymongo import AsyncMongoClient

    async def main():
        client = AsyncMongoClient(sys.argv[1])
        session = client.start_session()
        await session.start_transaction()
        await client["t"].counters.update_one(
            {"_id": "series"}, {"$inc": {"seq": 1}}, upsert=True, session=session
        )
        os.kill(os.getpid(), signal.SIGKILL)  # before the certificate and the commit

    asyncio.run(main())
    """
)


async def test_a_client_killed_mid_transaction_leaves_nothing_behind_and_blocks_no_later_commit(
    server: Server, client: AsyncMongoClient[Document]
) -> None:
    died = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", DIES_MID_TRANSACTION, server.url], timeout=60
    )
    assert died.returncode == -9

    db = client["t"]
    async with client.start_session() as session:
        await session.start_transaction()
        await db.certificates.insert_one({"number": 1}, session=session)
        await session.commit_transaction()
    await db.certificates.insert_one({"number": 2})
    await client.close()

    server.restart()
    after: AsyncMongoClient[Document] = AsyncMongoClient(server.url)
    try:
        assert await after["t"].counters.find_one({"_id": "series"}) is None
        numbers = sorted([d["number"] async for d in after["t"].certificates.find()])  # type: ignore[type-var]
        assert numbers == [1, 2]
    finally:
        await after.close()


async def test_a_transaction_started_while_another_is_open_waits_instead_of_sharing_its_fate(
    server: Server, client: AsyncMongoClient[Document]
) -> None:
    db = client["t"]
    first = client.start_session()
    await first.start_transaction()
    await db.certificates.insert_one({"number": "abandoned"}, session=first)

    async def second_transaction() -> None:
        async with client.start_session() as second:
            await second.start_transaction()
            await db.certificates.insert_one({"number": "kept"}, session=second)
            await second.commit_transaction()

    second_done = asyncio.create_task(second_transaction())
    await asyncio.sleep(0.5)
    assert not second_done.done(), "the second transaction did not wait for the first"

    await first.abort_transaction()
    await first.end_session()
    await asyncio.wait_for(second_done, timeout=30)
    await client.close()

    server.restart()
    after: AsyncMongoClient[Document] = AsyncMongoClient(server.url)
    try:
        kept = [d["number"] async for d in after["t"].certificates.find()]
        assert kept == ["kept"]
    finally:
        await after.close()

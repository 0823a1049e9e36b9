"""A write made outside a transaction stands on its own, even when a transaction of the same
process rolls back at that moment (the embedded server would otherwise take the write into the
open transaction and lose it with it)."""

from __future__ import annotations

import asyncio

import pytest

from shared.mongo import Database, Session


class RolledBack(Exception):
    pass


async def test_a_write_made_alone_survives_a_transaction_that_rolls_back_meanwhile(
    database: Database,
) -> None:
    state = database.db["state"]
    transaction_open = asyncio.Event()
    roll_back = asyncio.Event()

    async def doomed(session: Session) -> None:
        await state.insert_one({"_id": "written-in-the-transaction"}, session=session)
        transaction_open.set()
        await roll_back.wait()
        raise RolledBack

    async def write_alone() -> None:
        async with database.alone():
            await state.insert_one({"_id": "written-alone"})

    transaction = asyncio.create_task(database.in_transaction(doomed))
    await transaction_open.wait()
    alone = asyncio.create_task(write_alone())
    await asyncio.sleep(0.1)  # the write, were it not held off, would be made by now
    roll_back.set()
    with pytest.raises(RolledBack):
        await transaction
    await alone

    assert [doc["_id"] async for doc in state.find({})] == ["written-alone"]

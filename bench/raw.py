"""The raw baseline for bulk enrolments: PyMongo `insert_many` of the documents the service
would store, in batches of 500, into a scratch database on the same MongoDB-wire server.

Measured twice: plain, and with each batch in a transaction as the service writes it. On
nx-27017 the two differ by several times (outside a transaction every document is committed
on its own), so the plain figure alone is no ceiling for the service."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import CollectionInvalid

from bench.people import Trainee

BATCH = 500
SCRATCH_DATABASE = "bench_raw"

Document = dict[str, Any]


def connect(mongo_url: str) -> AsyncMongoClient[Document]:
    # The same client options as shared.mongo.connect, so driver costs match.
    return AsyncMongoClient(mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def prepare(collection: AsyncCollection[Document]) -> None:
    """Create the collection with the service's enrolment indexes, so that a baseline does
    not look faster only because the server maintains fewer indexes."""
    with contextlib.suppress(CollectionInvalid):
        await collection.database.create_collection(collection.name)
    await collection.create_index(
        [("partner_id", ASCENDING), ("course_id", ASCENDING), ("external_ref", ASCENDING)],
        unique=True,
    )
    await collection.create_index("course_id")


def enrolment(course_id: str, partner_id: str, trainee: Trainee, at: datetime) -> Document:
    """The shape RegistrationStore keeps for a new enrolment."""
    return {
        "_id": uuid.uuid4().hex,
        "course_id": course_id,
        "partner_id": partner_id,
        **trainee._asdict(),
        "status": "enrolled",
        "certificate_number": None,
        "history": [{"status": "enrolled", "at": at}],
        "created_at": at,
    }


@dataclass(frozen=True)
class RawResult:
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


async def insert_all(
    collection: AsyncCollection[Document],
    course_id: str,
    partner_id: str,
    rows: Sequence[Trainee],
    *,
    transactions: bool,
) -> RawResult:
    """Time building and inserting the documents (rows are already parsed: the service's
    CSV parsing is part of what the ratio measures)."""
    client = collection.database.client
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        at = datetime.now(UTC)
        batch = [enrolment(course_id, partner_id, t, at) for t in rows[start : start + BATCH]]
        if not transactions:
            await collection.insert_many(batch)
            continue
        async with client.start_session() as session:

            async def insert(session: AsyncClientSession, batch: list[Document] = batch) -> None:
                await collection.insert_many(batch, session=session)

            await session.with_transaction(insert)
    return RawResult(len(rows), time.perf_counter() - started)

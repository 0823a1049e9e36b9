"""MongoDB access shared by the services: one client per process and a transaction runner.

Every write that must be atomic with an event goes through `Database.in_transaction`, which
retries transient transaction errors (as real MongoDB asks) and, when
`mongo_serialise_transactions` is set, runs one transaction at a time in this process: the
embedded MongoDB-wire server keeps one SQLite connection per database, and two transactions
interleaved on it would commit or roll back each other's writes. For the same reason a plain
write made while a transaction is open joins that transaction (and is lost if it rolls back):
such writes go through `Database.alone`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid

from shared.file_lock import FileLock

Document = dict[str, Any]
Session = AsyncClientSession
T = TypeVar("T")


def connect(url: str) -> AsyncMongoClient[Document]:
    # tz_aware: every datetime we store is UTC, and must come back as aware UTC.
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def merge_into(
    collection: AsyncCollection[Document],
    session: Session,
    key: Any,
    fields: Document,
    *,
    on_insert: Document | None = None,
) -> Document:
    """Set `fields` on the document `key` (created from `on_insert` when missing) by reading
    and replacing it whole, inside the caller's transaction.

    Not `$set`: the embedded server stores a datetime given to `$set` as a string, and
    timestamps must stay datetimes to be compared and sorted.
    """
    current = await collection.find_one({"_id": key}, session=session)
    merged = {**(on_insert or {}), **(current or {}), **fields, "_id": key}
    await collection.replace_one({"_id": key}, merged, upsert=True, session=session)
    return merged


class Database:
    def __init__(
        self,
        client: AsyncMongoClient[Document],
        name: str,
        *,
        serialise: bool,
        lock_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.db: AsyncDatabase[Document] = client[name]
        self._lock: asyncio.Lock | None = asyncio.Lock() if serialise else None
        # Other processes on this database (a second instance) too, when given a directory.
        self._shared = None if lock_dir is None else FileLock(lock_dir / f"{name}.lock")
        self._after_commit: list[Callable[[], None]] = []
        self._to_announce: set[int] = set()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each committed transaction that asked for it with
        `announce_on_commit` (e.g. to wake the outbox relay when there is something to send)."""
        self._after_commit.append(callback)

    def announce_on_commit(self, session: Session) -> None:
        # Only transactions that wrote something worth announcing: were every commit to wake
        # the relay, the relay's own reads would wake it again, and it would never sleep.
        self._to_announce.add(id(session))

    async def in_transaction(self, work: Callable[[Session], Awaitable[T]]) -> T:
        async with self._exclusive(), self.client.start_session() as session:
            try:
                result: T = await session.with_transaction(work)
                announce = id(session) in self._to_announce
            finally:
                self._to_announce.discard(id(session))
        if announce:
            for callback in self._after_commit:
                callback()
        return result

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Hold off this process's transactions while making a write outside one, so that
        the write stands on its own (see the module's docstring)."""
        async with self._exclusive():
            yield

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            if self._shared is None:
                yield
                return
            async with self._shared.held():
                yield

    async def ensure_collections(self, *names: str) -> None:
        """Create collections before any transaction writes to them: the embedded server
        creates a collection outside the transaction that first touches it, so that creation
        (and the write) would survive a rollback. Real MongoDB before 4.4 refuses it outright."""
        existing = set(await self.db.list_collection_names())
        for name in names:
            if name not in existing:
                with contextlib.suppress(CollectionInvalid):
                    await self.db.create_collection(name)

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

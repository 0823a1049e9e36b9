"""An exclusive lock shared by the processes of one machine (`flock` on a file).

The embedded MongoDB-wire server runs every transaction of a database on one SQLite
connection, so two processes' transactions on the same database interleave: one's commit
takes in the other's writes, and the other fails with "no such savepoint" although its writes
landed. Two instances of a service on the embedded stack therefore take this lock around each
transaction. Real MongoDB isolates transactions itself and needs none of it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


class FileLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        # Waited for in a thread, so the event loop (heartbeats, HTTP) goes on meanwhile.
        taking = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:
            # The thread may still get the lock after we stop waiting: give it back then, or
            # every other process would wait for this one to exit.
            taking.add_done_callback(self._release_if_taken)
            raise
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _release_if_taken(self, taking: asyncio.Future[None]) -> None:
        if not taking.cancelled() and taking.exception() is None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)

"""nx-27017, the embedded MongoDB-wire server, with two transaction fixes the services rely on.

nx-27017 keeps each database's transactions as SQLite transactions on one connection, keyed by
the driver's session id, and two things break atomicity there:

- **A client that dies mid-transaction leaves it open for ever.** Nothing ties a session to
  the connection it came on, so a `kill -9` between two writes of a transaction leaves its
  `BEGIN` open. Every later transaction then nests inside it as a savepoint and is never
  really committed: the dead client's half-done writes are seen by everyone, and everything
  acknowledged since is lost when the server stops (measured: a counter bump from the dead
  client, then a committed transaction and a plain insert; after a restart, none of the three).
  Real MongoDB aborts such a transaction when the session expires. Here it is aborted as soon
  as a connection that carried it closes.
- **A transaction started while another session's is open nests inside it**, so the two
  commit or roll back each other's writes. The services serialise their own transactions
  (`ATTESTA_MONGO_SERIALISE_TRANSACTIONS`, `ATTESTA_MONGO_LOCK_DIR`), but a lock file is
  released the moment its holder dies, possibly before the server has seen the holder's
  connection close. So a transaction's start waits here until no other session of that
  database has one open.

Run as `python -m shared.devstack.mongo_server` with nx-27017's own arguments.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import nx_27017.daemon
from nx_27017.handler import NeoSQLiteHandler
from nx_27017.nx_27017 import main as nx_main
from nx_27017.wire_protocol import _extract_session_id

# How long a transaction's start waits for another session's to finish. The services keep
# transactions well under a second; this only has to outlast a dead client's being noticed.
START_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.002


class TransactionStartTimeout(RuntimeError):
    """Another session kept its transaction open longer than a transaction's start waits."""


class SafeTransactionsHandler(NeoSQLiteHandler):  # type: ignore[misc]
    """NeoSQLiteHandler whose transactions never nest and never outlive their client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current = threading.local()
        self._gates: dict[str, threading.Lock] = {}
        self._gates_lock = threading.Lock()
        # Connections each open transaction's commands came on, by session object.
        self._tx_connections: dict[int, set[Any]] = {}
        self._tx_connections_lock = threading.Lock()

    def handle_command(self, msg: dict[str, Any]) -> Any:
        return self._on_connection(msg, super().handle_command)

    def handle_insert(self, msg: dict[str, Any]) -> Any:
        return self._on_connection(msg, super().handle_insert)

    def _on_connection(self, msg: dict[str, Any], handle: Callable[[dict[str, Any]], Any]) -> Any:
        self._current.connection = msg.get("_conn_id")
        try:
            return handle(msg)
        finally:
            self._current.connection = None

    def _get_or_create_session(
        self, command_doc: dict[str, Any], db: Any = None, db_name: str = "test"
    ) -> Any:
        if not command_doc.get("lsid") or not command_doc.get("startTransaction"):
            session = super()._get_or_create_session(command_doc, db, db_name)
            self._note_connection(session)
            return session
        scope = self._session_scope(db_name)
        gate = self._gate(scope)
        deadline = time.monotonic() + START_WAIT_SECONDS
        while True:
            with gate:
                if not self._other_transaction_open(command_doc, scope):
                    session = super()._get_or_create_session(command_doc, db, db_name)
                    if session is not None:
                        with self._tx_connections_lock:
                            self._tx_connections[id(session)] = set()
                    self._note_connection(session)
                    return session
            if time.monotonic() > deadline:
                raise TransactionStartTimeout(
                    f"another transaction on {scope or 'the database'} stayed open for "
                    f"{START_WAIT_SECONDS:.0f}s; retry"
                )
            time.sleep(_POLL_SECONDS)

    def close_streams_for_connection(self, conn_id: Any) -> None:
        super().close_streams_for_connection(conn_id)
        if conn_id is None:
            return
        with self._sessions_lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            with self._tx_connections_lock:
                carried = conn_id in self._tx_connections.get(id(session), ())
            if carried and session.in_transaction:
                # The client is gone (or at least one of its connections is): what it began
                # can never be committed, so roll it back before anyone builds on it.
                session.abort_transaction()

    def _gate(self, scope: str) -> threading.Lock:
        with self._gates_lock:
            return self._gates.setdefault(scope, threading.Lock())

    def _other_transaction_open(self, command_doc: dict[str, Any], scope: str) -> bool:
        own = _extract_session_id(command_doc["lsid"])
        with self._sessions_lock:
            return any(
                session.in_transaction
                for (session_id, session_scope), session in self._sessions.items()
                if session_scope == scope and session_id != own
            )

    def _note_connection(self, session: Any) -> None:
        connection = getattr(self._current, "connection", None)
        if session is None or connection is None or not session.in_transaction:
            return
        with self._tx_connections_lock:
            self._tx_connections.setdefault(id(session), set()).add(connection)


def main() -> None:
    # nx-27017's runners build their handler from this module attribute.
    nx_27017.daemon.NeoSQLiteHandler = SafeTransactionsHandler
    nx_main()


if __name__ == "__main__":
    main()

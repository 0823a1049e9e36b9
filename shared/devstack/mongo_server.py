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

And one change of cost: **expired documents are purged by a TTL monitor, not by every read.**
neosqlite deletes a TTL-indexed collection's expired documents before each `find`, count and
aggregate on it, with two `DELETE` statements that scan the whole table. Every consumer reads
its processed-event markers (TTL-indexed) once per message, so each message paid a scan of
every marker ever written: measured by `make bench BENCH_ARGS="--only flow"` as 41 % of the
server's working time, growing with the table. Real MongoDB's TTL monitor deletes expired
documents in the background every 60 seconds, and documents may outlive their expiry until
then; here a read purges at most once per `ATTESTA_EMBEDDED_TTL_MONITOR_SECONDS` (60) per
collection, which keeps that contract.

Likewise **a count is an SQL `COUNT`**: PyMongo's `count_documents` is an aggregation
(`$match`, then `$group` summing 1), which nx-27017 runs in Python over every document of the
collection, decoding each. The metrics count pending outbox events every 15 s in each service,
and the outbox keeps a week of published events, PDFs included: measured at 44 % of the
server's working time. Such a pipeline, outside a transaction, is answered from neosqlite's
`count_documents`, which counts in SQL; any other aggregation goes the usual way.

Run as `python -m shared.devstack.mongo_server` with nx-27017's own arguments.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import nx_27017.daemon
from neosqlite.collection import Collection
from neosqlite.sql_utils import quote_table_name
from nx_27017.handler import NeoSQLiteHandler, _serialize
from nx_27017.nx_27017 import main as nx_main
from nx_27017.wire_protocol import _extract_session_id

# How long a transaction's start waits for another session's to finish. The services keep
# transactions well under a second; this only has to outlast a dead client's being noticed.
START_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.002


TTL_MONITOR_ENV = "ATTESTA_EMBEDDED_TTL_MONITOR_SECONDS"
TTL_MONITOR_SECONDS = 60.0  # as MongoDB's ttlMonitorSleepSecs


class TtlMonitor:
    """When each collection was last purged of expired documents: a read purges only when
    `interval` has passed since, instead of on every read."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def due(self, collection: Any) -> bool:
        # Keyed by the SQLite connection: one per database with --data-dir.
        key = (id(collection.db), str(collection.name))
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._last[key] = now
            return True

    def install(self) -> None:
        purge = Collection._auto_purge_ttl

        def throttled(collection: Any) -> None:
            if self.due(collection):
                purge(collection)

        Collection._auto_purge_ttl = throttled


def ttl_monitor_seconds(environ: dict[str, str] | os._Environ[str]) -> float:
    text = environ.get(TTL_MONITOR_ENV, "")
    if not text:
        return TTL_MONITOR_SECONDS
    value = float(text)
    if value < 0:
        raise ValueError(f"{TTL_MONITOR_ENV} must be 0 or more seconds, not {text}")
    return value


COUNT_GROUP = {"$group": {"_id": 1, "n": {"$sum": 1}}}  # what PyMongo's count_documents sends


def count_filter(command: dict[str, Any]) -> dict[str, Any] | None:
    """The filter of a `count_documents` outside a transaction, or None for anything else."""
    pipeline = command.get("pipeline")
    if "aggregate" not in command or "txnNumber" in command or not isinstance(pipeline, list):
        return None
    if len(pipeline) != 2 or pipeline[1] != COUNT_GROUP:
        return None
    match = pipeline[0]
    if not isinstance(match, dict) or set(match) != {"$match"}:
        return None
    found = match["$match"]
    return found if isinstance(found, dict) else None


_PLAIN_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def equality_on_one_field(found: dict[str, Any]) -> tuple[str, bool | int | float | str] | None:
    """`{field: scalar}` on a top-level field other than `_id`, or None."""
    if len(found) != 1:
        return None
    [(field, value)] = found.items()
    if field == "_id" or not _PLAIN_FIELD.fullmatch(field):
        return None
    if not isinstance(value, bool | int | float | str):
        return None
    return field, value


def indexed_equality_count(collection: Any, found: dict[str, Any]) -> int | None:
    """The count of `{field: scalar}` through the field's index, or None when there is none.

    neosqlite's own translation adds, for MongoDB's rule that an equality also matches an array
    holding the value, `OR EXISTS (SELECT … json_each …)`, which keeps SQLite off the index:
    every count read every row, and the outbox's rows hold whole events (PDFs included). The
    same two cases are counted here as two index ranges: the scalar itself, and arrays (whose
    `json_extract` is their JSON text, '[' to before '\\') that hold it."""
    equality = equality_on_one_field(found)
    if equality is None or "." in collection.name:  # not GridFS's fs.files and fs.chunks
        return None
    field, value = equality
    path = f"json_extract(data, '$.{field}')"
    indexed = collection.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql LIKE ?",
        (collection.name, f"%({path})"),
    ).fetchone()
    if indexed is None:
        return None
    collection._auto_purge_ttl()  # as neosqlite's count does first (throttled, see TtlMonitor)
    table = quote_table_name(collection.name)
    scalars = collection.db.execute(
        f"SELECT COUNT(id) FROM {table} WHERE {path} = ?", (value,)
    ).fetchone()[0]
    in_arrays = collection.db.execute(
        f"SELECT COUNT(id) FROM {table} WHERE {path} >= '[' AND {path} < '\\' "
        f"AND json_type(data, '$.{field}') = 'array' "
        f"AND EXISTS (SELECT 1 FROM json_each({path}) WHERE value = ?)",
        (value,),
    ).fetchone()[0]
    return int(scalars) + int(in_arrays)


def _body(msg: dict[str, Any]) -> dict[str, Any] | None:
    for section_type, doc in msg.get("sections", ()):
        if section_type == "body" and isinstance(doc, dict):
            return doc
    return None


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
        body = _body(msg)
        if body is not None and (found := count_filter(body)) is not None:
            return self._on_connection(msg, lambda m: self._count(m, body, found))
        return self._on_connection(msg, super().handle_command)

    @_serialize  # type: ignore[untyped-decorator]  # the per-database lock nx-27017's commands hold
    def _count(self, msg: dict[str, Any], body: dict[str, Any], found: dict[str, Any]) -> Any:
        db_name = body.get("$db", "test")
        coll_name = body["aggregate"]
        try:
            collection = self.get_database(db_name)[coll_name]
            count = indexed_equality_count(collection, found)
            if count is None:
                count = collection.count_documents(found)
        except Exception as error:  # as nx-27017 answers a failed aggregate
            return msg["request_id"], {"ok": 0, "errmsg": str(error)}
        # As MongoDB answers: no group at all when nothing matched.
        batch = [{"_id": 1, "n": count}] if count else []
        return msg["request_id"], {
            "ok": 1,
            "cursor": {"id": 0, "ns": f"{db_name}.{coll_name}", "firstBatch": batch},
        }

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
    TtlMonitor(ttl_monitor_seconds(os.environ)).install()
    nx_main()


if __name__ == "__main__":
    main()

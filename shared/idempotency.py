"""`Idempotency-Key` on POST: a client that lost the answer (a timeout, a dropped connection)
sends the same request again with the same key and gets the first answer, not a second effect.

The key is scoped to the caller's credentials and the path. The first request reserves the key;
a second one arriving while the first still runs gets 409, and one arriving after gets the stored
status, headers and body (marked `Idempotent-Replayed: true`), provided its body is the same —
a different body under a used key is a client bug and gets 422. Server errors are not stored, so
a retry after a 5xx runs again. Records expire after a day.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.mongo import Database, Document
from shared.problems import problem_response

HEADER = b"idempotency-key"
RETENTION = timedelta(days=1)
# A reservation older than this belongs to a request that died (a crash mid-request): a retry
# may run again, which the commands themselves make harmless (natural keys, unique indexes).
ABANDONED_AFTER = timedelta(minutes=2)
_NOT_STORED = {401, 403, 409, 429}
_KEPT_HEADERS = {b"content-type", b"location"}


async def ensure_indexes(records: AsyncCollection[Document]) -> None:
    await records.create_index("created_at", expireAfterSeconds=int(RETENTION.total_seconds()))


class IdempotencyKeys:
    def __init__(
        self, app: ASGIApp, database: Database, records: AsyncCollection[Document]
    ) -> None:
        self.app = app
        self.database = database
        self.records = records

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER, b"").decode("latin-1").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        if len(key) > 255:
            await problem_response(
                400, "The Idempotency-Key header must be at most 255 characters."
            )(scope, receive, send)
            return
        record_id = hashlib.sha256(
            b"\n".join([headers.get(b"authorization", b""), scope["path"].encode(), key.encode()])
        ).hexdigest()
        await self._handle(record_id, scope, receive, send)

    async def _handle(self, record_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        now = datetime.now(UTC)
        record = await self.records.find_one({"_id": record_id})
        if record is not None and record["state"] == "done":
            fingerprint = await _drain(receive)
            if fingerprint != record["fingerprint"]:
                await problem_response(
                    422,
                    "This Idempotency-Key was used for a request with a different body; "
                    "use a new key for a new request.",
                    errors=[{"field": "Idempotency-Key", "message": "reused with another body"}],
                )(scope, receive, send)
                return
            await _replay(record, send)
            return
        if record is not None and now - record["created_at"] < ABANDONED_AFTER:
            await self._in_progress(scope, receive, send)
            return
        reservation = {"_id": record_id, "state": "running", "created_at": now}
        try:
            async with self.database.alone():
                if record is None:
                    await self.records.insert_one(reservation)
                else:
                    await self.records.replace_one({"_id": record_id}, reservation)
        except DuplicateKeyError:
            await self._in_progress(scope, receive, send)
            return
        await self._run_and_store(record_id, scope, receive, send)

    async def _run_and_store(
        self, record_id: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body_hash = hashlib.sha256()
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body_hash.update(message.get("body", b""))
            return message

        held: list[Message] = []

        async def capturing_send(message: Message) -> None:
            # Held back until the answer is stored: a client that retries the moment it reads
            # the answer must find it stored, not still "running".
            held.append(message)
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [
                    [name.decode("latin-1"), value.decode("latin-1")]
                    for name, value in message.get("headers", [])
                    if name.lower() in _KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        try:
            await self.app(scope, hashing_receive, capturing_send)
        except BaseException:
            await self._forget(record_id)
            raise
        if answer["status"] >= 500 or answer["status"] in _NOT_STORED:
            await self._forget(record_id)
        else:
            await self._store(record_id, body_hash.hexdigest(), answer)
        for message in held:
            await send(message)

    async def _forget(self, record_id: str) -> None:
        async with self.database.alone():
            await self.records.delete_one({"_id": record_id})

    async def _store(self, record_id: str, fingerprint: str, answer: dict[str, Any]) -> None:
        record = {
            "_id": record_id,
            "state": "done",
            "fingerprint": fingerprint,
            "status": answer["status"],
            "headers": answer["headers"],
            # Text, not bytes: the embedded server cannot replace a document holding bytes.
            "body": base64.b64encode(answer["body"]).decode("ascii"),
            "created_at": datetime.now(UTC),
        }
        async with self.database.alone():
            await self.records.replace_one({"_id": record_id}, record)

    @staticmethod
    async def _in_progress(scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(
            409,
            "A request with this Idempotency-Key is still being processed; "
            "retry in a few seconds to get its answer.",
            headers={"Retry-After": "2"},
        )(scope, receive, send)


async def _drain(receive: Receive) -> str:
    digest = hashlib.sha256()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        digest.update(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return digest.hexdigest()


async def _replay(record: Document, send: Send) -> None:
    headers = [(str(n).encode("latin-1"), str(v).encode("latin-1")) for n, v in record["headers"]]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": record["status"], "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})

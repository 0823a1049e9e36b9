"""Consuming events safely: idempotency on event id, bounded retries, and a dead-letter topic.

The rules a consumer follows, whatever the handler:
- A message that can never be processed (not JSON, unknown shape, failing validation, a
  `PoisonEvent` raised by the handler) goes to `<topic>.dlq` at once, with the error in headers,
  and the partition moves on.
- A message whose processing fails for an unexpected reason is retried a few times in process
  (a blip), then put on the service's retry topic to be tried again after a delay (a fault that
  lasts longer, or a bug fixed by a deploy), once per configured delay, and then dead-lettered
  the same way. While it waits there, the topic's other events go on: retried events may
  arrive after later ones about the same trainee, which every handler already accepts
  (corrections before certificates, redelivery after a crash).
- When the infrastructure is down (database, broker, mail server: `InfrastructureUnavailable`
  and connection errors) the message is not the problem: it is retried and then released
  un-committed, so it is delivered again later and never dead-lettered for an outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from faststream.message import StreamMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from shared.mongo import Database, Session
from shared.outbox import Publisher
from shared.topics import dead_letter_topic, original_topic, retry_topic

log = logging.getLogger(__name__)

PROCESSED_EVENTS = "processed_events"


class PoisonEvent(Exception):
    """The event can never be processed as it is: dead-letter it."""


class InfrastructureUnavailable(Exception):
    """A dependency is down: try this event again later, never dead-letter it for that."""


_OUTAGES: tuple[type[BaseException], ...] = (
    InfrastructureUnavailable,
    ConnectionFailure,
    ConnectionError,
    TimeoutError,
)
_POISON: tuple[type[BaseException], ...] = (PoisonEvent, ValidationError, ValueError)

# Headers of a message on a retry topic: how many times it went there, and when it is due.
RETRIES = "attesta_retries"
RETRY_AT = "attesta_retry_at"


async def process_once(
    database: Database,
    consumer: str,
    event_id: str,
    work: Callable[[Session], Awaitable[None]],
) -> bool:
    """Run `work` and record `event_id` as processed by `consumer`, in one transaction.

    Returns False, doing nothing, when the event was already processed: redelivery is harmless.
    """
    marker = f"{consumer}:{event_id}"
    processed = database.db[PROCESSED_EVENTS]

    async def once(session: Session) -> bool:
        if await processed.find_one({"_id": marker}, session=session) is not None:
            return False
        await work(session)
        await processed.insert_one(
            {"_id": marker, "processed_at": datetime.now(UTC)}, session=session
        )
        return True

    try:
        return await database.in_transaction(once)
    except DuplicateKeyError as error:
        if PROCESSED_EVENTS in str(error):
            return False  # a concurrent delivery of the same event won the race
        raise


def _describe(msg: StreamMessage[Any]) -> tuple[str, int, int]:
    record = msg.raw_message
    return (
        str(getattr(record, "topic", "?")),
        int(getattr(record, "partition", -1)),
        int(getattr(record, "offset", -1)),
    )


class Outcomes(Protocol):
    """Where the counts of retried and dead-lettered messages go (the service's metrics)."""

    def dead_letter(self, topic: str) -> None: ...
    def retry(self, topic: str) -> None: ...


class DeadLetters:
    """FastStream middleware factory: `KafkaBroker(middlewares=[DeadLetters(...)])`."""

    def __init__(
        self,
        publish: Publisher,
        *,
        service: str,
        max_attempts: int,
        backoff_seconds: float,
        retry_delays: tuple[float, ...] = (),
        outcomes: Outcomes | None = None,
    ) -> None:
        self.publish = publish
        self.outcomes = outcomes
        self.service = service
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.retry_delays = retry_delays
        self.dead_lettered = 0
        self.retried = 0

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, owner=self)

    async def retry_later(
        self, msg: StreamMessage[Any], error: BaseException, attempts: int
    ) -> None:
        """Put the message on the service's retry topic, or dead-letter it when it has been
        there as often as there are delays."""
        topic, partition, offset = _describe(msg)
        headers = {k: str(v) for k, v in (msg.headers or {}).items()}
        retries = int(headers.get(RETRIES, "0"))
        if retries >= len(self.retry_delays):
            await self.send_to_dlq(msg, error, attempts)
            return
        delay = self.retry_delays[retries]
        headers.update(
            {
                RETRIES: str(retries + 1),
                RETRY_AT: f"{time.time() + delay:.3f}",
                "attesta_retry_error": f"{type(error).__name__}: {error}"[:2000],
            }
        )
        key = getattr(msg.raw_message, "key", None) or b""
        target = retry_topic(original_topic(topic), self.service)
        await self.publish(target, bytes(key), bytes(msg.body), headers)
        self.retried += 1
        if self.outcomes is not None:
            self.outcomes.retry(topic)
        log.warning(
            "%s[%s]@%s failed %s time(s) (%s); retry %s in %.1fs on %s",
            topic,
            partition,
            offset,
            attempts,
            type(error).__name__,
            retries + 1,
            delay,
            target,
        )

    async def send_to_dlq(
        self, msg: StreamMessage[Any], error: BaseException, attempts: int
    ) -> None:
        topic, partition, offset = _describe(msg)
        headers = {k: str(v) for k, v in (msg.headers or {}).items()}
        headers.update(
            {
                "dlq_original_topic": original_topic(topic),
                "dlq_received_topic": topic,
                "dlq_original_partition": str(partition),
                "dlq_original_offset": str(offset),
                "dlq_service": self.service,
                "dlq_error_type": type(error).__name__,
                "dlq_error": str(error)[:2000],
                "dlq_stack": "".join(traceback.format_exception(error, limit=5))[-4000:],
                "dlq_attempts": str(attempts),
                "dlq_failed_at": datetime.now(UTC).isoformat(),
            }
        )
        key = getattr(msg.raw_message, "key", None) or b""
        await self.publish(
            dead_letter_topic(original_topic(topic)), bytes(key), bytes(msg.body), headers
        )
        self.dead_lettered += 1
        if self.outcomes is not None:
            self.outcomes.dead_letter(topic)
        log.error(
            "dead-lettered %s[%s]@%s after %s attempt(s): %s: %s",
            topic,
            partition,
            offset,
            attempts,
            type(error).__name__,
            str(error)[:300],
        )


async def _wait_until_due(msg: StreamMessage[Any]) -> None:
    """A message on a retry topic waits for its time, holding up the ones behind it on its
    partition: a retry may come later than its delay (by the longest delay at most), never
    sooner."""
    due = (msg.headers or {}).get(RETRY_AT)
    if due is None:
        return
    try:
        wait = float(due) - time.time()
    except ValueError:
        return
    if wait > 0:
        await asyncio.sleep(wait)


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, owner: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.owner = owner

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        owner = self.owner
        await _wait_until_due(msg)
        for attempt in range(1, owner.max_attempts + 1):
            try:
                return await call_next(msg)
            except _OUTAGES as error:
                if attempt == owner.max_attempts:
                    # Leave the offset uncommitted: the message is redelivered after the outage.
                    log.warning("outage while consuming, will redeliver: %r", error)
                    raise
            except _POISON as error:
                await owner.send_to_dlq(msg, error, attempt)
                return None
            except Exception as error:
                if attempt == owner.max_attempts:
                    await owner.retry_later(msg, error, attempt)
                    return None
                log.warning("attempt %s failed, retrying: %r", attempt, error)
            await asyncio.sleep(owner.backoff_seconds * 2 ** (attempt - 1))
        return None

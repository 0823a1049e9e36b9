"""The transactional outbox against the real database and broker."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace import TracerProvider

from shared import correlation, outbox, tracing
from shared.events import NotificationSentV1, new_event
from shared.mongo import Database, Session
from shared.topics import ensure_topics
from tests.conftest import Stack, eventually
from tests.e2e.kafka_tools import read_all


def sent(enrolment_id: str, n: int) -> object:
    return new_event(
        NotificationSentV1(
            enrolment_id=enrolment_id,
            certificate_number=f"N-{n}",
            to="a@b.example",
            sent_at="2024-01-01T00:00:00Z",
        ),  # type: ignore[arg-type]
        source="test",
        subject=enrolment_id,
    )


class KafkaPublisher:
    def __init__(self, bootstrap: str, *, fail_after: int | None = None) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self.fail_after = fail_after
        self.published = 0

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        if self.fail_after is not None and self.published >= self.fail_after:
            raise ConnectionError("broker went away")
        await self.producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
        self.published += 1


@pytest.fixture
async def topic(stack: Stack) -> str:
    name = f"it.outbox.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka, [name], partitions=1)
    return name


async def test_events_written_in_one_transaction_are_published_in_order(
    database: Database, stack: Stack, topic: str
) -> None:
    await outbox.ensure_indexes(database)
    events = [sent("e1", n) for n in range(5)]

    async def write(session: Session) -> None:
        await database.db["state"].insert_one({"_id": "e1"}, session=session)
        for event in events:
            await outbox.add(session, database, topic, event)  # type: ignore[arg-type]

    await database.in_transaction(write)
    publisher = KafkaPublisher(stack.kafka)
    await publisher.producer.start()
    try:
        relay = outbox.OutboxRelay(database, publisher, poll_seconds=0.1)
        assert await relay.publish_pending() == 5
        assert await relay.publish_pending() == 0, "published events are not published again"
    finally:
        await publisher.producer.stop()
    records = await eventually(lambda: _n(read_all(stack.kafka, topic), 5), what="5 records")
    assert [json.loads(r.value)["id"] for r in records] == [e.id for e in events]  # type: ignore[attr-defined]
    assert all(r.key == b"e1" for r in records)
    assert dict(records[0].headers)["content-type"] == b"application/cloudevents+json"


async def test_a_rolled_back_state_change_leaves_no_event_behind(
    database: Database, topic: str
) -> None:
    await outbox.ensure_indexes(database)

    async def fail(session: Session) -> None:
        await database.db["state"].insert_one({"_id": "e2"}, session=session)
        await outbox.add(session, database, topic, sent("e2", 1))  # type: ignore[arg-type]
        raise RuntimeError("validation failed after the write")

    with pytest.raises(RuntimeError):
        await database.in_transaction(fail)
    assert await database.db["state"].find_one({"_id": "e2"}) is None
    assert await database.db[outbox.COLLECTION].find_one({"key": "e2"}) is None


async def test_events_not_acknowledged_by_the_broker_stay_pending_and_go_out_later(
    database: Database, stack: Stack, topic: str
) -> None:
    await outbox.ensure_indexes(database)

    async def write(session: Session) -> None:
        for n in range(4):
            await outbox.add(session, database, topic, sent("e3", n))  # type: ignore[arg-type]

    await database.in_transaction(write)
    flaky = KafkaPublisher(stack.kafka, fail_after=2)
    await flaky.producer.start()
    try:
        relay = outbox.OutboxRelay(database, flaky, poll_seconds=0.1)
        with pytest.raises(ConnectionError):
            await relay.publish_pending()
        assert await relay.pending_count() == 2
        flaky.fail_after = None
        assert await relay.publish_pending() == 2
        assert await relay.pending_count() == 0
    finally:
        await flaky.producer.stop()
    records = await eventually(lambda: _n(read_all(stack.kafka, topic), 4), what="4 records")
    assert [json.loads(r.value)["data"]["certificate_number"] for r in records] == [
        "N-0",
        "N-1",
        "N-2",
        "N-3",
    ]


async def _n(records_coro: object, n: int) -> list[object] | None:
    records = await records_coro  # type: ignore[misc]
    return records if len(records) >= n else None


class CountingRelay(outbox.OutboxRelay):
    reads = 0

    async def _pending(self) -> list[dict[str, object]]:
        self.reads += 1
        return await super()._pending()


async def test_an_idle_relay_sleeps_and_a_committed_event_wakes_it_at_once(
    database: Database, stack: Stack, topic: str
) -> None:
    await outbox.ensure_indexes(database)
    publisher = KafkaPublisher(stack.kafka)
    await publisher.producer.start()
    # A poll interval far longer than the test: only a wake-up can publish in time.
    relay = CountingRelay(database, publisher, poll_seconds=600)
    relay.start()
    try:
        await asyncio.sleep(1.0)
        assert relay.reads <= 2, f"an idle relay read the outbox {relay.reads} times in 1 s"

        async def write(session: Session) -> None:
            await outbox.add(session, database, topic, sent("wake", 1))  # type: ignore[arg-type]

        await database.in_transaction(write)
        await eventually(lambda: publisher.published == 1, timeout=30, what="the woken relay")
    finally:
        await relay.stop()
        await publisher.producer.stop()


async def test_an_event_goes_out_with_its_correlation_id_and_the_trace_it_was_written_in(
    database: Database, stack: Stack, topic: str
) -> None:
    await outbox.ensure_indexes(database)
    tracer = TracerProvider().get_tracer("test")
    with correlation.bound("upload-99"), tracer.start_as_current_span("request") as request:
        event = sent("e9", 1)

        async def write(session: Session) -> None:
            await outbox.add(session, database, topic, event)  # type: ignore[arg-type]

        await database.in_transaction(write)
    published: list[dict[str, str]] = []
    relay_spans: list[str] = []

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        published.append(headers)
        # What FastStream's telemetry middleware would take as the publish span's parent.
        relay_spans.append(tracing.carrier().get("traceparent", ""))

    # Published later, from the relay's own task, outside the request's span.
    assert await outbox.OutboxRelay(database, publish, poll_seconds=0.1).publish_pending() == 1
    assert published[0]["correlation_id"] == "upload-99"
    trace_id = format(request.get_span_context().trace_id, "032x")
    assert relay_spans[0].split("-")[1] == trace_id

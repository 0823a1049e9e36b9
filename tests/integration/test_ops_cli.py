"""`attesta ops` and shared.stream_inspection against the real embedded broker: offsets, lag,
reading one enrolment's records, tailing, and a trace when the services cannot be reached.

Topics have names of their own (other tests' services read the real ones). The CLI tests are
sync because `cli.main.main` runs its own event loop."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI

from cli.errors import OK
from cli.main import main
from cli.ops import topics as topics_command
from cli.ops.timeline import PENDING, timeline
from shared import outbox
from shared.auth import Authenticator
from shared.devstack.servers import free_port, http_url
from shared.events import new_event
from shared.mongo import Database, Session
from shared.ops_api import ops_router
from shared.problems import install_problem_handlers
from shared.stream_inspection import (
    consumer_lag,
    follow,
    partition_for_key,
    read_records,
    topic_offsets,
)
from tests.conftest import Stack
from tests.unit.samples import issued as certificate

PARTITIONS = 3
ENROLMENTS = 6
# A day ago: the events' times come before the records' own (a poison record has only that).
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@dataclass(frozen=True)
class Produced:
    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None


@dataclass(frozen=True)
class Stream:
    kafka: str
    base: str
    records: list[Produced]

    @property
    def completed(self) -> str:
        return f"{self.base}.enrolment.completed"

    @property
    def issued(self) -> str:
        return f"{self.base}.certificate.issued"

    @property
    def dlq(self) -> str:
        return f"{self.base}.certificate.issued.dlq"

    @property
    def topics(self) -> list[str]:
        return [self.completed, self.issued, self.dlq]

    def about(self, key: str) -> list[Produced]:
        return [r for r in self.records if r.key == key]


def enrolment(n: int) -> str:
    return f"enr-{n}-{uuid.uuid4().hex[:12]}"


def envelope(event_type: str, source: str, subject: str, at: datetime) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"attesta/{source}",
        "type": f"attesta.{event_type}.v1",
        "time": at.isoformat(),
        "subject": subject,
        "correlationid": f"corr-{subject}",
        "data": {"enrolment_id": subject, "certificate_number": f"IT-{subject}"},
    }


async def create_topics(kafka: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in names])
    finally:
        await admin.close()


async def fill(kafka: str) -> Stream:
    stream = Stream(kafka, f"it-ops-{uuid.uuid4().hex[:10]}", [])
    await create_topics(kafka, stream.topics)
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()

    async def send(topic: str, key: str, body: bytes, event_id: str | None) -> None:
        meta = await producer.send_and_wait(topic, body, key=key.encode())
        stream.records.append(Produced(topic, meta.partition, meta.offset, key, event_id))

    try:
        for n in range(ENROLMENTS):
            key = enrolment(n)
            at = T0 + timedelta(minutes=n)
            completed = envelope("enrolment.completed", "registration", key, at)
            issued = envelope("certificate.issued", "certification", key, at + timedelta(seconds=1))
            # Written out of time order: reading must sort them back.
            await send(stream.issued, key, json.dumps(issued).encode(), str(issued["id"]))
            await send(stream.completed, key, json.dumps(completed).encode(), str(completed["id"]))
        first = stream.records[0].key
        await send(stream.dlq, first, b"{not json", None)
    finally:
        await producer.stop()
    return stream


@pytest.fixture(scope="module")
def stream(stack: Stack) -> Stream:
    return asyncio.run(fill(stack.kafka))


def attesta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_key_is_on_the_partition_computed_for_it(stream: Stream) -> None:
    assert len(stream.records) == 2 * ENROLMENTS + 1
    for produced in stream.records:
        assert partition_for_key(produced.key, PARTITIONS) == produced.partition, produced


async def test_offsets_count_what_each_partition_holds(stream: Stream) -> None:
    found = await topic_offsets(stream.kafka, [*stream.topics, "it-ops-no-such-topic"])

    held = Counter((r.topic, r.partition) for r in stream.records)
    assert {(o.topic, o.partition): o.messages for o in found} == {
        (topic, p): held[(topic, p)] for topic in stream.topics for p in range(PARTITIONS)
    }
    assert all(o.start == 0 and o.end == o.messages for o in found)


async def test_all_topics_are_listed_without_internal_ones(stream: Stream) -> None:
    names = {o.topic for o in await topic_offsets(stream.kafka)}

    assert set(stream.topics) <= names
    assert not any(name.startswith("__") for name in names)


async def test_one_enrolments_records_in_time_order_from_every_topic(stream: Stream) -> None:
    key = stream.records[0].key

    found = await read_records(stream.kafka, stream.topics, key=key)

    assert [(r.topic, r.event_type) for r in found] == [
        (stream.completed, "attesta.enrolment.completed.v1"),
        (stream.issued, "attesta.certificate.issued.v1"),
        (stream.dlq, None),  # the poison, at the time it arrived, after the events' times
    ]
    assert {(r.topic, r.partition, r.offset) for r in found} == {
        (p.topic, p.partition, p.offset) for p in stream.about(key)
    }
    scanned = await read_records(stream.kafka, stream.topics, key=key, all_partitions=True)
    assert scanned == found


async def test_reading_by_type_and_up_to_a_limit(stream: Stream) -> None:
    issued = await read_records(
        stream.kafka, stream.topics, event_types=["attesta.certificate.issued.v1"]
    )
    some = await read_records(stream.kafka, [stream.completed], limit=2)

    assert len(issued) == ENROLMENTS
    assert {r.topic for r in issued} == {stream.issued}
    assert len(some) == 2


async def commit(kafka: str, group: str, positions: dict[TopicPartition, int]) -> None:
    # Committing for assigned partitions: no group join, so no join delay.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(positions))
        await consumer.commit(positions)
    finally:
        await consumer.stop()


async def test_lag_per_group_and_partition(stream: Stream) -> None:
    held = Counter(r.partition for r in stream.records if r.topic == stream.completed)
    ends = {p: held[p] for p in range(PARTITIONS)}  # the same on stream.issued
    committed_on = stream.about(stream.records[0].key)[0].partition
    behind = f"it-ops-{uuid.uuid4().hex[:6]}"
    await commit(stream.kafka, behind, {TopicPartition(stream.completed, committed_on): 0})
    never = f"certification.{stream.issued}"  # named like the services' groups

    rows = await consumer_lag(stream.kafka, [behind, never])

    assert {(r.group, r.topic, r.partition): (r.committed, r.end, r.lag) for r in rows} == {
        # A group reads every partition of a topic it committed on, committed or not.
        **{
            (behind, stream.completed, p): (0 if p == committed_on else None, n, n)
            for p, n in ends.items()
        },
        **{(never, stream.issued, p): (None, n, n) for p, n in ends.items()},
    }


async def test_every_group_the_broker_lists_shows_its_lag(stream: Stream) -> None:
    group = f"it-ops-{uuid.uuid4().hex[:6]}"
    consumer = AIOKafkaConsumer(
        stream.completed,
        bootstrap_servers=stream.kafka,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        read = 0
        while read < ENROLMENTS:
            read += sum(len(r) for r in (await consumer.getmany(timeout_ms=1000)).values())
        await consumer.commit()
    finally:
        await consumer.stop()

    rows = [r for r in await consumer_lag(stream.kafka) if r.group == group]

    assert {r.topic for r in rows} == {stream.completed}
    assert sum(r.committed or 0 for r in rows) == ENROLMENTS
    assert all(r.lag == 0 for r in rows)


async def test_rates_come_from_two_samples(stream: Stream) -> None:
    topic = f"{stream.base}.rate"
    await create_topics(stream.kafka, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=stream.kafka)
    await producer.start()

    async def produce() -> None:
        for n in range(30):
            await producer.send_and_wait(topic, b"x", key=str(n).encode())
            await asyncio.sleep(0.03)

    try:
        writing = asyncio.create_task(produce())
        await asyncio.sleep(0.2)
        offsets, rate_of = await topics_command.sample(stream.kafka, [topic], 0.6)
        await writing
    finally:
        await producer.stop()

    (row,) = topics_command.topic_rows(offsets, rate_of)
    assert row.rate is not None and row.rate > 1


async def test_follow_sees_new_records_only(stream: Stream) -> None:
    # A topic of its own: the other tests count what stream.completed holds.
    topic = f"{stream.base}.follow"
    await create_topics(stream.kafka, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=stream.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"already there", key=b"old")
    finally:
        await producer.stop()
    key = enrolment(99)
    records = follow(stream.kafka, [topic])
    first = asyncio.ensure_future(anext(records))
    producer = AIOKafkaProducer(bootstrap_servers=stream.kafka)
    await producer.start()
    try:
        # Until follow has its position (at the end) a new record may land before it: send
        # more until one comes through. None of them may be the record that was there before.
        for _ in range(40):
            body = envelope("enrolment.completed", "registration", key, T0)
            await producer.send_and_wait(topic, json.dumps(body).encode(), key=key.encode())
            if (await asyncio.wait({first}, timeout=0.5))[0]:
                break
    finally:
        await producer.stop()

    arrived = await asyncio.wait_for(first, 5)
    await records.aclose()

    assert arrived.key == key
    assert arrived.subject == key


def test_topics_command(stream: Stream, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--topic", stream.completed, "--topic", stream.dlq, "--interval", "0.2"]

    code, out, _ = attesta(capsys, "--json", "ops", "topics", "--kafka", stream.kafka, *args)
    _, table, _ = attesta(capsys, "ops", "topics", "--kafka", stream.kafka, *args)

    assert code == OK
    listed = {t["topic"]: t for t in json.loads(out)["topics"]}
    assert listed[stream.completed]["messages"] == ENROLMENTS
    assert listed[stream.dlq]["messages"] == 1
    assert len(listed[stream.completed]["partitions"]) == PARTITIONS
    (line,) = [line for line in table.splitlines() if stream.completed in line]
    assert line.split()[:3] == [stream.completed, str(PARTITIONS), str(ENROLMENTS)]


def test_lag_command(stream: Stream, capsys: pytest.CaptureFixture[str]) -> None:
    group = f"registration.{stream.completed}"

    code, out, _ = attesta(
        capsys, "ops", "lag", "--kafka", stream.kafka, "--group", group, "--json"
    )
    _, table, _ = attesta(capsys, "ops", "lag", "--kafka", stream.kafka, "--group", group)

    assert code == OK
    assert sum(row["lag"] for row in json.loads(out)) == ENROLMENTS
    assert "1 group, 1 behind by 6 messages in all" in table


def test_tail_from_the_beginning_filtered(
    stream: Stream, capsys: pytest.CaptureFixture[str]
) -> None:
    key = stream.records[0].key

    code, out, _ = attesta(
        capsys,
        "ops",
        "tail",
        stream.completed,
        stream.issued,
        stream.dlq,
        "--kafka",
        stream.kafka,
        "--from-beginning",
        "--enrolment",
        key,
        "--limit",
        "3",
    )

    assert code == OK
    lines = out.splitlines()
    assert len(lines) == 3
    assert sum("enrolment.completed  subject=" + key in line for line in lines) == 1
    assert sum("certificate.issued  subject=" + key in line for line in lines) == 1
    assert sum("(not an event: 9 bytes)" in line for line in lines) == 1


def test_tail_by_type_as_json(stream: Stream, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = attesta(
        capsys,
        "ops",
        "tail",
        stream.completed,
        stream.issued,
        "--kafka",
        stream.kafka,
        "--from-beginning",
        "--type",
        "certificate.issued",
        "--limit",
        "4",
        "--json",
    )

    assert code == OK
    envelopes = [json.loads(line) for line in out.splitlines()]
    assert len(envelopes) == 4
    assert {e["type"] for e in envelopes} == {"attesta.certificate.issued.v1"}


def test_trace_shows_kafka_and_names_the_services_it_could_not_reach(
    stream: Stream, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    down = {name: http_url(free_port()) for name in ("certification", "notification")}
    monkeypatch.setenv("ATTESTA_CERTIFICATION_URL", down["certification"])
    monkeypatch.setenv("ATTESTA_NOTIFICATION_URL", down["notification"])
    registration = http_url(free_port())
    key = stream.records[0].key

    code, out, err = attesta(
        capsys,
        "ops",
        "trace",
        key,
        "--kafka",
        stream.kafka,
        "--url",
        registration,
        "--key",
        "k",
    )

    assert code == OK
    assert f"cannot reach the certification service at {down['certification']}" in err
    assert f"cannot reach the registration service at {registration}" in err
    assert f"cannot reach the notification service at {down['notification']}" in err
    rows = [line for line in out.splitlines() if re.match(r" \d{4}-\d\d-\d\d ", line)]
    assert [row.split()[2:4] for row in rows[:2]] == [
        ["registration", "enrolment.completed"],
        ["certification", "certificate.issued"],
    ]
    assert stream.dlq in rows[2]


def test_ops_dlq_is_attesta_dlq(stream: Stream, capsys: pytest.CaptureFixture[str]) -> None:
    (poison,) = [r for r in stream.records if r.topic == stream.dlq]
    message = f"{stream.dlq}:{poison.partition}:{poison.offset}"

    code, out, _ = attesta(
        capsys, "ops", "dlq", "list", "--kafka", stream.kafka, "--topic", stream.dlq
    )
    shown_code, shown, _ = attesta(
        capsys, "ops", "--kafka", stream.kafka, "dlq", "show", message, "--json"
    )

    assert code == OK
    assert f"{stream.dlq}: 1 message" in out
    assert shown_code == OK
    assert json.loads(shown)["body_text"] == "{not json"


class NoPartners:
    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        return None


async def test_an_event_waiting_in_an_outbox_is_in_the_trace(database: Database) -> None:
    """GET /v1/ops/outbox/events on the real database: what the relay has not published yet
    is listed, and the trace shows it where it waits."""
    key = enrolment(0)
    at = datetime.now(UTC)
    issued = new_event(certificate(), source="attesta/certification", subject=key)

    async def write(session: Session) -> None:
        await outbox.add(session, database, "certificate.issued", issued)

    await database.in_transaction(write)
    app = FastAPI()
    app.state.authenticator = Authenticator("admin-key", NoPartners())
    install_problem_handlers(app)
    app.include_router(ops_router("certification", database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://certification"
    ) as http:
        answer = await http.get(
            "/v1/ops/outbox/events",
            params={"key": key},
            headers={"Authorization": "Bearer admin-key"},
        )
        refused = await http.get("/v1/ops/outbox/events", params={"key": key})

    assert refused.status_code == 401
    assert answer.status_code == 200
    (entry,) = answer.json()
    assert entry["published"] is False
    assert entry["event_id"] == issued.id
    assert entry["event"]["data"]["pdf_base64"] == "(left out)"
    written = datetime.fromisoformat(entry["created_at"])
    assert abs(written - at) < timedelta(seconds=5)
    (step,) = timeline([], {"certification": answer.json()})
    assert (step.service, step.type, step.where) == (
        "certification",
        "certificate.issued",
        PENDING,
    )
    assert step.summary == "certificate FRMS-2002-000001, version 1"

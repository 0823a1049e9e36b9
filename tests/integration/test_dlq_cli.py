"""`attesta dlq` against the real broker: dead-lettered records shaped like
shared.consuming.DeadLetters.send_to_dlq's, listed, shown and replayed.

The tests are sync because `cli.main.main` runs its own event loop (asyncio.run); the broker
set-up and read-back run in loops of their own too."""

from __future__ import annotations

import asyncio
import json
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cli.dead_letters import KAFKA_ENV, REPLAYED_FROM
from cli.errors import API_ERROR, OK, UNREACHABLE, USAGE
from cli.main import main
from shared.devstack.servers import free_port
from shared.topics import dead_letter_topic, retry_topic
from tests.conftest import Stack
from tests.e2e.kafka_tools import produce, read_all

PARTITIONS = 3


@dataclass(frozen=True)
class DeadLettered:
    kafka: str
    topic: str  # the original topic; its dead letters are on `<topic>.dlq`
    event_id: str  # `<dlq topic>:<partition>:<offset>` of the valid CloudEvent
    event_key: bytes
    event_body: bytes
    poison_id: str

    @property
    def dlq(self) -> str:
        return dead_letter_topic(self.topic)


def stack_trace() -> str:
    try:
        json.loads("{not json")
    except ValueError as error:
        return "".join(traceback.format_exception(error, limit=5))
    raise AssertionError("unreachable")


def dlq_headers(topic: str, service: str, error_type: str, error: str) -> list[tuple[str, bytes]]:
    headers = {
        "content-type": "application/json",
        "correlation_id": uuid.uuid4().hex,
        "dlq_original_topic": topic,
        "dlq_original_partition": "0",
        "dlq_original_offset": "4",
        "dlq_service": service,
        "dlq_error_type": error_type,
        "dlq_error": error,
        "dlq_stack": stack_trace(),
        "dlq_attempts": "1",
        "dlq_failed_at": datetime.now(UTC).isoformat(),
    }
    return [(name, value.encode()) for name, value in headers.items()]


async def create_topics(kafka: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    finally:
        await admin.close()


async def dead_letter_two(kafka: str, topic: str) -> DeadLettered:
    await create_topics(kafka, [topic, dead_letter_topic(topic)])
    enrolment = f"enr-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "attesta/registration",
            "type": "attesta.enrolment.completed.v1",
            "subject": enrolment,
            "data": {},
        }
    ).encode()
    key = enrolment.encode()
    event_at = await produce(
        kafka,
        dead_letter_topic(topic),
        key,
        body,
        dlq_headers(topic, "certification", "ValidationError", "1 validation error for Envelope"),
    )
    poison_at = await produce(
        kafka,
        dead_letter_topic(topic),
        b"poison-key",
        b"{not json",
        dlq_headers(topic, "notification", "JSONDecodeError", "Expecting property name"),
    )
    dlq = dead_letter_topic(topic)
    return DeadLettered(
        kafka,
        topic,
        f"{dlq}:{event_at[0]}:{event_at[1]}",
        key,
        body,
        f"{dlq}:{poison_at[0]}:{poison_at[1]}",
    )


async def topic_names(kafka: str) -> set[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        names: set[str] = await consumer.topics()
        return names
    finally:
        await consumer.stop()


async def partition_count(kafka: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        return len(consumer.partitions_for_topic(topic) or ())
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def dead_lettered(stack: Stack) -> DeadLettered:
    # Never the real topic names: other tests' services consume and dead-letter those.
    topic = f"it-dlq-{uuid.uuid4().hex[:10]}.enrolment"
    return asyncio.run(dead_letter_two(stack.kafka, topic))


def attesta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_both_with_their_error_types(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = attesta(
        capsys, "dlq", "--kafka", dead_lettered.kafka, "list", "--topic", dead_lettered.topic
    )
    assert code == OK
    assert f"{dead_lettered.dlq}: 2 messages (certification 1, notification 1)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("it-dlq-")}
    assert "ValidationError" in lines[dead_lettered.event_id]
    assert "attesta.enrolment.completed.v1" in lines[dead_lettered.event_id]
    assert "JSONDecodeError" in lines[dead_lettered.poison_id]
    assert "(not JSON)" in lines[dead_lettered.poison_id]


def test_list_without_a_topic_finds_every_dead_letter_topic(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = attesta(capsys, "dlq", "list", "--kafka", dead_lettered.kafka)
    assert code == OK
    assert dead_lettered.event_id in out
    assert dead_lettered.poison_id in out


def test_list_as_json(dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = attesta(
        capsys,
        "--json",
        "dlq",
        "list",
        "--kafka",
        dead_lettered.kafka,
        "--topic",
        dead_lettered.dlq,
    )
    assert code == OK
    listed = {item["id"]: item for item in json.loads(out)}
    assert set(listed) == {dead_lettered.event_id, dead_lettered.poison_id}
    assert listed[dead_lettered.event_id]["event_type"] == "attesta.enrolment.completed.v1"
    assert listed[dead_lettered.poison_id]["is_json"] is False
    assert listed[dead_lettered.poison_id]["service"] == "notification"


def test_list_by_service_and_limit(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("dlq", "list", "--kafka", dead_lettered.kafka, "--topic", dead_lettered.topic)
    _, out, _ = attesta(capsys, *args, "--service", "registration")
    assert out.strip() == f"no dead-lettered messages on {dead_lettered.dlq} failed by registration"
    _, out, _ = attesta(capsys, *args, "--limit", "1")
    assert "(the 1 oldest of 2" in out
    assert dead_lettered.event_id in out
    assert dead_lettered.poison_id not in out


def test_show_prints_the_headers_with_the_stack(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = attesta(
        capsys, "dlq", "show", dead_lettered.poison_id, "--kafka", dead_lettered.kafka
    )
    assert code == OK
    lines = out.splitlines()
    assert "  dlq_stack:" in lines
    assert "    Traceback (most recent call last):" in lines
    assert "  dlq_error_type: JSONDecodeError" in lines
    assert "key: poison-key" in lines
    assert "b'{not json'" in lines


def test_show_as_json_has_the_event_body(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = attesta(
        capsys, "dlq", "show", dead_lettered.event_id, "--kafka", dead_lettered.kafka, "--json"
    )
    assert code == OK
    assert json.loads(out)["body"] == json.loads(dead_lettered.event_body)


def test_replay_of_one_id_puts_exactly_that_record_on_the_retry_topic(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = retry_topic(dead_lettered.topic, "certification")
    code, out, _ = attesta(
        capsys, "dlq", "replay", dead_lettered.event_id, "--kafka", dead_lettered.kafka
    )
    assert code == OK
    assert f"{dead_lettered.event_id} -> {retry}" in out
    assert "replayed 1 message" in out

    records: list[Any] = asyncio.run(read_all(dead_lettered.kafka, retry))
    assert len(records) == 1
    record = records[0]
    assert (record.key, record.value) == (dead_lettered.event_key, dead_lettered.event_body)
    headers = dict(record.headers)
    assert not [name for name in headers if name.startswith("dlq_")]
    assert headers["content-type"] == b"application/json"
    assert headers[REPLAYED_FROM] == dead_lettered.event_id.encode()
    assert asyncio.run(partition_count(dead_lettered.kafka, retry)) == PARTITIONS


def test_replay_all_of_a_topic_for_one_service(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--json", "dlq", "replay", "--kafka", dead_lettered.kafka, "--topic", dead_lettered.dlq]
    code, out, _ = attesta(capsys, *args, "--service", "notification", "--all")
    assert code == OK
    retry = retry_topic(dead_lettered.topic, "notification")
    assert [(r["id"], r["to"]) for r in json.loads(out)] == [(dead_lettered.poison_id, retry)]
    records: list[Any] = asyncio.run(read_all(dead_lettered.kafka, retry))
    assert [r.value for r in records] == [b"{not json"]


def test_an_unknown_id_exits_1_and_creates_no_topic(
    dead_lettered: DeadLettered, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KAFKA_ENV, dead_lettered.kafka)  # instead of --kafka
    missing_offset = f"{dead_lettered.dlq}:0:999"
    missing_topic = f"it-dlq-{uuid.uuid4().hex[:10]}.nothing.dlq"
    for unknown in (missing_offset, f"{missing_topic}:0:0"):
        code, _, err = attesta(capsys, "dlq", "show", unknown)
        assert code == API_ERROR
        assert f"no dead-lettered message with ID {unknown}" in err
    code, _, err = attesta(capsys, "dlq", "replay", dead_lettered.event_id, missing_offset)
    assert code == API_ERROR
    assert missing_offset in err
    assert missing_topic not in asyncio.run(topic_names(dead_lettered.kafka))


@pytest.mark.parametrize(
    "args",
    [
        ["dlq", "replay"],
        ["dlq", "replay", "--topic", "enrolment.completed"],
        ["dlq", "replay", "--all"],
        ["dlq", "replay", "enrolment.completed.dlq:0:0", "--topic", "x", "--all"],
        ["dlq", "show", "enrolment.completed:0:0"],
    ],
)
def test_bad_usage_exits_64(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Refused before any connection: the address is one nothing listens on.
    code, _, _ = attesta(capsys, *args, "--kafka", f"127.0.0.1:{free_port()}")
    assert code == USAGE


def test_an_unreachable_broker_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    address = f"127.0.0.1:{free_port()}"
    code, out, err = attesta(capsys, "dlq", "list", "--kafka", address)
    assert code == UNREACHABLE
    assert f"error: cannot reach Kafka at {address}" in err
    assert out == ""

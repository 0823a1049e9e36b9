"""What `attesta dlq` makes of a dead-lettered record, without a broker: IDs, rows, order,
replay target and headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiokafka.structs import ConsumerRecord

from cli.dead_letters import (
    DEFAULT_KAFKA,
    NOT_AN_EVENT,
    NOT_JSON,
    REPLAYED_FROM,
    ROW_HEADERS,
    DeadLetter,
    MessageId,
    dead_letter_topic_name,
    dead_letter_topics,
    document_json,
    document_lines,
    event_summary,
    kafka_address,
    listing_json,
    oldest_first,
    replay_headers,
    replay_target,
    row,
    select,
    shorten,
    summary_lines,
    unreplayable,
)

STACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n'
EVENT = {
    "specversion": "1.0",
    "id": "evt-1",
    "type": "attesta.enrolment.completed.v1",
    "subject": "enr-1",
    "data": {"name": "Иванка"},
}


def dlq_headers(**overrides: str) -> list[tuple[str, bytes]]:
    """Shaped like shared.consuming.DeadLetters.send_to_dlq's, after the original ones."""
    headers = {
        "content-type": "application/json",
        "dlq_original_topic": "enrolment.completed",
        "dlq_original_partition": "1",
        "dlq_original_offset": "7",
        "dlq_service": "certification",
        "dlq_error_type": "ValidationError",
        "dlq_error": "1 validation error\nfull_name: Field required",
        "dlq_stack": STACK,
        "dlq_attempts": "1",
        "dlq_failed_at": "2025-03-01T10:00:00.123456+00:00",
        **overrides,
    }
    return [(name, value.encode()) for name, value in headers.items()]


def letter(
    body: bytes | None = b"{not json",
    *,
    offset: int = 0,
    topic: str = "enrolment.completed.dlq",
    headers: list[tuple[str, bytes]] | None = None,
    key: bytes | None = b"enr-1",
) -> DeadLetter:
    return DeadLetter(
        MessageId(topic, 0, offset),
        key,
        body,
        tuple(dlq_headers() if headers is None else headers),
    )


def test_an_id_round_trips_through_text() -> None:
    parsed = MessageId.parse("enrolment.completed.dlq:2:15")
    assert parsed == MessageId("enrolment.completed.dlq", 2, 15)
    assert str(parsed) == "enrolment.completed.dlq:2:15"


def test_an_id_of_a_retry_topics_dead_letters_keeps_its_dots() -> None:
    parsed = MessageId.parse("enrolment.completed.retry.certification.dlq:0:3")
    assert parsed.topic == "enrolment.completed.retry.certification.dlq"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "enrolment.completed.dlq",
        "enrolment.completed.dlq:1",
        "enrolment.completed.dlq:x:1",
        "enrolment.completed.dlq:1:-1",
        ":1:1",
        "enrolment.completed:0:1",  # not a dead-letter topic: replay must never read those
    ],
)
def test_a_malformed_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        MessageId.parse(text)


def test_topic_option_accepts_the_topic_or_its_dead_letter_topic() -> None:
    assert dead_letter_topic_name("enrolment.completed") == "enrolment.completed.dlq"
    assert dead_letter_topic_name("enrolment.completed.dlq") == "enrolment.completed.dlq"


def test_only_dead_letter_topics_are_read() -> None:
    existing = {"a.dlq", "a", "a.retry.certification", "b.dlq", "__consumer_offsets"}
    assert dead_letter_topics(existing) == ["a.dlq", "b.dlq"]
    assert dead_letter_topics(existing, "b.dlq") == ["b.dlq"]
    assert dead_letter_topics(existing, "c.dlq") == []


def test_kafka_address_is_the_flag_then_the_environment_then_make_runs() -> None:
    env = {"ATTESTA_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
    assert kafka_address("h:1", env) == "h:1"
    assert kafka_address(None, env) == "kafka:9092"
    assert kafka_address(None, {}) == DEFAULT_KAFKA


def test_a_record_becomes_a_dead_letter() -> None:
    record = ConsumerRecord(
        topic="enrolment.completed.dlq",
        partition=2,
        offset=5,
        timestamp=0,
        timestamp_type=0,
        key=b"enr-1",
        value=b"{}",
        checksum=None,
        serialized_key_size=5,
        serialized_value_size=2,
        headers=tuple(dlq_headers()),
    )
    made = DeadLetter.from_record(record)
    assert made.id == MessageId("enrolment.completed.dlq", 2, 5)
    assert made.service == "certification"
    assert made.header("dlq_stack") == STACK


def test_a_row_of_a_cloudevent() -> None:
    cells = row(letter(json.dumps(EVENT).encode()))
    assert dict(zip(ROW_HEADERS, cells, strict=True)) == {
        "id": "enrolment.completed.dlq:0:0",
        "failed at": "2025-03-01 10:00:00Z",
        "service": "certification",
        "original topic": "enrolment.completed",
        "error type": "ValidationError",
        "error": "1 validation error full_name: Field required",
        "event type": "attesta.enrolment.completed.v1",
        "subject": "enr-1",
    }


def test_a_row_of_poison_says_it_is_not_json() -> None:
    cells = dict(zip(ROW_HEADERS, row(letter(b"{not json")), strict=True))
    assert cells["event type"] == NOT_JSON
    assert cells["subject"] is None


def test_json_that_is_not_an_event_object() -> None:
    assert event_summary(b"[1, 2]") is not None
    cells = dict(zip(ROW_HEADERS, row(letter(b"[1, 2]")), strict=True))
    assert cells["event type"] == NOT_AN_EVENT


@pytest.mark.parametrize("body", [None, b"\xff\xfe\x00", b"[" * 100_000])
def test_bodies_that_are_not_json(body: bytes | None) -> None:
    assert event_summary(body) is None


def test_a_long_error_is_cut_to_one_short_line() -> None:
    cut = shorten("x" * 500 + "\nsecond line", 60)
    assert len(cut) == 60
    assert cut.endswith("…")
    assert "\n" not in cut
    assert shorten("short", 60) == "short"


def test_oldest_first_by_failure_time_then_id() -> None:
    late = letter(offset=1, headers=dlq_headers(dlq_failed_at="2025-03-02T00:00:00+00:00"))
    early = letter(offset=2, headers=dlq_headers(dlq_failed_at="2025-03-01T00:00:00+00:00"))
    # Another zone, but the earliest moment of all.
    earliest = letter(offset=3, headers=dlq_headers(dlq_failed_at="2025-03-01T01:00:00+03:00"))
    undated = letter(offset=0, headers=dlq_headers(dlq_failed_at="yesterday"))
    ordered = oldest_first([undated, late, early, earliest])
    assert [d.id.offset for d in ordered] == [3, 2, 1, 0]


def test_without_a_failure_header_the_record_timestamp_is_used() -> None:
    made = DeadLetter(
        MessageId("a.dlq", 0, 0), None, b"", tuple(dlq_headers(dlq_failed_at="")), 1_700_000_000_000
    )
    assert made.failed_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_select_by_service() -> None:
    mine = letter(offset=1)
    theirs = letter(offset=2, headers=dlq_headers(dlq_service="notification"))
    assert select([mine, theirs], "notification") == [theirs]
    assert select([mine, theirs], None) == [mine, theirs]


def test_summary_counts_per_topic_and_service() -> None:
    letters = [
        letter(offset=1),
        letter(offset=2),
        letter(offset=3, headers=dlq_headers(dlq_service="notification")),
        letter(offset=1, topic="certificate.issued.dlq"),
    ]
    assert summary_lines(letters) == [
        "certificate.issued.dlq: 1 message (certification 1)",
        "enrolment.completed.dlq: 3 messages (certification 2, notification 1)",
    ]


def test_replay_goes_to_the_retry_topic_of_the_service_that_failed() -> None:
    assert replay_target(letter()) == "enrolment.completed.retry.certification"


def test_a_message_that_failed_again_on_its_retry_topic_goes_back_to_it() -> None:
    again = letter(
        topic="enrolment.completed.retry.certification.dlq",
        headers=dlq_headers(dlq_original_topic="enrolment.completed.retry.certification"),
    )
    assert replay_target(again) == "enrolment.completed.retry.certification"


def test_a_letter_without_its_origin_cannot_be_replayed() -> None:
    orphan = letter(headers=[("content-type", b"application/json")])
    with pytest.raises(ValueError, match="dlq_original_topic"):
        replay_target(orphan)
    assert unreplayable([letter(), orphan]) == [
        "enrolment.completed.dlq:0:0 has no dlq_original_topic or dlq_service header: "
        "where it came from is unknown"
    ]


def test_replay_headers_are_the_original_ones_and_where_they_came_from() -> None:
    replayed_before = letter(
        offset=9, headers=[*dlq_headers(), (REPLAYED_FROM, b"enrolment.completed.dlq:0:1")]
    )
    assert replay_headers(replayed_before) == [
        ("content-type", b"application/json"),
        (REPLAYED_FROM, b"enrolment.completed.dlq:0:9"),
    ]


def test_listing_json_of_poison() -> None:
    listed = listing_json(letter(b"{not json"))
    assert listed["id"] == "enrolment.completed.dlq:0:0"
    assert listed["is_json"] is False
    assert listed["event_type"] is None
    assert listed["failed_at"] == "2025-03-01T10:00:00.123456+00:00"
    json.dumps(listed)


def test_document_json_carries_the_body_as_json_or_as_text() -> None:
    event = document_json(letter(json.dumps(EVENT).encode()))
    assert event["body"] == EVENT
    assert event["body_text"] is None
    assert {"name": "dlq_stack", "value": STACK} in event["headers"]
    poison = document_json(letter(b"{not json"))
    assert poison["body"] is None
    assert poison["body_text"] == "{not json"


def test_document_lines_show_the_stack_on_lines_of_its_own_and_the_body() -> None:
    lines = document_lines(letter(json.dumps(EVENT, ensure_ascii=False).encode()))
    assert "key: enr-1" in lines
    assert "  dlq_stack:" in lines
    assert "    Traceback (most recent call last):" in lines
    assert "    ValueError: bad" in lines
    assert "body (JSON):" in lines
    assert '"name": "Иванка"' in lines[-1]


def test_document_lines_of_poison_show_its_bytes() -> None:
    lines = document_lines(letter(b"{not json\xff", key=None))
    assert "key: (none)" in lines
    assert lines[-2:] == ["body (not JSON), 10 bytes:", "b'{not json\\xff'"]

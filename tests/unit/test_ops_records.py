"""What `attesta ops` reads off a record: the CloudEvents envelope when there is one, the
partition a key lands on, and the filters of `tail`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner

from cli.ops.console import render_text
from cli.ops.describe import service_of, short_type, summary, type_matches
from cli.ops.tail import as_json, line, wanted
from shared.stream_inspection import StreamRecord, matches, partition_for_key

AT = datetime(2026, 11, 23, 9, 30, 1, 250000, tzinfo=UTC)
EVENT = {
    "specversion": "1.0",
    "id": "0b8e4a52-6a1f-4c55-9d43-5d0f2a7e9c11",
    "source": "attesta/certification",
    "type": "attesta.certificate.issued.v1",
    "time": "2026-11-23T09:30:00.125Z",
    "subject": "enr-1",
    "correlationid": "corr-9",
    "data": {"certificate_number": "FRMS-2026-000007", "to": "x@example.bg"},
}


def record(
    value: bytes, *, key: str | None = "enr-1", headers: dict[str, str] | None = None
) -> StreamRecord:
    return StreamRecord("certificate.issued", 2, 41, AT, key, headers or {}, value)


def test_an_envelope_is_decoded() -> None:
    got = record(json.dumps(EVENT).encode())

    assert got.event == EVENT
    assert got.event_type == "attesta.certificate.issued.v1"
    assert got.event_id == EVENT["id"]
    assert got.subject == "enr-1"
    assert got.source == "attesta/certification"
    assert got.correlation_id == "corr-9"
    assert got.time == datetime(2026, 11, 23, 9, 30, 0, 125000, tzinfo=UTC)


@pytest.mark.parametrize("value", [b"{not json", b"[1, 2]", b'{"hello": "world"}', b"\xff\xfe"])
def test_anything_else_is_no_event_and_keeps_the_record_time(value: bytes) -> None:
    got = record(value)

    assert got.event is None
    assert got.event_type is None and got.subject is None
    assert got.time == AT


def test_the_correlation_id_header_stands_in_for_a_missing_attribute() -> None:
    event = {k: v for k, v in EVENT.items() if k != "correlationid"}

    got = record(json.dumps(event).encode(), headers={"correlation_id": "from-header"})

    assert got.correlation_id == "from-header"


def test_a_record_is_about_its_key_or_its_subject() -> None:
    body = json.dumps(EVENT).encode()

    assert record(body, key="enr-1").is_about("enr-1")
    assert record(body, key=None).is_about("enr-1")
    assert not record(b"poison", key="enr-2").is_about("enr-1")
    assert matches(record(body), key="enr-1", event_types=["attesta.certificate.issued.v1"])
    assert not matches(record(body), event_types=["attesta.enrolment.completed.v1"])


@pytest.mark.parametrize("partitions", [1, 3, 7, 12])
def test_a_key_lands_where_the_default_partitioner_puts_it(partitions: int) -> None:
    # The broker-side check is in tests/integration/test_ops_cli.py; this one covers counts.
    keys = [f"{n:032x}" for n in range(0, 10**6, 997)]
    placed = DefaultPartitioner()

    for key in keys:
        chosen = placed(key.encode(), list(range(partitions)), list(range(partitions)))
        assert partition_for_key(key, partitions) == chosen


def test_types_are_matched_whole_or_by_their_short_name() -> None:
    assert short_type("attesta.enrolment.completed.v1") == "enrolment.completed"
    assert short_type("something.else") == "something.else"
    assert type_matches("attesta.enrolment.completed.v1", "enrolment.completed")
    assert type_matches("attesta.enrolment.completed.v1", "attesta.enrolment.completed.v1")
    assert not type_matches("attesta.enrolment.completed.v1", "completed")
    assert not type_matches(None, "enrolment.completed")
    assert service_of("attesta/notification") == "notification"


def test_tail_filters_by_type_and_enrolment() -> None:
    issued = record(json.dumps(EVENT).encode())

    assert wanted(issued, [], None)
    assert wanted(issued, ["enrolment.completed", "certificate.issued"], "enr-1")
    assert not wanted(issued, ["enrolment.completed"], None)
    assert not wanted(issued, [], "enr-2")


def test_a_tail_line_says_when_where_what_and_about_whom() -> None:
    text = render_text(line(record(json.dumps(EVENT).encode())))

    assert text.split() == [
        "2026-11-23",
        "09:30:00.125Z",
        "certificate.issued[2]@41",
        "certificate.issued",
        "subject=enr-1",
        "correlation=corr-9",
    ]


def test_a_tail_line_of_poison_says_so() -> None:
    text = render_text(line(record(b"{not json", key="k")))

    assert "certificate.issued[2]@41  (not an event: 9 bytes)  key=k" in text


def test_tail_json_is_the_envelope_or_where_the_bytes_are() -> None:
    assert as_json(record(json.dumps(EVENT).encode())) == EVENT
    assert as_json(record(b"{not json", key="k")) == {
        "topic": "certificate.issued",
        "partition": 2,
        "offset": 41,
        "key": "k",
        "value": "{not json",
    }


def test_summaries_leave_out_addresses() -> None:
    failed = {
        "type": "attesta.notification.failed.v1",
        "data": {
            "certificate_number": "FRMS-2026-000007",
            "to": "x@example.bg",
            "error": "550 5.1.1 <x@example.bg>: mailbox unavailable",
        },
    }

    text = summary(failed)

    assert "@" not in text
    assert text.startswith("certificate FRMS-2026-000007, failed: 550 5.1.1")
    assert summary(EVENT) == "certificate FRMS-2026-000007"

"""`attesta ops trace`'s timeline: Kafka records and outbox entries merged in time order,
without the personal data the envelopes carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cli.ops.console import render_text
from cli.ops.timeline import NOT_ON_KAFKA, PENDING, timeline
from cli.ops.trace import trace_table
from shared.stream_inspection import StreamRecord

ENROLMENT = "6a1f0c2d9e8b4f3a"
T0 = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def envelope(event_type: str, source: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{event_type}-{at.timestamp():.0f}-{source}",
        "source": f"attesta/{source}",
        "type": f"attesta.{event_type}.v1",
        "time": at.isoformat(),
        "subject": ENROLMENT,
        "correlationid": "corr-1",
        "data": data,
    }


def record(
    topic: str,
    event: dict[str, Any],
    *,
    arrived: datetime,
    offset: int = 0,
    headers: dict[str, str] | None = None,
) -> StreamRecord:
    return StreamRecord(
        topic=topic,
        partition=1,
        offset=offset,
        timestamp=arrived,
        key=ENROLMENT,
        headers=headers or {},
        value=json.dumps(event).encode(),
    )


def entry(event: dict[str, Any], topic: str, *, published: bool) -> dict[str, Any]:
    """One item of GET /v1/ops/outbox/events."""
    return {
        "event_id": event["id"],
        "type": event["type"],
        "topic": topic,
        "key": ENROLMENT,
        "created_at": event["time"],
        "published": published,
        "event": event,
    }


COMPLETED = envelope(
    "enrolment.completed",
    "registration",
    T0,
    {
        "holder": {"full_name": "Иванка Петрова", "email": "ivanka@example.bg"},
        "course": {"code": "FRMS-2002-DMT"},
        "completed_on": "2026-11-23",
    },
)
ISSUED = envelope(
    "certificate.issued",
    "certification",
    T0 + timedelta(milliseconds=140),
    {
        "certificate_number": "FRMS-2026-000001",
        "version": 1,
        "holder": {"full_name": "Иванка Петрова", "email": "ivanka@example.bg"},
    },
)
SENT = envelope(
    "notification.sent",
    "notification",
    T0 + timedelta(seconds=4),
    {"certificate_number": "FRMS-2026-000001", "to": "ivanka@example.bg"},
)


def test_events_come_in_the_order_they_were_written_whatever_order_they_were_read() -> None:
    records = [
        record("notification.sent", SENT, arrived=T0 + timedelta(seconds=5)),
        record("enrolment.completed", COMPLETED, arrived=T0 + timedelta(seconds=1)),
        record("certificate.issued", ISSUED, arrived=T0 + timedelta(seconds=1)),
    ]

    steps = timeline(records, {})

    assert [(s.service, s.type, s.where) for s in steps] == [
        ("registration", "enrolment.completed", "enrolment.completed"),
        ("certification", "certificate.issued", "certificate.issued"),
        ("notification", "notification.sent", "notification.sent"),
    ]


def test_a_pending_outbox_event_is_shown_where_it_waits() -> None:
    records = [record("enrolment.completed", COMPLETED, arrived=T0)]
    outboxes = {
        "registration": [entry(COMPLETED, "enrolment.completed", published=True)],
        "certification": [entry(ISSUED, "certificate.issued", published=False)],
    }

    steps = timeline(records, outboxes)

    # The published entry is the record already: shown once, from Kafka.
    assert [(s.type, s.where) for s in steps] == [
        ("enrolment.completed", "enrolment.completed"),
        ("certificate.issued", PENDING),
    ]
    assert steps[1].service == "certification"
    assert steps[1].event_id == ISSUED["id"]


def test_a_published_event_the_broker_lost_is_flagged() -> None:
    outboxes = {"registration": [entry(COMPLETED, "enrolment.completed", published=True)]}

    (step,) = timeline([], outboxes)

    assert step.where == NOT_ON_KAFKA
    assert step.time == T0


def test_a_dead_lettered_copy_follows_its_original_and_says_who_failed_it() -> None:
    failed = {"dlq_service": "notification", "dlq_error_type": "ValidationError"}
    records = [
        record("certificate.issued.dlq", ISSUED, arrived=T0 + timedelta(seconds=9), headers=failed),
        record("certificate.issued", ISSUED, arrived=T0 + timedelta(seconds=1)),
    ]

    steps = timeline(records, {})

    assert [s.where for s in steps] == ["certificate.issued", "certificate.issued.dlq"]
    assert steps[1].summary == "dead-lettered by notification: ValidationError"
    assert steps[1].service == "certification"  # who produced it, not who failed it


def test_poison_is_listed_by_its_arrival_time() -> None:
    poison = StreamRecord(
        "enrolment.completed.dlq", 0, 3, T0 + timedelta(seconds=2), ENROLMENT, {}, b"{not json"
    )
    records = [poison, record("enrolment.completed", COMPLETED, arrived=T0)]

    steps = timeline(records, {})

    assert [s.where for s in steps] == ["enrolment.completed", "enrolment.completed.dlq"]
    assert steps[1].type is None
    assert steps[1].summary == "(not an event)"


def test_the_table_names_each_step_but_no_email_address() -> None:
    records = [
        record("enrolment.completed", COMPLETED, arrived=T0),
        record("certificate.issued", ISSUED, arrived=T0),
        record("notification.sent", SENT, arrived=T0 + timedelta(seconds=4)),
    ]
    outboxes = {"notification": [entry(SENT, "notification.sent", published=False)]}

    text = render_text(trace_table(timeline(records, outboxes), "trace"))

    assert "@" not in text
    assert "Иванка" not in text
    lines = [line for line in text.splitlines() if "2026-11-23" in line]
    assert len(lines) == 4
    assert "2026-11-23 09:30:00.000Z" in lines[0] and "registration" in lines[0]
    assert "course FRMS-2002-DMT" in lines[0]
    assert "certificate FRMS-2026-000001, version 1" in lines[1]
    assert ISSUED["id"][:8] in lines[1] and ISSUED["id"] not in lines[1]
    assert "corr-1" in lines[2]
    assert "emailed certificate FRMS-2026-000001" in lines[2]
    assert PENDING in lines[3]

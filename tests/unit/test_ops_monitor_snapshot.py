"""What the web monitor makes of the broker's and the outboxes' answers: lag per group, dead
letters per topic, recent failures (ids and error types, never addresses), outbox backlogs
and one trainee's timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from services.registration.ops_monitor.snapshot import (
    OutboxEntry,
    dead_letter_counts,
    event_name,
    group_lags,
    outbox_backlog,
    recent_failures,
    service_name,
    short_error,
    timeline,
    unreachable,
)
from shared.ops_api import OutboxState
from shared.stream_inspection import PartitionLag, PartitionOffsets, StreamRecord

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ENROLMENT = "5f2b0c3e9d1a4b7c8e6f0a1b2c3d4e5f"


def event(
    event_type: str, *, event_id: str, source: str, at: datetime, subject: str = ENROLMENT
) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": event_type,
            "time": at.isoformat(),
            "subject": subject,
            "data": {},
        }
    ).encode()


def record(
    topic: str,
    value: bytes,
    *,
    offset: int = 0,
    partition: int = 0,
    at: datetime = NOW,
    headers: dict[str, str] | None = None,
    key: str | None = ENROLMENT,
) -> StreamRecord:
    return StreamRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=at,
        key=key,
        headers=headers or {},
        value=value,
    )


def dead_letter(
    topic: str, *, offset: int, failed_at: datetime, error: str = "boom", **extra: str
) -> StreamRecord:
    headers = {
        "dlq_original_topic": topic,
        "dlq_service": "certification",
        "dlq_error_type": "ValidationError",
        "dlq_error": error,
        "dlq_attempts": "1",
        "dlq_failed_at": failed_at.isoformat(),
        **extra,
    }
    return record(f"{topic}.dlq", b"not json", offset=offset, headers=headers)


# --- lag ------------------------------------------------------------------------------------


def test_lag_is_summed_per_group_and_the_most_behind_group_comes_first() -> None:
    lags = [
        PartitionLag("notification.certificate.issued", "certificate.issued", 1, 4, 9, 5),
        PartitionLag("certification.enrolment.completed", "enrolment.completed", 0, 3, 3, 0),
        PartitionLag("notification.certificate.issued", "certificate.issued", 0, None, 2, 2),
        PartitionLag("registration.certificate.issued", "certificate.issued", 0, 2, 2, 0),
    ]
    groups = group_lags(lags)
    assert [(g.group, g.lag) for g in groups] == [
        ("notification.certificate.issued", 7),
        ("certification.enrolment.completed", 0),
        ("registration.certificate.issued", 0),
    ]
    first = groups[0]
    assert first.service == "notification"
    assert first.topics == ["certificate.issued"]
    assert [(p.partition, p.committed, p.lag) for p in first.partitions] == [
        (0, None, 2),
        (1, 4, 5),
    ]


# --- dead letters ---------------------------------------------------------------------------


def test_dead_letters_are_counted_per_topic_with_what_went_to_retry_topics() -> None:
    offsets = [
        PartitionOffsets("certificate.issued", 0, 0, 40),
        PartitionOffsets("certificate.issued.dlq", 0, 0, 3),
        PartitionOffsets("certificate.issued.dlq", 1, 1, 3),  # one record no longer kept
        PartitionOffsets("certificate.issued.retry.notification", 0, 0, 4),
        PartitionOffsets("enrolment.completed.dlq", 0, 0, 0),
        PartitionOffsets("course.closed.dlq", 0, 0, 1),
    ]
    counts = dead_letter_counts(offsets, ["enrolment.completed", "partner.keys"])
    assert [(c.topic, c.dead_letters, c.retrying) for c in counts] == [
        ("certificate.issued", 5, 4),
        ("course.closed", 1, 0),
        ("enrolment.completed", 0, 0),
        ("partner.keys", 0, 0),
    ]


def test_recent_failures_are_the_latest_dead_letters_newest_first() -> None:
    records = [
        dead_letter("certificate.issued", offset=i, failed_at=NOW + timedelta(seconds=i))
        for i in range(30)
    ]
    failures = recent_failures(records, limit=20)
    assert len(failures) == 20
    assert [f.offset for f in failures[:3]] == [29, 28, 27]
    latest = failures[0]
    assert latest.topic == "certificate.issued"
    assert latest.dead_letter_topic == "certificate.issued.dlq"
    assert (latest.service, latest.error_type, latest.attempts) == (
        "certification",
        "ValidationError",
        1,
    )
    assert latest.failed_at == NOW + timedelta(seconds=29)


def test_a_failure_names_the_event_and_the_enrolment_when_the_message_is_an_event() -> None:
    value = event(
        "attesta.certificate.issued.v1", event_id="e1", source="attesta/certification", at=NOW
    )
    dead = record("certificate.issued.dlq", value, headers={"dlq_error_type": "PoisonEvent"})
    (found,) = recent_failures([dead])
    assert (found.event_type, found.subject, found.error_type) == (
        "attesta.certificate.issued.v1",
        ENROLMENT,
        "PoisonEvent",
    )
    # Without the headers, the record's own time and topic stand in.
    assert (found.failed_at, found.topic, found.service) == (NOW, "certificate.issued", None)


def test_a_failure_shows_the_first_line_of_the_error_with_addresses_masked() -> None:
    error = (
        "1 validation error for Envelope: email ivanka.petrova@example.bg is not valid\n"
        "  input_value={'full_name': 'Иванка Петрова', 'email': 'ivanka.petrova@example.bg'}"
    )
    (found,) = recent_failures(
        [dead_letter("enrolment.completed", offset=0, failed_at=NOW, error=error)]
    )
    assert found.error == "1 validation error for Envelope: email …@… is not valid"
    assert "Иванка" not in found.model_dump_json()


def test_a_long_error_is_cut_short() -> None:
    assert short_error("x" * 500, width=20) == "x" * 19 + "…"
    assert short_error("\n\n  second line first  \nthird") == "second line first"


# --- outboxes -------------------------------------------------------------------------------


def test_an_outbox_backlog_gives_the_age_of_the_oldest_pending_event() -> None:
    state = OutboxState(
        service="certification",
        pending=3,
        oldest_pending_at=NOW - timedelta(seconds=42),
        published_kept=120,
    )
    backlog = outbox_backlog(state, NOW)
    assert (backlog.service, backlog.reachable, backlog.pending) == ("certification", True, 3)
    assert backlog.oldest_pending_seconds == 42.0
    assert backlog.published_kept == 120


def test_an_empty_outbox_has_no_oldest_event() -> None:
    state = OutboxState(service="notification", pending=0, oldest_pending_at=None, published_kept=0)
    assert outbox_backlog(state, NOW).oldest_pending_seconds is None


def test_a_service_that_did_not_answer_is_shown_unreachable() -> None:
    backlog = unreachable("notification", "ConnectError: All connection attempts failed")
    assert not backlog.reachable
    assert backlog.pending is None
    assert backlog.problem == "ConnectError: All connection attempts failed"


# --- the timeline ---------------------------------------------------------------------------

REGISTRATION = "attesta/registration"


def outbox_entry(event_id: str, topic: str, at: datetime, *, published: bool) -> OutboxEntry:
    return OutboxEntry(
        event_id=event_id,
        event_type=f"attesta.{topic}.v1",
        topic=topic,
        written_at=at,
        published=published,
    )


def test_the_timeline_lists_every_event_in_the_order_the_services_wrote_them() -> None:
    t0 = NOW
    completed = event("attesta.enrolment.completed.v1", event_id="c1", source=REGISTRATION, at=t0)
    issued = event(
        "attesta.certificate.issued.v1",
        event_id="i1",
        source="attesta/certification",
        at=t0 + timedelta(seconds=1),
    )
    sent = event(
        "attesta.notification.sent.v1",
        event_id="s1",
        source="attesta/notification",
        at=t0 + timedelta(seconds=2),
    )
    records = [
        # Out of order on purpose: the record times say when each reached its topic.
        record("notification.sent", sent, offset=4, at=t0 + timedelta(seconds=9)),
        record("certificate.issued", issued, offset=7, at=t0 + timedelta(seconds=8)),
        record("enrolment.completed", completed, offset=2, at=t0 + timedelta(seconds=7)),
    ]
    own = [outbox_entry("c1", "enrolment.completed", t0, published=True)]
    found = timeline(ENROLMENT, records, own, outbox_source=REGISTRATION)
    assert found.enrolment_id == ENROLMENT
    assert [(e.event_type, e.source, e.topic) for e in found.entries] == [
        ("attesta.enrolment.completed.v1", REGISTRATION, "enrolment.completed"),
        ("attesta.certificate.issued.v1", "attesta/certification", "certificate.issued"),
        ("attesta.notification.sent.v1", "attesta/notification", "notification.sent"),
    ]
    assert [e.outbox for e in found.entries] == ["published", None, None]
    assert [(e.partition, e.offset, e.copies) for e in found.entries] == [
        (0, 2, 1),
        (0, 7, 1),
        (0, 4, 1),
    ]


def test_a_replayed_event_is_one_entry_with_its_copies_counted() -> None:
    value = event("attesta.enrolment.completed.v1", event_id="c1", source=REGISTRATION, at=NOW)
    records = [
        record("enrolment.completed", value, offset=2),
        record("enrolment.completed", value, offset=9),
    ]
    (entry,) = timeline(ENROLMENT, records, [], outbox_source=REGISTRATION).entries
    assert (entry.copies, entry.offset) == (2, 2)


def test_an_outbox_event_the_broker_does_not_have_is_an_entry_too() -> None:
    pending = outbox_entry("c9", "enrolment.corrected", NOW, published=False)
    (entry,) = timeline(ENROLMENT, [], [pending], outbox_source=REGISTRATION).entries
    assert (entry.event_id, entry.outbox, entry.copies, entry.offset) == ("c9", "pending", 0, None)
    assert entry.source == REGISTRATION


def test_a_dead_lettered_copy_is_its_own_entry_with_the_error_type() -> None:
    value = event(
        "attesta.certificate.issued.v1", event_id="i1", source="attesta/certification", at=NOW
    )
    records = [
        record("certificate.issued", value, offset=1),
        record(
            "certificate.issued.dlq", value, offset=0, headers={"dlq_error_type": "PoisonEvent"}
        ),
    ]
    entries = timeline(ENROLMENT, records, [], outbox_source=REGISTRATION).entries
    assert [(e.topic, e.error_type) for e in entries] == [
        ("certificate.issued", None),
        ("certificate.issued.dlq", "PoisonEvent"),
    ]


def test_records_that_are_not_events_still_appear_once_each() -> None:
    records = [record("enrolment.completed", b"\x00garbage", offset=n) for n in (3, 4)]
    entries = timeline(ENROLMENT, records, [], outbox_source=REGISTRATION).entries
    assert [(e.event_type, e.offset, e.copies) for e in entries] == [(None, 3, 1), (None, 4, 1)]


# --- names on the page ----------------------------------------------------------------------


def test_event_and_service_names_are_shortened_for_the_page() -> None:
    names: list[tuple[Any, str]] = [
        ("attesta.enrolment.completed.v1", "enrolment.completed"),
        ("attesta.partner.key_issued.v12", "partner.key_issued"),
        ("something.else", "something.else"),
        (None, "(not an event)"),
    ]
    for given, shown in names:
        assert event_name(given) == shown
    assert service_name("attesta/notification") == "notification"
    assert service_name(None) == "—"

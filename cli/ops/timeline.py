"""One trainee's events in time order, from the topics and from the services' outboxes: what
`attesta ops trace` shows (pure functions; the gathering is in cli.ops.trace)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cli.ops.describe import service_of, short_type, summary
from shared.stream_inspection import StreamRecord, parse_instant

PENDING = "outbox: pending"
# Published, yet not on its topic: a broker that lost its log (the embedded one keeps it in
# memory); `attesta outbox replay` publishes it again.
NOT_ON_KAFKA = "outbox: published, not on Kafka"
SHORT_ID = 8


@dataclass(frozen=True)
class Step:
    time: datetime  # the envelope's: when the producing service wrote the event
    service: str | None
    type: str | None
    where: str  # a topic, or one of the outbox states above
    event_id: str | None
    correlation_id: str | None
    summary: str
    # Tie-breaks events of one instant: a retried or dead-lettered copy after the original.
    arrived: datetime
    partition: int | None = None
    offset: int | None = None

    @property
    def short_id(self) -> str | None:
        return None if self.event_id is None else self.event_id[:SHORT_ID]

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "service": self.service,
            "type": self.type,
            "where": self.where,
            "partition": self.partition,
            "offset": self.offset,
            "event_id": self.event_id,
            "correlation_id": self.correlation_id,
            "summary": self.summary,
        }


def from_record(record: StreamRecord) -> Step:
    return Step(
        time=record.time,
        service=service_of(record.source),
        type=short_type(record.event_type),
        where=record.topic,
        event_id=record.event_id,
        correlation_id=record.correlation_id,
        summary=dead_letter_note(record) or summary(record.event),
        arrived=record.timestamp,
        partition=record.partition,
        offset=record.offset,
    )


def dead_letter_note(record: StreamRecord) -> str | None:
    failed_by = record.headers.get("dlq_service")
    if failed_by is None:
        return None
    return f"dead-lettered by {failed_by}: {record.headers.get('dlq_error_type', '?')}"


def from_outbox(service: str, entry: Mapping[str, Any]) -> Step:
    """An entry of GET /v1/ops/outbox/events (shared.ops_api.OutboxEntry)."""
    event = entry.get("event") if isinstance(entry.get("event"), Mapping) else None
    written = parse_instant(str(entry["created_at"]))
    assert written is not None, "the API sends created_at as an ISO 8601 instant"
    return Step(
        time=parse_instant(str((event or {}).get("time") or "")) or written,
        service=service_of(str((event or {}).get("source") or "")) or service,
        type=short_type(str(entry.get("type") or "")) or None,
        where=NOT_ON_KAFKA if entry.get("published") else PENDING,
        event_id=str(entry["event_id"]),
        correlation_id=(event or {}).get("correlationid"),
        summary=summary(event),
        arrived=written,
    )


def timeline(
    records: Iterable[StreamRecord], outboxes: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[Step]:
    """Every record, plus the outbox entries that are not on their topic (pending, or lost by
    the broker), oldest first. A published entry that is on its topic is that record already."""
    records = list(records)
    on_kafka = {(r.topic, r.event_id) for r in records if r.event_id}
    steps = [from_record(r) for r in records]
    for service, entries in outboxes.items():
        steps.extend(
            from_outbox(service, entry)
            for entry in entries
            if not entry.get("published")
            or (entry.get("topic"), entry.get("event_id")) not in on_kafka
        )
    return sorted(steps, key=lambda s: (s.time, s.arrived, s.where, s.offset or 0))

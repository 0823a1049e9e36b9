"""What the web monitor shows, shaped from what the broker and the outboxes answer: pure
functions over plain values (no I/O), so every figure on the page can be unit-tested.

Throughput is the growth of the topics' end offsets between samples the monitor takes in the
background; everything else is read when the page asks.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.ops_api import OutboxState
from shared.stream_inspection import PartitionLag, PartitionOffsets, StreamRecord, parse_instant
from shared.topics import DLQ_SUFFIX, original_topic

RATE_WINDOW_SECONDS = 30.0
TREND_BUCKETS = 30
TREND_BUCKET_SECONDS = 10.0
HISTORY_SECONDS = TREND_BUCKETS * TREND_BUCKET_SECONDS  # five minutes
RECENT_FAILURES = 20
ERROR_WIDTH = 140
_EMAIL = re.compile(r"[^\s'\"<>@,;:()\[\]]+@[^\s'\"<>@,;:()\[\]]+")
_RETRY_INFIX = ".retry."


# --- throughput -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OffsetSample:
    """The end offsets of every topic (summed over its partitions) at one moment."""

    at: float  # monotonic seconds
    ends: Mapping[str, int]


def offset_sample(at: float, offsets: Iterable[PartitionOffsets]) -> OffsetSample:
    ends: dict[str, int] = defaultdict(int)
    for partition in offsets:
        ends[partition.topic] += partition.end
    return OffsetSample(at, dict(ends))


class OffsetHistory:
    """The samples of the last five minutes (and the one just before, as a baseline)."""

    def __init__(self, keep_seconds: float = HISTORY_SECONDS) -> None:
        self._keep = keep_seconds
        self._samples: deque[OffsetSample] = deque()

    def add(self, sample: OffsetSample) -> None:
        self._samples.append(sample)
        horizon = sample.at - self._keep
        while len(self._samples) > 1 and self._samples[1].at <= horizon:
            self._samples.popleft()

    @property
    def samples(self) -> list[OffsetSample]:
        return list(self._samples)

    @property
    def latest(self) -> OffsetSample | None:
        return self._samples[-1] if self._samples else None


def _growth(before: int, after: int) -> int:
    """Messages written between two readings of an end offset. An offset that went down is a
    broker that restarted empty: everything now there was written since."""
    return after - before if after >= before else after


def messages_between(samples: Sequence[OffsetSample], topic: str, start: float, end: float) -> int:
    """Messages written to `topic` between the samples taken at `start` and `end` (as near as
    the samples go: from the last one at or before `start`, to the last one at or before
    `end`)."""
    count = 0
    previous: int | None = None
    for sample in samples:
        if sample.at > end:
            break
        value = sample.ends.get(topic, 0)
        if sample.at > start and previous is not None:
            count += _growth(previous, value)
        previous = value
    return count


def _baseline(samples: Sequence[OffsetSample], at: float) -> OffsetSample:
    """The last sample at or before `at`, else the oldest one."""
    chosen = samples[0]
    for sample in samples:
        if sample.at > at:
            break
        chosen = sample
    return chosen


class TopicThroughput(BaseModel):
    topic: str
    per_second: float = Field(
        description=f"Messages a second over the last {RATE_WINDOW_SECONDS:.0f} s."
    )
    last_5_minutes: int
    total: int = Field(description="Messages written since the broker started (end offsets).")
    trend: list[int] = Field(
        description=f"Messages per {TREND_BUCKET_SECONDS:.0f} s over the last five minutes, "
        "oldest first."
    )


class Throughput(BaseModel):
    window_seconds: float = RATE_WINDOW_SECONDS
    observed_seconds: float = Field(description="How far back the samples go.")
    topics: list[TopicThroughput]


def throughput(samples: Sequence[OffsetSample], topics: Iterable[str]) -> Throughput:
    """Rate, recent count, total and trend of each of `topics` from the samples."""
    wanted = sorted(set(topics))
    if not samples:
        return Throughput(
            observed_seconds=0.0,
            topics=[
                TopicThroughput(topic=t, per_second=0.0, last_5_minutes=0, total=0, trend=[])
                for t in wanted
            ],
        )
    now = samples[-1].at
    base = _baseline(samples, now - RATE_WINDOW_SECONDS)
    span = now - base.at
    rows = []
    for topic in wanted:
        recent = messages_between(samples, topic, base.at, now)
        rows.append(
            TopicThroughput(
                topic=topic,
                per_second=recent / span if span > 0 else 0.0,
                last_5_minutes=messages_between(samples, topic, now - HISTORY_SECONDS, now),
                total=samples[-1].ends.get(topic, 0),
                trend=trend(samples, topic),
            )
        )
    return Throughput(observed_seconds=now - samples[0].at, topics=rows)


def trend(
    samples: Sequence[OffsetSample],
    topic: str,
    *,
    buckets: int = TREND_BUCKETS,
    width: float = TREND_BUCKET_SECONDS,
) -> list[int]:
    """Messages per bucket of `width` seconds, the last bucket ending at the newest sample."""
    if not samples:
        return []
    now = samples[-1].at
    return [
        messages_between(
            samples, topic, now - (buckets - i) * width, now - (buckets - i - 1) * width
        )
        for i in range(buckets)
    ]


# --- consumer lag ---------------------------------------------------------------------------


class PartitionLagRow(BaseModel):
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


class GroupLag(BaseModel):
    group: str
    service: str = Field(description="The consuming service (the group's first name part).")
    topics: list[str]
    lag: int
    partitions: list[PartitionLagRow]


def group_lags(lags: Iterable[PartitionLag]) -> list[GroupLag]:
    """Lag per consumer group, the most behind first."""
    by_group: dict[str, list[PartitionLag]] = defaultdict(list)
    for row in lags:
        by_group[row.group].append(row)
    groups = [
        GroupLag(
            group=group,
            service=group.partition(".")[0],
            topics=sorted({r.topic for r in rows}),
            lag=sum(r.lag for r in rows),
            partitions=[
                PartitionLagRow(
                    topic=r.topic,
                    partition=r.partition,
                    committed=r.committed,
                    end=r.end,
                    lag=r.lag,
                )
                for r in sorted(rows, key=lambda r: (r.topic, r.partition))
            ],
        )
        for group, rows in by_group.items()
    ]
    return sorted(groups, key=lambda g: (-g.lag, g.group))


# --- dead letters ---------------------------------------------------------------------------


class DeadLetterCount(BaseModel):
    topic: str
    dead_letters: int = Field(description="Messages on `<topic>.dlq` now.")
    retrying: int = Field(description="Messages ever put on the topic's retry topics.")


def is_dead_letter_topic(topic: str) -> bool:
    return topic.endswith(DLQ_SUFFIX)


def is_retry_topic(topic: str) -> bool:
    return _RETRY_INFIX in topic


def dead_letter_counts(
    offsets: Iterable[PartitionOffsets], topics: Iterable[str]
) -> list[DeadLetterCount]:
    """Per topic (each of `topics`, and any other that has a dead-letter topic), the messages
    on its dead-letter topic and on its retry topics; most dead letters first."""
    dead: dict[str, int] = dict.fromkeys(topics, 0)
    retried: dict[str, int] = defaultdict(int)
    for partition in offsets:
        if is_dead_letter_topic(partition.topic):
            base = original_topic(partition.topic)
            dead[base] = dead.get(base, 0) + partition.messages
        elif is_retry_topic(partition.topic):
            retried[original_topic(partition.topic)] += partition.end
    return sorted(
        (
            DeadLetterCount(topic=t, dead_letters=n, retrying=retried.get(t, 0))
            for t, n in dead.items()
        ),
        key=lambda c: (-c.dead_letters, c.topic),
    )


class Failure(BaseModel):
    failed_at: datetime
    service: str | None
    topic: str = Field(description="The topic the message was read from.")
    error_type: str
    error: str = Field(description="The first line of the error, addresses masked.")
    attempts: int | None
    event_type: str | None
    subject: str | None = Field(description="The enrolment id, when the message is an event.")
    dead_letter_topic: str
    partition: int
    offset: int


def short_error(text: str, width: int = ERROR_WIDTH) -> str:
    """The first line of an error message, email addresses masked, at most `width` long: the
    monitor shows ids, types and statuses, not whom a message was about."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    masked = _EMAIL.sub("…@…", first)
    return masked if len(masked) <= width else masked[: width - 1] + "…"


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def failure(record: StreamRecord) -> Failure:
    """What a record on a dead-letter topic says about the failure (shared.consuming writes
    the `dlq_*` headers)."""
    headers = record.headers
    return Failure(
        failed_at=parse_instant(headers.get("dlq_failed_at")) or record.timestamp,
        service=headers.get("dlq_service"),
        topic=headers.get("dlq_original_topic") or original_topic(record.topic),
        error_type=headers.get("dlq_error_type") or "unknown",
        error=short_error(headers.get("dlq_error", "")),
        attempts=_int_or_none(headers.get("dlq_attempts")),
        event_type=record.event_type,
        subject=record.subject or record.key,
        dead_letter_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )


def recent_failures(records: Iterable[StreamRecord], limit: int = RECENT_FAILURES) -> list[Failure]:
    """The `limit` latest dead letters, newest first."""
    failures = sorted(
        (failure(r) for r in records),
        key=lambda f: (f.failed_at, f.dead_letter_topic, f.partition, f.offset),
        reverse=True,
    )
    return failures[:limit]


# --- outboxes -------------------------------------------------------------------------------


class OutboxBacklog(BaseModel):
    service: str
    reachable: bool
    pending: int | None = None
    oldest_pending_at: datetime | None = None
    oldest_pending_seconds: float | None = Field(
        default=None, description="Age of the oldest event not yet published."
    )
    published_kept: int | None = None
    problem: str | None = Field(default=None, description="Why the service did not answer.")


def outbox_backlog(state: OutboxState, now: datetime) -> OutboxBacklog:
    oldest = state.oldest_pending_at
    return OutboxBacklog(
        service=state.service,
        reachable=True,
        pending=state.pending,
        oldest_pending_at=oldest,
        oldest_pending_seconds=None if oldest is None else max((now - oldest).total_seconds(), 0),
        published_kept=state.published_kept,
    )


def unreachable(service: str, problem: str) -> OutboxBacklog:
    return OutboxBacklog(service=service, reachable=False, problem=problem)


# --- one trainee's timeline -----------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    """An event in registration's own outbox."""

    event_id: str
    event_type: str
    topic: str
    written_at: datetime
    published: bool


class TimelineEntry(BaseModel):
    at: datetime = Field(description="When the producing service wrote the event.")
    event_type: str | None
    source: str | None = Field(description="The producing service (the envelope's `source`).")
    topic: str
    event_id: str | None
    copies: int = Field(description="How many times the event is on the topic (replays).")
    partition: int | None
    offset: int | None
    outbox: Literal["published", "pending"] | None = Field(
        description="The event's state in registration's outbox, when it is one of its own."
    )
    error_type: str | None = Field(description="Why it was dead-lettered, on a `.dlq` topic.")


class Timeline(BaseModel):
    enrolment_id: str
    status: str | None = Field(
        default=None, description="The enrolment's status in registration; None: unknown here."
    )
    entries: list[TimelineEntry]


def timeline(
    enrolment_id: str,
    records: Iterable[StreamRecord],
    outbox: Iterable[OutboxEntry],
    *,
    outbox_source: str,
) -> Timeline:
    """Every event about one enrolment in time order: one entry per event and topic (copies
    counted), marked with its state in the outbox; outbox events the broker does not have
    (pending, or lost by a broker restart) are entries too."""
    written = {(e.topic, e.event_id): e for e in outbox}
    entries: dict[tuple[str, str], TimelineEntry] = {}
    for record in records:
        identity = (record.topic, record.event_id or f"@{record.partition}:{record.offset}")
        seen = entries.get(identity)
        if seen is not None:
            entries[identity] = seen.model_copy(update={"copies": seen.copies + 1})
            continue
        own = written.pop((record.topic, record.event_id or ""), None)
        entries[identity] = TimelineEntry(
            at=record.time,
            event_type=record.event_type,
            source=record.source,
            topic=record.topic,
            event_id=record.event_id,
            copies=1,
            partition=record.partition,
            offset=record.offset,
            outbox=None if own is None else _outbox_state(own),
            error_type=record.headers.get("dlq_error_type")
            if is_dead_letter_topic(record.topic)
            else None,
        )
    for own in written.values():
        entries[(own.topic, own.event_id)] = TimelineEntry(
            at=own.written_at,
            event_type=own.event_type,
            source=outbox_source,
            topic=own.topic,
            event_id=own.event_id,
            copies=0,
            partition=None,
            offset=None,
            outbox=_outbox_state(own),
            error_type=None,
        )
    ordered = sorted(
        entries.values(), key=lambda e: (e.at, e.topic, e.offset if e.offset is not None else -1)
    )
    return Timeline(enrolment_id=enrolment_id, entries=ordered)


def _outbox_state(entry: OutboxEntry) -> Literal["published", "pending"]:
    return "published" if entry.published else "pending"


# --- the whole page -------------------------------------------------------------------------


class Snapshot(BaseModel):
    taken_at: datetime
    kafka_problem: str | None = Field(default=None, description="Why Kafka did not answer.")
    throughput: Throughput
    lag: list[GroupLag]
    lag_problem: str | None = None
    outboxes: list[OutboxBacklog]
    dead_letters: list[DeadLetterCount]
    failures: list[Failure]
    failures_problem: str | None = None


def describe(error: BaseException) -> str:
    """An exception as one short line for the page."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return short_error(text)


def event_name(event_type: str | None) -> str:
    """`attesta.enrolment.completed.v1` → `enrolment.completed`."""
    if not event_type:
        return "(not an event)"
    name = event_type.removeprefix("attesta.")
    head, dot, version = name.rpartition(".")
    return head if dot and re.fullmatch(r"v\d+", version) else name


def service_name(source: str | None) -> str:
    """`attesta/registration` → `registration`."""
    return "—" if not source else source.rpartition("/")[2]

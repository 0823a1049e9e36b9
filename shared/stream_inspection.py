"""Looking at the event stream without taking part in it: offsets per partition, consumer
groups' lag, and reading records (to a point, or live) for the `attesta ops` commands and the
web monitor.

Nothing here joins a consumer group or commits an offset: every read assigns partitions and
seeks, so looking can never move a service's position or trigger a rebalance.

What the embedded broker (Tansu 0.6) answers, measured against it:
- ListGroups, DescribeGroups, ListOffsets, Metadata: as Kafka does; but DescribeGroups lists
  members with empty metadata and assignments, so it cannot tell which topics a group reads.
- OffsetFetch with explicit partitions: as Kafka does (-1 for "never committed").
- OffsetFetch for "every partition the group has committed" (a null partition list, what
  `AIOKafkaAdminClient.list_consumer_group_offsets(group)` sends): Tansu answers with a body
  aiokafka cannot decode, and the connection drops. So `consumer_lag` asks for every partition
  of every topic explicitly, which works on both brokers.
- A consumer that was given partitions with `assign` only refreshes the metadata of those
  topics, so topics and partition counts are looked up before assigning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

INTERNAL_PREFIX = "__"  # __consumer_offsets and friends: the broker's, not ours
POLL_MS = 1000
# A partition that has records below its end offset but yields none for this many polls is a
# broker that stopped answering, not a slow read.
MAX_IDLE_POLLS = 15
# Tansu does not answer a waiting fetch early: a short wait keeps reading many partitions fast.
FETCH_MAX_WAIT_MS = 100
# How often `follow` looks for topics (or partitions) that appeared since it started.
REFRESH_SECONDS = 5.0


class StreamStalled(Exception):
    """The broker holds records below the end offsets but stopped sending them."""

    def __init__(self, partitions: Iterable[TopicPartition]) -> None:
        self.partitions = sorted(partitions)
        names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in self.partitions)
        super().__init__(f"Kafka stopped sending records of {names}")


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    start: int  # the oldest offset the broker still keeps
    end: int  # the offset the next record will get

    @property
    def messages(self) -> int:
        """How many records the partition keeps now."""
        return self.end - self.start


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed on this partition
    end: int
    lag: int  # records the group has still to process


@dataclass(frozen=True)
class StreamRecord:
    topic: str
    partition: int
    offset: int
    timestamp: datetime  # the record's own (producer or broker) time
    key: str | None
    headers: dict[str, str] = field(hash=False)
    value: bytes

    @classmethod
    def from_consumer_record(cls, record: Any) -> StreamRecord:
        """From an aiokafka ConsumerRecord."""
        headers: dict[str, str] = {}
        for name, raw in record.headers or ():
            headers[str(name)] = bytes(raw or b"").decode("utf-8", errors="replace")
        key = record.key
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp=datetime.fromtimestamp(max(record.timestamp or 0, 0) / 1000, UTC),
            key=None if key is None else bytes(key).decode("utf-8", errors="replace"),
            headers=headers,
            value=bytes(record.value or b""),
        )

    @cached_property
    def event(self) -> dict[str, Any] | None:
        """The CloudEvents envelope, when the value is one (a JSON object with a type and an
        id); None for anything else, such as poison on a dead-letter topic."""
        try:
            decoded = json.loads(self.value)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None
        if isinstance(decoded, dict) and "type" in decoded and "id" in decoded:
            return decoded
        return None

    def _attribute(self, name: str) -> str | None:
        value = (self.event or {}).get(name)
        return None if value is None else str(value)

    @property
    def event_type(self) -> str | None:
        return self._attribute("type")

    @property
    def event_id(self) -> str | None:
        return self._attribute("id")

    @property
    def subject(self) -> str | None:
        return self._attribute("subject")

    @property
    def source(self) -> str | None:
        """The producing service, as the envelope names it (`attesta/registration`)."""
        return self._attribute("source")

    @property
    def correlation_id(self) -> str | None:
        return self._attribute("correlationid") or self.headers.get("correlation_id")

    @property
    def event_time(self) -> datetime | None:
        """The envelope's `time`: when the producing service wrote the event (the record's
        timestamp is when it reached this topic, later for a retried or dead-lettered copy)."""
        return parse_instant(self._attribute("time"))

    @property
    def time(self) -> datetime:
        """The event's time when there is one, else the record's."""
        return self.event_time or self.timestamp

    def is_about(self, key: str) -> bool:
        """Keyed by `key`, or an event whose subject is `key`."""
        return self.key == key or self.subject == key


def parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def partition_for_key(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, the Java client's and aiokafka's)
    puts `key` on, for a topic of `partitions` partitions."""
    hashed: int = murmur2(key.encode("utf-8"))
    return (hashed & 0x7FFFFFFF) % partitions


def is_internal(topic: str) -> bool:
    return topic.startswith(INTERNAL_PREFIX)


@contextlib.asynccontextmanager
async def reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group: it can only be assigned partitions, and commits nothing."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()


async def partitions_of(
    consumer: AIOKafkaConsumer, topics: Iterable[str] | None = None
) -> list[TopicPartition]:
    """Every partition of `topics` (None: every non-internal topic) that exists now, sorted.
    Call it before `assign`: afterwards the consumer only knows the assigned topics."""
    existing = await consumer.topics()
    wanted = (
        sorted(t for t in existing if not is_internal(t))
        if topics is None
        else sorted(set(topics) & set(existing))
    )
    return [
        TopicPartition(topic, p)
        for topic in wanted
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]


async def topic_names(bootstrap: str) -> list[str]:
    """Every topic on the broker except internal ones, sorted."""
    async with reader(bootstrap) as consumer:
        return sorted(t for t in await consumer.topics() if not is_internal(t))


async def topic_offsets(
    bootstrap: str, topics: Iterable[str] | None = None
) -> list[PartitionOffsets]:
    """Start and end offsets of every partition of `topics` (None: every topic on the broker
    except internal ones), sorted by topic and partition. Unknown topics are left out."""
    async with reader(bootstrap) as consumer:
        partitions = await partitions_of(consumer, topics)
        if not partitions:
            return []
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
    return [PartitionOffsets(tp.topic, tp.partition, starts[tp], ends[tp]) for tp in partitions]


async def consumer_lag(bootstrap: str, groups: Iterable[str] | None = None) -> list[PartitionLag]:
    """Per group (None: every group the broker lists) and partition: the committed offset, the
    end offset and the lag, sorted by group, topic and partition.

    A group's partitions are those it has committed on, plus every partition of the topic its
    name ends with by this project's convention (`<service>.<topic>`, see
    shared.messaging.subscriber_options), so a group that never committed still shows its
    whole topic as lag. A partition without a commit counts every record kept as lag."""
    offsets = {(o.topic, o.partition): o for o in await topic_offsets(bootstrap)}
    partitions = [TopicPartition(topic, p) for topic, p in offsets]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if groups is None:
            names = sorted({str(entry[0]) for entry in await admin.list_consumer_groups()})
        else:
            names = sorted(set(groups))
        committed = {
            # Explicit partitions: Tansu cannot answer the "all of the group's" form, which is
            # also what aiokafka sends for an empty list.
            group: await admin.list_consumer_group_offsets(group, partitions=partitions)
            if partitions
            else {}
            for group in names
        }
    finally:
        await admin.close()
    topics = {topic for topic, _ in offsets}
    return [lag for group in names for lag in group_lag(group, committed[group], offsets, topics)]


def group_lag(
    group: str,
    committed: Mapping[TopicPartition, Any],
    offsets: Mapping[tuple[str, int], PartitionOffsets],
    topics: Iterable[str],
) -> list[PartitionLag]:
    """One group's rows from OffsetFetch's answer (`committed`: partition -> an object with
    `.offset`, -1 when never committed)."""
    positions = {
        (tp.topic, tp.partition): int(meta.offset)
        for tp, meta in committed.items()
        if int(meta.offset) >= 0
    }
    read = {topic for topic, _ in positions}
    _, _, named = group.partition(".")
    if named in set(topics):
        read.add(named)
    rows = []
    for (topic, partition), kept in sorted(offsets.items()):
        if topic not in read:
            continue
        position = positions.get((topic, partition))
        # The broker no longer keeps what lies below `start`: the group would resume there.
        behind = kept.end - max(kept.start if position is None else position, kept.start)
        rows.append(PartitionLag(group, topic, partition, position, kept.end, max(behind, 0)))
    return rows


async def read_until(
    consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]
) -> AsyncGenerator[Any, None]:
    """The records of the assigned partitions, from their positions up to `ends` (exclusive),
    batch by batch: what arrives while we read is left for the next call. Raises
    StreamStalled when the broker stops sending records it has."""
    pending = [tp for tp in ends if await consumer.position(tp) < ends[tp]]
    idle = 0
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=POLL_MS)
        for tp, received in batch.items():
            for record in received:
                if record.offset < ends[tp]:
                    yield record
        idle = 0 if batch else idle + 1
        if idle >= MAX_IDLE_POLLS:
            raise StreamStalled(pending)
        pending = [tp for tp in pending if await consumer.position(tp) < ends[tp]]


async def read_records(
    bootstrap: str,
    topics: Iterable[str],
    *,
    key: str | None = None,
    event_types: Iterable[str] | None = None,
    limit: int | None = None,
    all_partitions: bool = False,
) -> list[StreamRecord]:
    """Every record of `topics` from the start up to the end offsets as of the call, sorted by
    time (the envelope's, else the record's), then topic, partition and offset.

    `key`: only records keyed by it (or events whose subject it is). Only the partition the
    default partitioner puts `key` on is read in each topic, as every producer here keys by
    enrolment id; `all_partitions=True` reads every partition, for records produced another
    way. `event_types`: only events of these types. `limit`: stop once that many matched."""
    types = None if event_types is None else set(event_types)
    found: list[StreamRecord] = []
    async with reader(bootstrap) as consumer:
        partitions = await partitions_of(consumer, topics)
        if key is not None and not all_partitions:
            partitions = only_partitions_of_key(partitions, key)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with contextlib.aclosing(read_until(consumer, ends)) as records:
            async for raw in records:
                record = StreamRecord.from_consumer_record(raw)
                if matches(record, key=key, event_types=types):
                    found.append(record)
                    if limit is not None and len(found) >= limit:
                        break
    return sorted(found, key=timeline_order)


def only_partitions_of_key(partitions: Sequence[TopicPartition], key: str) -> list[TopicPartition]:
    counts: dict[str, int] = {}
    for tp in partitions:
        counts[tp.topic] = counts.get(tp.topic, 0) + 1
    return [tp for tp in partitions if tp.partition == partition_for_key(key, counts[tp.topic])]


def matches(
    record: StreamRecord, *, key: str | None = None, event_types: Iterable[str] | None = None
) -> bool:
    if key is not None and not record.is_about(key):
        return False
    return event_types is None or record.event_type in set(event_types)


def timeline_order(record: StreamRecord) -> tuple[datetime, str, int, int]:
    return (record.time, record.topic, record.partition, record.offset)


async def follow(
    bootstrap: str, topics: Iterable[str], *, from_beginning: bool = False
) -> AsyncGenerator[StreamRecord, None]:
    """Records of `topics` as they arrive (after every record kept, with `from_beginning`),
    for ever: the caller stops iterating. Topics and partitions created meanwhile are picked
    up within REFRESH_SECONDS, from their beginning."""
    wanted = sorted(set(topics))
    loop = asyncio.get_running_loop()
    async with reader(bootstrap) as consumer:
        assigned = await partitions_of(consumer, wanted)
        if assigned:
            consumer.assign(assigned)
            if from_beginning:
                await consumer.seek_to_beginning(*assigned)
            else:
                await consumer.seek_to_end(*assigned)
        refresh_at = loop.time() + REFRESH_SECONDS
        while True:
            if not assigned:
                await asyncio.sleep(POLL_MS / 1000)
            else:
                batch = await consumer.getmany(timeout_ms=POLL_MS)
                records = [
                    StreamRecord.from_consumer_record(r) for rs in batch.values() for r in rs
                ]
                for record in sorted(records, key=timeline_order):
                    yield record
            if loop.time() >= refresh_at:
                refresh_at = loop.time() + REFRESH_SECONDS
                assigned = await add_new_partitions(bootstrap, consumer, wanted, assigned)


async def add_new_partitions(
    bootstrap: str,
    consumer: AIOKafkaConsumer,
    topics: Sequence[str],
    assigned: Sequence[TopicPartition],
) -> list[TopicPartition]:
    """Assign, from their beginning, the partitions of `topics` that appeared since; the
    assigned ones keep their positions. A separate consumer looks them up: this one only knows
    its assigned topics."""
    async with reader(bootstrap) as lookup:
        now = await partitions_of(lookup, topics)
    new = [tp for tp in now if tp not in set(assigned)]
    if not new:
        return list(assigned)
    positions = {tp: await consumer.position(tp) for tp in assigned}
    everything = [*assigned, *new]
    consumer.assign(everything)
    for tp, offset in positions.items():
        consumer.seek(tp, offset)
    await consumer.seek_to_beginning(*new)
    return everything

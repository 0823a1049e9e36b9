"""Dead-lettered Kafka messages for `attesta dlq`: what a record on `<topic>.dlq` says (pure
functions, unit-tested), reading those records straight from the broker, and publishing them
again to the retry topic of the service that failed.

Reading never joins a consumer group: nothing is committed, so looking at a dead-letter topic
cannot move anybody's offsets."""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from cli.errors import UNREACHABLE, CliError
from shared.stream_inspection import StreamStalled, read_until
from shared.topics import DLQ_SUFFIX, dead_letter_topic, original_topic, retry_topic

KAFKA_ENV = "ATTESTA_KAFKA_BOOTSTRAP_SERVERS"
DEFAULT_KAFKA = "127.0.0.1:9092"  # what `make run` starts
SERVICES = ("registration", "certification", "notification")
DLQ_HEADER_PREFIX = "dlq_"
REPLAYED_FROM = "attesta_replayed_from"
NOT_JSON = "(not JSON)"
NOT_AN_EVENT = "(not an event)"
ERROR_WIDTH = 60
BODY_WIDTH = 2000
ROW_HEADERS = (
    "id",
    "failed at",
    "service",
    "original topic",
    "error type",
    "error",
    "event type",
    "subject",
)


def kafka_address(flag: str | None, env: Mapping[str, str]) -> str:
    return flag or env.get(KAFKA_ENV, "").strip() or DEFAULT_KAFKA


def dead_letter_topic_name(topic: str) -> str:
    """`--topic` accepts the topic or its dead-letter topic."""
    topic = topic.strip()
    return topic if topic.endswith(DLQ_SUFFIX) else dead_letter_topic(topic)


@dataclass(frozen=True, order=True)
class MessageId:
    """Where a dead-lettered record is: printed as `<dlq topic>:<partition>:<offset>`."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> MessageId:
        # Kafka topic names cannot contain ':', so the last two ':' end the topic.
        parts = text.strip().rsplit(":", 2)
        if len(parts) != 3 or not parts[0] or not all(p.isdecimal() for p in parts[1:]):
            raise ValueError(
                f"{text!r} is not a message ID: <dlq topic>:<partition>:<offset>, "
                "as `attesta dlq list` prints it"
            )
        topic, partition, offset = parts
        if not topic.endswith(DLQ_SUFFIX):
            raise ValueError(
                f"{topic!r} is not a dead-letter topic (its name ends in {DLQ_SUFFIX})"
            )
        return cls(topic, int(partition), int(offset))


@dataclass(frozen=True)
class EventSummary:
    """The CloudEvent fields that say what a body was about; all None for JSON that is not an
    event object."""

    type: str | None
    subject: str | None
    id: str | None


def parse_json(body: bytes | None) -> tuple[bool, Any]:
    """(True, value) for a JSON body, (False, None) for poison."""
    if body is None:
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False, None


def event_summary(body: bytes | None) -> EventSummary | None:
    """None when the body is not JSON at all."""
    is_json, value = parse_json(body)
    if not is_json:
        return None
    if not isinstance(value, dict):
        return EventSummary(None, None, None)

    def text(name: str) -> str | None:
        field = value.get(name)
        return None if field is None else str(field)

    return EventSummary(text("type"), text("subject"), text("id"))


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters: table cells must not wrap."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def display_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def bytes_text(data: bytes | None) -> str | None:
    """Text as text; anything that is not UTF-8 as a bytes literal, so nothing is hidden."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return repr(data)


@dataclass(frozen=True)
class DeadLetter:
    id: MessageId
    key: bytes | None
    body: bytes | None
    # As on the wire, in order: a replay sends the original ones back unchanged.
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None = None

    @classmethod
    def from_record(cls, record: Any) -> DeadLetter:
        """From an aiokafka ConsumerRecord."""
        return cls(
            id=MessageId(record.topic, record.partition, record.offset),
            key=record.key,
            body=record.value,
            headers=tuple((str(k), bytes(v or b"")) for k, v in record.headers or ()),
            timestamp_ms=record.timestamp,
        )

    def header(self, name: str) -> str | None:
        found = None
        for key, value in self.headers:
            if key == name:
                found = value.decode("utf-8", errors="replace")
        return found

    @property
    def service(self) -> str | None:
        return self.header("dlq_service")

    @property
    def original_topic(self) -> str | None:
        return self.header("dlq_original_topic")

    @property
    def failed_at(self) -> datetime | None:
        """From dlq_failed_at; the record's own timestamp when a hand-made record lacks it."""
        stated = parse_time(self.header("dlq_failed_at"))
        if stated is None and self.timestamp_ms is not None and self.timestamp_ms >= 0:
            return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        return stated

    @property
    def event(self) -> EventSummary | None:
        return event_summary(self.body)


def oldest_first(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(letters, key=lambda letter: (letter.failed_at or never, letter.id))


def select(letters: Iterable[DeadLetter], service: str | None) -> list[DeadLetter]:
    return [letter for letter in letters if service is None or letter.service == service]


def dead_letter_topics(existing: Iterable[str], wanted: str | None = None) -> list[str]:
    return sorted(t for t in existing if t.endswith(DLQ_SUFFIX) and (wanted is None or t == wanted))


def event_cells(event: EventSummary | None) -> tuple[str | None, str | None]:
    if event is None:
        return NOT_JSON, None
    if event.type is None:
        return NOT_AN_EVENT, None
    return event.type, event.subject


def row(letter: DeadLetter) -> list[str | None]:
    """One line of `attesta dlq list`, in ROW_HEADERS order."""
    error = letter.header("dlq_error")
    return [
        str(letter.id),
        display_time(letter.failed_at),
        letter.service,
        letter.original_topic,
        letter.header("dlq_error_type"),
        None if error is None else shorten(error, ERROR_WIDTH),
        *event_cells(letter.event),
    ]


def summary_lines(letters: Iterable[DeadLetter]) -> list[str]:
    """Per dead-letter topic: how many, and which services failed them."""
    per_topic: dict[str, Counter[str]] = defaultdict(Counter)
    for letter in letters:
        per_topic[letter.id.topic][letter.service or "?"] += 1
    lines = []
    for topic, services in sorted(per_topic.items()):
        total = sum(services.values())
        by_service = ", ".join(f"{name} {count}" for name, count in sorted(services.items()))
        lines.append(f"{topic}: {plural(total, 'message')} ({by_service})")
    return lines


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def listing_json(letter: DeadLetter) -> dict[str, Any]:
    event = letter.event
    return {
        "id": str(letter.id),
        "topic": letter.id.topic,
        "partition": letter.id.partition,
        "offset": letter.id.offset,
        "failed_at": letter.header("dlq_failed_at"),
        "service": letter.service,
        "original_topic": letter.original_topic,
        "original_partition": letter.header("dlq_original_partition"),
        "original_offset": letter.header("dlq_original_offset"),
        "error_type": letter.header("dlq_error_type"),
        "error": letter.header("dlq_error"),
        "attempts": letter.header("dlq_attempts"),
        "is_json": event is not None,
        "event_type": event.type if event else None,
        "event_subject": event.subject if event else None,
        "event_id": event.id if event else None,
    }


def document_json(letter: DeadLetter) -> dict[str, Any]:
    is_json, value = parse_json(letter.body)
    return {
        **listing_json(letter),
        "headers": [
            {"name": name, "value": value.decode("utf-8", errors="replace")}
            for name, value in letter.headers
        ],
        "key": bytes_text(letter.key),
        "body": value if is_json else None,
        "body_text": None if is_json else bytes_text(letter.body),
    }


def header_lines(headers: Iterable[tuple[str, bytes]]) -> list[str]:
    """Every header; a multi-line value (the stack trace) as an indented block."""
    lines = []
    for name, raw in headers:
        value = raw.decode("utf-8", errors="replace").rstrip("\n")
        if "\n" in value:
            lines.append(f"  {name}:")
            lines.extend(f"    {line}" for line in value.splitlines())
        else:
            lines.append(f"  {name}: {value}")
    return lines


def body_lines(body: bytes | None) -> list[str]:
    is_json, value = parse_json(body)
    if is_json:
        return ["body (JSON):", json.dumps(value, indent=2, ensure_ascii=False)]
    if body is None:
        return ["body: (none)"]
    return [f"body {NOT_JSON}, {plural(len(body), 'byte')}:", shorten(repr(body), BODY_WIDTH)]


def document_lines(letter: DeadLetter) -> list[str]:
    """`attesta dlq show`: the whole message, for a person."""
    return [
        f"id: {letter.id}",
        f"key: {bytes_text(letter.key) or '(none)'}",
        "headers:" if letter.headers else "headers: (none)",
        *header_lines(letter.headers),
        *body_lines(letter.body),
    ]


def replay_target(letter: DeadLetter) -> str:
    """The retry topic of the service that failed: only that service reads it again."""
    topic, service = letter.original_topic, letter.service
    if not topic or not service:
        raise ValueError(
            f"{letter.id} has no dlq_original_topic or dlq_service header: "
            "where it came from is unknown"
        )
    # A message that failed again after a replay was read from a retry topic: it goes back to
    # that retry topic, not to `<topic>.retry.<service>.retry.<service>`.
    return retry_topic(original_topic(topic), service)


def unreplayable(letters: Iterable[DeadLetter]) -> list[str]:
    """Why some letters cannot be replayed (one line each); empty when all can."""
    problems = []
    for letter in letters:
        try:
            replay_target(letter)
        except ValueError as error:
            problems.append(str(error))
    return problems


def replay_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers: the dead-letter ones and an earlier replay's mark are dropped,
    since the consumer would otherwise see stale errors and provenance."""
    kept = [
        (name, value)
        for name, value in letter.headers
        if not name.startswith(DLQ_HEADER_PREFIX) and name != REPLAYED_FROM
    ]
    return [*kept, (REPLAYED_FROM, str(letter.id).encode())]


@dataclass(frozen=True)
class Replayed:
    source: MessageId
    topic: str
    partition: int
    offset: int


# --- Kafka -------------------------------------------------------------------------------------
# Brokers that auto-create topics (Tansu does, like Kafka's default) create a topic when a
# client asks for its metadata: every read below checks a topic against the full listing
# before touching it, so a mistyped ID or --topic leaves no empty topic behind.


@contextlib.asynccontextmanager
async def consumer_for(address: str) -> AsyncIterator[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=address, enable_auto_commit=False)
    try:
        await consumer.start()
        yield consumer
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def producer_for(address: str) -> AsyncIterator[Any]:
    producer = AIOKafkaProducer(bootstrap_servers=address)
    try:
        await producer.start()
        yield producer
    finally:
        await producer.stop()


async def read_below(consumer: Any, ends: Mapping[Any, int]) -> list[Any]:
    """The records of the assigned partitions, from their positions up to `ends`: what was
    dead-lettered while we read is left for the next run."""
    try:
        return [record async for record in read_until(consumer, ends)]
    except StreamStalled as stalled:
        raise CliError(str(stalled), exit_code=UNREACHABLE) from None


async def read_dead_letters(address: str, topic: str | None = None) -> list[DeadLetter]:
    """Every record on every dead-letter topic (or on `topic` only), in no particular order."""
    async with consumer_for(address) as consumer:
        topics = dead_letter_topics(await consumer.topics(), topic)
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = await read_below(consumer, await consumer.end_offsets(partitions))
    return [DeadLetter.from_record(r) for r in records]


async def read_by_ids(address: str, ids: Sequence[MessageId]) -> dict[MessageId, DeadLetter]:
    """The records at these IDs; an ID with no record (wrong topic, partition or offset, or
    gone with the broker's retention) is missing from the answer."""
    found: dict[MessageId, DeadLetter] = {}
    async with consumer_for(address) as consumer:
        existing = await consumer.topics()
        for wanted in ids:
            if wanted.topic not in existing:
                continue
            if wanted.partition not in (consumer.partitions_for_topic(wanted.topic) or ()):
                continue
            letter = await read_one(consumer, wanted)
            if letter is not None:
                found[wanted] = letter
    return found


async def read_one(consumer: Any, wanted: MessageId) -> DeadLetter | None:
    tp = TopicPartition(wanted.topic, wanted.partition)
    consumer.assign([tp])
    first = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    if not first <= wanted.offset < end:
        return None
    consumer.seek(tp, wanted.offset)
    for record in await read_below(consumer, {tp: wanted.offset + 1}):
        if record.offset == wanted.offset:
            return DeadLetter.from_record(record)
    return None


async def replay(address: str, letters: Sequence[DeadLetter]) -> list[Replayed]:
    """Publish each letter to its retry topic, in the given order; the dead-letter topic keeps
    them (a Kafka topic is append-only)."""
    # Raises before anything is sent: a replay is all of the letters or none.
    targets = {letter.id: replay_target(letter) for letter in letters}
    await create_retry_topics(address, {targets[letter.id]: letter.id.topic for letter in letters})
    sent = []
    async with producer_for(address) as producer:
        for letter in letters:
            target = targets[letter.id]
            meta = await producer.send_and_wait(
                target, letter.body, key=letter.key, headers=replay_headers(letter)
            )
            sent.append(Replayed(letter.id, target, meta.partition, meta.offset))
    return sent


async def create_retry_topics(address: str, sources: Mapping[str, str]) -> None:
    """Create the retry topics (`sources`: retry topic -> the dead-letter topic it is fed from)
    that do not exist yet, with as many partitions as the topic they retry, so that a key lands
    on the partition it would have."""
    async with consumer_for(address) as consumer:
        existing = await consumer.topics()
        missing = {
            target: len(
                consumer.partitions_for_topic(original_topic(target))
                or consumer.partitions_for_topic(source)
                or {0}
            )
            for target, source in sorted(sources.items())
            if target not in existing
        }
    if not missing:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=address)
    try:
        await admin.start()
        response = await admin.create_topics([NewTopic(t, n, 1) for t, n in missing.items()])
    finally:
        await admin.close()
    refused = [
        f"{entry[0]}: {for_code(entry[1]).__name__}"
        for entry in response.topic_errors
        # Created meanwhile by someone else (a service, another replay): fine.
        if entry[1] not in (0, TopicAlreadyExistsError.errno)
    ]
    if refused:
        raise CliError("Kafka refused to create the retry topics", details=refused)

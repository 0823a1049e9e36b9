"""Issue to `certificate.issued` through the certification service, on the whole stack: enrol N
trainees on a two-session course (bulk CSV), record the first session's attendance, then time
from posting the second session's attendance (each one completes an enrolment) until N
`certificate.issued` events of the course have been read from Kafka. The baseline, measured in
the same run: Typst rendering the same design alone on one core (bench/rendering.py), since
rendering is the work certification cannot avoid; and, for scale, the broker's raw
produce → consume rate of records as large as a certificate.issued event."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from bench import cpu
from bench.figures import IssueFigures, KafkaRoundTrip, RendererFigures, ratio
from bench.scenarios import idle_cores
from bench.stack import Stack
from bench.tenant import Tenant, create_course
from bench.upload import enrol_by_csv
from services.certification.samples import sample_course
from shared import topics

Progress = Callable[[str], None]
SESSIONS = ("2002-09-10", "2002-09-11")
# Give up when no certificate.issued arrived for this long after the last completion.
STALL_SECONDS = 60.0
WATCHED = ("registration", "certification", "notification", "mongodb", "kafka", "smtp")


def course_body(tag: str, partner_id: str) -> dict[str, Any]:
    """The Bulgarian sample certificate (services/certification/samples.py) as a course: the
    same design, logos and wording bench/rendering.py times, so its Typst rate compares."""
    course = sample_course("bg", "classic")
    del course["id"]
    return course | {
        "code": f"BENCH-{tag}-ISSUE",
        "sessions": list(SESSIONS),
        "min_sessions": len(SESSIONS),
        "partner_ids": [partner_id],
    }


def _batches(refs: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    return (refs[start : start + size] for start in range(0, len(refs), size))


@dataclass
class Posted:
    posts: int = 0
    completed: int = 0
    finished_at: float | None = None
    error: str | None = None


async def _post_attendance(
    client: httpx.AsyncClient, course_id: str, session: str, refs: Sequence[str], batch: int
) -> Posted:
    """One POST per `batch` refs, one after another, as a partner's script would."""
    posted = Posted()
    for refs_batch in _batches(refs, batch):
        try:
            response = await client.post(
                f"/v1/courses/{course_id}/attendance",
                json={"session": session, "present": list(refs_batch)},
            )
        except httpx.HTTPError as error:
            posted.error = f"attendance on {session}: {type(error).__name__}: {error}"
            break
        if response.status_code != 200:
            posted.error = (
                f"attendance on {session}: HTTP {response.status_code} " + (response.text[:300])
            )
            break
        posted.posts += 1
        posted.completed += int(response.json()["completed"])
    posted.finished_at = time.perf_counter()
    return posted


@dataclass
class Watcher:
    """Reads certificate.issued and notification.sent from their end, without a consumer
    group: when each certificate of the course was issued, and each of them emailed."""

    bootstrap: str
    course_id: str
    issued: dict[str, float] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    notified: dict[str, float] = field(default_factory=dict)
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = await reading_from_the_end(
            self.bootstrap, (topics.CERTIFICATE_ISSUED, topics.NOTIFICATION_SENT)
        )

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=100, max_records=500)
        now = time.perf_counter()
        for partition, records in batches.items():
            for record in records:
                self._read(partition.topic, record.value, now)

    def _read(self, topic: str, value: bytes | None, at: float) -> None:
        try:
            event = json.loads(value or b"")
            data = event["data"]
        except (ValueError, KeyError, TypeError):
            return
        if topic == topics.CERTIFICATE_ISSUED:
            course = data.get("course") or {}
            if course.get("id") == self.course_id and data.get("enrolment_id"):
                self.issued.setdefault(data["enrolment_id"], at)
                self.sizes.append(len(value or b""))
        elif data.get("enrolment_id"):
            self.notified.setdefault(data["enrolment_id"], at)

    def notified_of_course(self) -> dict[str, float]:
        return {k: v for k, v in self.notified.items() if k in self.issued}


async def reading_from_the_end(bootstrap: str, wanted: Iterable[str]) -> AIOKafkaConsumer:
    """A started consumer of every partition of `wanted`, without a consumer group, that reads
    whatever is published from now on."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        # Tansu answers a waiting fetch only when the wait is over: keep it short.
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    partitions = await _partitions(consumer, wanted)
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    # Resolve the positions now: whatever is published from here on is read.
    for partition in partitions:
        await consumer.position(partition)
    return consumer


async def _partitions(consumer: AIOKafkaConsumer, wanted: Iterable[str]) -> list[TopicPartition]:
    """The partitions of `wanted` topics (every service creates its topics when it starts)."""
    deadline = time.monotonic() + 30
    while True:
        await consumer.topics()  # refreshes the metadata
        found = {topic: consumer.partitions_for_topic(topic) for topic in wanted}
        if all(found.values()):
            return [TopicPartition(t, p) for t, parts in found.items() for p in sorted(parts or ())]
        if time.monotonic() > deadline:
            missing = [topic for topic, parts in found.items() if not parts]
            raise RuntimeError(f"topics {', '.join(missing)} do not exist on the bench broker")
        await asyncio.sleep(0.5)


async def _dead_letter_counts(bootstrap: str) -> dict[str, int]:
    """How many records each dead-letter topic holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        counts: dict[str, int] = {}
        for topic in sorted(await consumer.topics()):
            if not topic.endswith(topics.DLQ_SUFFIX):
                continue
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            if partitions:
                ends = await consumer.end_offsets(partitions)
                counts[topic] = sum(ends.values())
        return counts
    finally:
        await consumer.stop()


async def kafka_round_trip(bootstrap: str, count: int, size: int) -> KafkaRoundTrip:
    """Produce `count` records of `size` bytes to a scratch topic (3 partitions, as the
    services' topics) and consume them back; the clock runs from the first send to the last
    record read."""
    topic = f"bench.round-trip.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        partitions = await _partitions(consumer, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        payload = os.urandom(size)
        received = 0
        started = time.perf_counter()

        async def produce() -> None:
            sent = [
                await producer.send(topic, payload, key=uuid.uuid4().bytes) for _ in range(count)
            ]
            await asyncio.gather(*sent)

        producing = asyncio.create_task(produce())
        deadline = started + 60 + count * 0.1
        while received < count and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=100)
            received += sum(len(records) for records in batches.values())
        seconds = time.perf_counter() - started
        await producing
    finally:
        await producer.stop()
        await consumer.stop()
    return KafkaRoundTrip(
        messages=received,
        message_bytes=size,
        seconds=round(seconds, 3),
        per_second=round(received / seconds, 1) if seconds > 0 else 0.0,
    )


async def _wait(
    watcher: Watcher, done: Callable[[], bool], progress_count: Callable[[], int], stall: float
) -> None:
    """Poll until `done()`, or until `progress_count()` has not moved for `stall` seconds."""
    last_count, last_change = progress_count(), time.perf_counter()
    while not done():
        await watcher.poll()
        count = progress_count()
        now = time.perf_counter()
        if count != last_count:
            last_count, last_change = count, now
        elif now - last_change > stall:
            return


HANDLER_SECONDS = "attesta_received_processed_messages_duration_seconds"


async def _handler_seconds(url: str, handler: str) -> tuple[float, float] | None:
    """(messages, seconds) a service's handler has processed so far, from its /metrics."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"{url}/metrics")
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith(HANDLER_SECONDS) and sample.labels.get("handler") == handler:
                found[sample.name.removeprefix(HANDLER_SECONDS)] = sample.value
    # Before the handler's first message its histogram has no samples yet.
    return found.get("_count", 0.0), found.get("_sum", 0.0)


def _watched(stack: Stack) -> dict[str, int]:
    pids = {name: stack.pids[name] for name in WATCHED if name in stack.pids}
    return {**pids, "bench client": os.getpid()}


async def issue_certificates(
    stack: Stack,
    tenant: Tenant,
    tag: str,
    *,
    count: int,
    attendance_batch: int,
    raw_render: RendererFigures,
    workdir: Path,
    progress: Progress,
    round_trip: bool = True,
) -> IssueFigures:
    label = f"issue {count:,} certificates"
    idle = await idle_cores(stack)
    registration = stack.urls["registration"]
    course_id = await create_course(
        registration, stack.admin_key, course_body(tag, tenant.partner_id)
    )
    progress(f"{label}: enrolling {count:,} trainees (bulk CSV)…")
    refs, upload = await enrol_by_csv(
        registration, course_id, tenant.headers, workdir, f"{tag}-issue", count, label
    )

    async with httpx.AsyncClient(
        base_url=registration, headers=tenant.headers, timeout=httpx.Timeout(600.0)
    ) as client:
        progress(f"{label}: first session's attendance…")
        started = time.perf_counter()
        first = await _post_attendance(client, course_id, SESSIONS[0], refs, attendance_batch)
        first_session_seconds = time.perf_counter() - started
        if first.error is not None:
            raise RuntimeError(f"{label}: {first.error}")

        dead_before = await _dead_letter_counts(stack.kafka_bootstrap)
        watcher = Watcher(stack.kafka_bootstrap, course_id)
        await watcher.start()
        try:
            progress(
                f"{label}: second session's attendance in POSTs of {attendance_batch} "
                f"(each completes its trainees); waiting for certificate.issued…"
            )
            certification = stack.urls["certification"]
            handler_before = await _handler_seconds(certification, topics.ENROLMENT_COMPLETED)
            cpu_before = cpu.snapshot(_watched(stack))
            t0 = time.perf_counter()
            posting = asyncio.create_task(
                _post_attendance(client, course_id, SESSIONS[1], refs, attendance_batch)
            )

            def issued_all() -> bool:
                return len(watcher.issued) >= count or (
                    posting.done() and posting.result().error is not None
                )

            reporter = asyncio.create_task(
                _report(progress, label, lambda: len(watcher.issued), count, t0)
            )
            try:
                # No stall limit until the completions are all posted.
                while not posting.done() and not issued_all():
                    await watcher.poll()
                await _wait(watcher, issued_all, lambda: len(watcher.issued), STALL_SECONDS)
            finally:
                reporter.cancel()
            cpu_spent = cpu.spent(cpu_before, cpu.snapshot(_watched(stack)))
            handler_after = await _handler_seconds(certification, topics.ENROLMENT_COMPLETED)
            posted = await posting
            issued_times = sorted(watcher.issued.values())
            if len(issued_times) >= count:
                progress(f"{label}: all issued; waiting for notification.sent…")
                await _wait(
                    watcher,
                    lambda: len(watcher.notified_of_course()) >= count,
                    lambda: len(watcher.notified),
                    STALL_SECONDS,
                )
        finally:
            await watcher.stop()
    dead_after = await _dead_letter_counts(stack.kafka_bootstrap)
    dead_letters = {
        topic: n - dead_before.get(topic, 0)
        for topic, n in dead_after.items()
        if n - dead_before.get(topic, 0) > 0
    }

    issued = len(issued_times)
    seconds = issued_times[-1] - t0 if issued_times else None
    rate = issued / seconds if seconds else 0.0
    steady = (
        (issued - 1) / (issued_times[-1] - issued_times[0])
        if issued > 1 and issued_times[-1] > issued_times[0]
        else None
    )
    notified_times = sorted(watcher.notified_of_course().values())
    event_bytes = int(statistics.median(watcher.sizes)) if watcher.sizes else 0
    error = posted.error
    if error is None and issued < count:
        error = (
            f"{issued} of {count} certificates issued; none for {STALL_SECONDS:.0f}s "
            f"(see the stack's logs with --keep)"
        )
    kafka = None
    if round_trip and event_bytes:
        progress(f"{label}: raw Kafka round trip of {count} records of {event_bytes:,} bytes…")
        kafka = await kafka_round_trip(stack.kafka_bootstrap, count, event_bytes)
    certification_cpu = cpu_spent.get("certification")
    handler_ms = None
    if handler_before is not None and handler_after is not None:
        handled = handler_after[0] - handler_before[0]
        if handled > 0:
            handler_ms = round((handler_after[1] - handler_before[1]) * 1000 / handled, 1)
    figures = IssueFigures(
        certificates=count,
        attendance_batch=attendance_batch,
        enrol_seconds=round(upload.seconds, 3),
        first_session_seconds=round(first_session_seconds, 3),
        completing_posts=posted.posts,
        completed=posted.completed,
        completing_seconds=round((posted.finished_at or t0) - t0, 3),
        issued=issued,
        first_issued_seconds=round(issued_times[0] - t0, 3) if issued_times else None,
        seconds=round(seconds, 3) if seconds is not None else None,
        issued_per_second=round(rate, 2),
        steady_per_second=round(steady, 2) if steady is not None else None,
        notified=len(notified_times),
        notified_seconds=round(notified_times[-1] - t0, 3) if notified_times else None,
        certificate_event_bytes=event_bytes,
        raw_render=raw_render,
        share_of_render_rate=_rounded(ratio(rate, raw_render.pdfs_per_second_per_core)),
        certification_cpu_ms_per_certificate=(
            round(certification_cpu * 1000 / issued, 1)
            if certification_cpu is not None and issued
            else None
        ),
        certification_handler_ms=handler_ms,
        stack_cpu_ms_per_certificate=(
            round(sum(v for k, v in cpu_spent.items() if k != "bench client") * 1000 / issued, 1)
            if issued
            else None
        ),
        cpu_seconds={k: round(v, 2) for k, v in cpu_spent.items()},
        idle_cores=idle,
        dead_letters=dead_letters,
        kafka=kafka,
        error=error,
    )
    progress(
        f"{label}: {issued:,} issued in {seconds or 0:.1f}s, {rate:.1f}/s "
        f"({_percent(figures.share_of_render_rate)} of Typst's "
        f"{raw_render.pdfs_per_second_per_core:.0f} PDFs/s on one core)"
    )
    return figures


async def _report(
    progress: Progress, label: str, issued: Callable[[], int], count: int, t0: float
) -> None:
    while True:
        await asyncio.sleep(5)
        done = issued()
        elapsed = time.perf_counter() - t0
        progress(f"{label}: {done:,}/{count:,} issued after {elapsed:.0f}s")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"

"""Issue #8: the whole flow, completion to email, against the raw speed of its parts.

On a stack of all three services with `make run`'s settings:

1. warm-up: a small course goes through (untimed); it gives the sizes of the flow's Kafka
   records and a real enrolment document for the raw baselines;
2. raw baselines of each stage through the same servers (bench/baselines.py), repeated;
3. end-to-end rounds: a fresh course of N trainees enrolled by bulk CSV and present at the
   first session (untimed); then the second session's attendance is posted (POSTs of 100, each
   completing its trainees) and the clock runs from the first `enrolment.completed` to the last
   `notification.sent` (the times the services stamped on them): certificates per second;
4. latency under a steady offered load: trainees completed one per POST at R per second for
   S seconds; each one's `enrolment.completed` to its `notification.sent`: p50/p95/p99;
5. the monolith peer (bench/monolith.py) on the same database and sink;
6. a sampling profile (py-spy) of the process that spent the most CPU in the rounds, during
   one more round;

then the rounds again on a stack with 2 instances each of certification and notification.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench import baselines, cpu
from bench.figures import percentile, spread
from bench.flow_figures import Baseline, FlowFigures, FlowRound, LatencyRun, StageRatio
from bench.issuing import SESSIONS, _post_attendance, course_body, reading_from_the_end
from bench.stack import Stack
from bench.tenant import Tenant, create_course
from bench.upload import enrol_by_csv
from shared import topics
from shared.mongo import connect

Progress = Callable[[str], None]
STALL_SECONDS = 60.0
ATTENDANCE_BATCH = 100
POST_ATTEMPTS = 3
# Not the stack's own work.
APART = ("bench client",)


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # trainees per end-to-end round
    repeats: int
    rates: tuple[float, ...]  # offered completions per second, for the latency
    latency_seconds: float
    instances: tuple[int, ...]
    warmup: int
    counts: baselines.Counts
    baseline_repeats: int
    monolith_certificates: int
    profile_seconds: float  # 0: no profile

    @property
    def scaled_size(self) -> int:
        """The round size the scaled-out stacks run (the first: the others take long)."""
        return self.sizes[0]


def settings_for(
    *,
    smoke: bool,
    sizes: Sequence[int] | None = None,
    repeats: int | None = None,
    rates: Sequence[float] | None = None,
    latency_seconds: float | None = None,
    instances: Sequence[int] | None = None,
) -> Settings:
    """Defaults: rounds of 1,000 and of 10,000 trainees, 3 of each (the second stack, with 2
    instances, runs the 1,000 only), latency at 20/s and 100/s for 15 s (about 45 minutes on
    the 2-core machine; `sizes=[1000]`: 15). Smoke: everything once and tiny, under a minute
    with the stack's start."""
    if smoke:
        return Settings(
            sizes=tuple(sizes or (20,)),
            repeats=repeats or 1,
            rates=tuple(rates or (5.0,)),
            latency_seconds=latency_seconds or 2.0,
            instances=tuple(instances or (1,)),
            warmup=5,
            counts=baselines.Counts(kafka_records=100, mongo_documents=100, renders=5, emails=10),
            baseline_repeats=1,
            monolith_certificates=5,
            profile_seconds=2.0,
        )
    return Settings(
        sizes=tuple(sizes or (1_000, 10_000)),
        repeats=repeats or 3,
        rates=tuple(rates or (20.0, 100.0)),
        latency_seconds=latency_seconds or 15.0,
        instances=tuple(instances or (1, 2)),
        warmup=20,
        counts=baselines.Counts(
            kafka_records=2_000, mongo_documents=2_000, renders=100, emails=300
        ),
        baseline_repeats=3,
        monolith_certificates=200,
        profile_seconds=20.0,
    )


# Arithmetic (tests/unit/test_bench_flow.py) -------------------------------------------------


def steady_rate(times: Iterable[float]) -> float | None:
    """Events per second between the first and the last of `times` (epoch seconds)."""
    ordered = sorted(times)
    if len(ordered) < 2 or ordered[-1] <= ordered[0]:
        return None
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


def latencies(completed: Mapping[str, float], emailed: Mapping[str, float]) -> list[float]:
    """Seconds from each enrolment's completion to its email, for those emailed."""
    return [emailed[k] - completed[k] for k in completed if k in emailed]


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole <= 0:
        return None
    return round(part / whole, 3)


def cpu_share(rounds: Sequence[FlowRound]) -> dict[str, float]:
    """Each process's share of the stack's CPU over `rounds`, the largest first."""
    spent: dict[str, float] = {}
    for r in rounds:
        for name, seconds in r.cpu_seconds.items():
            if name not in APART:
                spent[name] = spent.get(name, 0.0) + seconds
    total = sum(spent.values())
    if total <= 0:
        return {}
    return {k: round(v / total, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}


def slowest(found: Sequence[Baseline]) -> Baseline | None:
    """The stage baseline with the lowest rate: each certificate needs at least one of each
    (a render, an email, a few records and documents), so it bounds the flow."""
    return min(found, key=lambda b: b.spread.median, default=None)


def throughput_key(size: int, instances: int) -> str:
    return f"{size} x{instances}"


# Watching the flow ---------------------------------------------------------------------------


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass
class FlowWatcher:
    """Reads enrolment.completed, certificate.issued and notification.sent from their end,
    without a consumer group, and keeps for each enrolment of the course when the service
    stamped each event (epoch seconds): completion, issue, and the email's acceptance."""

    bootstrap: str
    course_id: str
    completed: dict[str, float] = field(default_factory=dict)
    issued: dict[str, float] = field(default_factory=dict)
    emailed: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, list[int]] = field(default_factory=dict)
    _early_emails: dict[str, float] = field(default_factory=dict)
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = await reading_from_the_end(
            self.bootstrap,
            (topics.ENROLMENT_COMPLETED, topics.CERTIFICATE_ISSUED, topics.NOTIFICATION_SENT),
        )

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=100, max_records=1_000)
        for partition, records in batches.items():
            for record in records:
                self.read(partition.topic, record.value or b"")

    def read(self, topic: str, value: bytes) -> None:
        try:
            event = json.loads(value)
            data = event["data"]
            enrolment = str(data["enrolment_id"])
        except (ValueError, KeyError, TypeError):
            return
        if topic == topics.NOTIFICATION_SENT:
            # notification.sent names no course: kept aside until its completion is seen.
            self._early_emails.setdefault(enrolment, _epoch(data["sent_at"]))
            self._settle()
            return
        if (data.get("course") or {}).get("id") != self.course_id:
            return
        self.sizes.setdefault(topic, []).append(len(value))
        found = self.completed if topic == topics.ENROLMENT_COMPLETED else self.issued
        found.setdefault(enrolment, _epoch(event["time"]))
        self._settle()

    def _settle(self) -> None:
        for enrolment in [e for e in self._early_emails if e in self.completed]:
            self.emailed.setdefault(enrolment, self._early_emails.pop(enrolment))

    def record_size(self, topic: str) -> int | None:
        found = self.sizes.get(topic)
        return int(statistics.median(found)) if found else None

    async def until(self, done: Callable[[], bool], count: Callable[[], int]) -> bool:
        """Poll until `done()`; False when `count()` stood still for STALL_SECONDS."""
        last, changed = count(), time.monotonic()
        while not done():
            await self.poll()
            now = count()
            if now != last:
                last, changed = now, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                return False
        return True


# The parts of the measurement ------------------------------------------------------------------


@dataclass
class Course:
    id: str
    refs: list[str]


@dataclass
class Flow:
    stack: Stack
    tenant: Tenant
    progress: Progress
    instances: int
    courses: int = 0

    def watched(self) -> dict[str, int]:
        pids = {k: v for k, v in self.stack.pids.items() if k not in ("baseline",)}
        return {**pids, "bench client": os.getpid()}

    async def course(self, count: int, label: str) -> Course:
        """A fresh course of `count` trainees, enrolled by bulk CSV, present at the first
        session: the next attendance completes them."""
        registration = self.stack.urls["registration"]
        self.courses += 1
        tag = f"{uuid.uuid4().hex[:6]}f{self.courses}"
        course_id = await create_course(
            registration, self.stack.admin_key, course_body(tag, self.tenant.partner_id)
        )
        self.progress(f"{label}: enrolling {count:,} trainees (bulk CSV), first session…")
        refs, _ = await enrol_by_csv(
            registration,
            course_id,
            self.tenant.headers,
            self.stack.root,
            f"{tag}-flow",
            count,
            label,
        )
        async with self._client() as client:
            first = await _post_attendance(client, course_id, SESSIONS[0], refs, ATTENDANCE_BATCH)
        if first.error is not None:
            raise RuntimeError(f"{label}: {first.error}")
        return Course(course_id, refs)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.stack.urls["registration"],
            headers=self.tenant.headers,
            timeout=httpx.Timeout(600.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        )

    async def round(
        self,
        size: int,
        number: int,
        label: str,
        during: Callable[[], Any] | None = None,
    ) -> tuple[FlowRound, FlowWatcher]:
        """One end-to-end round; `during` (a coroutine function) runs alongside it."""
        course = await self.course(size, label)
        watcher = FlowWatcher(self.stack.kafka_bootstrap, course.id)
        await watcher.start()
        beside: asyncio.Task[Any] | None = None
        try:
            self.progress(f"{label}: second session's attendance; timing to the last email…")
            load = os.getloadavg()[0]
            before = cpu.snapshot(self.watched())
            async with self._client() as client:
                posting = asyncio.create_task(
                    _post_attendance(client, course.id, SESSIONS[1], course.refs, ATTENDANCE_BATCH)
                )
                if during is not None:
                    beside = asyncio.create_task(during())
                reporting = asyncio.create_task(self._report(label, watcher, size))
                try:
                    done = await watcher.until(
                        lambda: (
                            len(watcher.emailed) >= size
                            or (posting.done() and posting.result().error is not None)
                        ),
                        lambda: len(watcher.completed) + len(watcher.issued) + len(watcher.emailed),
                    )
                finally:
                    reporting.cancel()
                posted = await posting
            spent = cpu.spent(before, cpu.snapshot(self.watched()))
            if beside is not None:
                await beside
        finally:
            await watcher.stop()
        error = posted.error
        if error is None and not done:
            error = (
                f"{len(watcher.issued)} of {size} issued, {len(watcher.emailed)} emailed; none "
                f"more for {STALL_SECONDS:.0f}s (see the stack's logs with --keep)"
            )
        first = min(watcher.completed.values(), default=None)
        last = max(watcher.emailed.values(), default=None)
        seconds = last - first if first is not None and last is not None else None
        emailed = len(watcher.emailed)
        stack_cpu = sum(v for k, v in spent.items() if k not in APART)
        figures = FlowRound(
            size=size,
            instances=self.instances,
            number=number,
            completed=len(watcher.completed),
            issued=len(watcher.issued),
            emailed=emailed,
            seconds=None if seconds is None else round(seconds, 3),
            per_second=round(emailed / seconds, 2) if seconds else 0.0,
            cpu_seconds={k: round(v, 2) for k, v in spent.items()},
            stack_cpu_ms_per_certificate=round(stack_cpu * 1000 / emailed, 1) if emailed else None,
            load_average=round(load, 2),
            error=error,
        )
        self.progress(
            f"{label}: {figures.per_second:.2f} certificates/s end to end "
            f"({emailed:,} in {figures.seconds}s)"
        )
        return figures, watcher

    async def _report(self, label: str, watcher: FlowWatcher, size: int) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(10)
            self.progress(
                f"{label}: {len(watcher.completed):,}/{size:,} completed, "
                f"{len(watcher.issued):,} issued, {len(watcher.emailed):,} emailed after "
                f"{time.monotonic() - started:.0f}s"
            )

    async def latency(self, rate: float, seconds: float, label: str) -> LatencyRun:
        """Completions one per POST at `rate` per second for `seconds`; completion to email."""
        count = max(2, round(rate * seconds))
        course = await self.course(count, label)
        watcher = FlowWatcher(self.stack.kafka_bootstrap, course.id)
        await watcher.start()
        answered: list[float] = []
        failures: list[str] = []
        try:
            self.progress(f"{label}: {count:,} completions at {rate:g}/s, one per POST…")
            async with self._client() as client:

                async def complete(ref: str, at: float) -> None:
                    await asyncio.sleep(max(0.0, at - time.monotonic()))
                    for attempt in range(1, POST_ATTEMPTS + 1):
                        try:
                            response = await client.post(
                                f"/v1/courses/{course.id}/attendance",
                                json={"session": SESSIONS[1], "present": [ref]},
                            )
                            break
                        except httpx.TransportError as error:
                            # A kept-alive connection the server closed as the request went
                            # out (seen once in 4,800 at 100/s); attendance repeats harmlessly.
                            if attempt == POST_ATTEMPTS:
                                failures.append(f"{type(error).__name__}: {error!r}")
                                return
                        except httpx.HTTPError as error:
                            failures.append(f"{type(error).__name__}: {error!r}")
                            return
                    if response.status_code != 200:
                        failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                        return
                    answered.append(time.monotonic())

                start = time.monotonic() + 0.2
                posting = asyncio.gather(
                    *(complete(ref, start + i / rate) for i, ref in enumerate(course.refs))
                )
                polling = asyncio.create_task(self._poll_while(watcher, posting))
                await posting
                await polling
            done = await watcher.until(
                lambda: len(watcher.emailed) >= len(answered),
                lambda: len(watcher.issued) + len(watcher.emailed),
            )
        finally:
            await watcher.stop()
        found = latencies(watcher.completed, watcher.emailed)
        error = failures[0] if failures else None
        if error is None and not done:
            error = f"{len(watcher.emailed)} of {len(answered)} emailed; stalled"

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        achieved = steady_rate(answered)
        run = LatencyRun(
            rate=rate,
            seconds=seconds,
            offered=count,
            achieved_rate=round(achieved, 2) if achieved else 0.0,
            emailed=len(watcher.emailed),
            p50_ms=ms(percentile(found, 50)),
            p95_ms=ms(percentile(found, 95)),
            p99_ms=ms(percentile(found, 99)),
            max_ms=ms(max(found, default=None)),
            error=error,
        )
        self.progress(
            f"{label}: completion → email p50 {run.p50_ms} ms, p95 {run.p95_ms} ms, "
            f"p99 {run.p99_ms} ms"
        )
        return run

    @staticmethod
    async def _poll_while(watcher: FlowWatcher, running: asyncio.Future[Any]) -> None:
        while not running.done():
            await watcher.poll()

    async def enrolment_template(self) -> dict[str, Any]:
        """A real enrolment document of the run, for the raw database baseline."""
        client = connect(self.stack.mongo_url)
        try:
            found = await client["registration"]["enrolments"].find_one({})
        finally:
            await client.close()
        if found is None:
            raise RuntimeError("no enrolment in registration's database after the warm-up")
        return dict(found)


def stage_ratios(
    found: Sequence[Baseline], watchers: Sequence[FlowWatcher], rounds: Sequence[FlowRound]
) -> list[StageRatio]:
    """Each stage's steady rate in the rounds (between its first and its last event, median
    over the rounds) against the baseline of the parts it uses."""

    def best(stage: str, contains: str = "") -> Baseline | None:
        matching = [b for b in found if b.stage == stage and contains in b.what]
        return matching[-1] if matching else None

    def median_rate(pick: Callable[[FlowWatcher], Mapping[str, float]]) -> float | None:
        rates = [r for w in watchers if (r := steady_rate(pick(w).values())) is not None]
        return round(statistics.median(rates), 2) if rates else None

    rows: list[tuple[str, str, float | None, Baseline | None]] = [
        (
            "registration",
            "trainees completed per second (attendance POSTs of 100)",
            median_rate(lambda w: w.completed),
            best("mongodb", "find_one_and_update"),
        ),
        (
            "kafka",
            "certificate.issued records per second",
            median_rate(lambda w: w.issued),
            best("kafka", "certificate.issued"),
        ),
        (
            "certification",
            "certificates issued per second",
            median_rate(lambda w: w.issued),
            best("renderer"),
        ),
        (
            "notification",
            "certificate emails accepted per second",
            median_rate(lambda w: w.emailed),
            best("smtp"),
        ),
    ]
    end_to_end = [r.per_second for r in rounds if r.error is None and r.instances == 1]
    slow = slowest(found)
    rows.append(
        (
            "end to end",
            "certificates emailed per second (first completion to last email)",
            round(statistics.median(end_to_end), 2) if end_to_end else None,
            slow,
        )
    )
    return [
        StageRatio(
            stage=stage,
            system=system,
            system_per_second=rate,
            baseline=base.what,
            baseline_per_second=base.spread.median,
            ratio=ratio(rate, base.spread.median),
        )
        for stage, system, rate, base in rows
        if base is not None
    ]


def summarise(figures: FlowFigures, watchers: Sequence[FlowWatcher]) -> None:
    """The figures computed from the rounds: spreads, ratios, CPU shares."""
    keys = sorted({(r.size, r.instances) for r in figures.rounds})
    for size, instances in keys:
        found = spread(
            r.per_second
            for r in figures.rounds
            if (r.size, r.instances) == (size, instances) and r.error is None
        )
        if found is not None:
            figures.throughput[throughput_key(size, instances)] = found
    for rate in sorted({run.rate for run in figures.latency}):
        p99 = spread(
            run.p99_ms
            for run in figures.latency
            if run.rate == rate and run.p99_ms is not None and run.error is None
        )
        if p99 is not None:
            figures.latency_p99[f"{rate:g}/s"] = p99
    figures.stages = stage_ratios(figures.baselines, watchers, figures.rounds)
    slow = slowest(figures.baselines)
    if slow is not None:
        figures.slowest_baseline = slow.what
        end_to_end = next((s for s in figures.stages if s.stage == "end to end"), None)
        figures.share_of_slowest_baseline = None if end_to_end is None else end_to_end.ratio
    figures.cpu_share = cpu_share([r for r in figures.rounds if r.instances == 1])


def save_watcher_sizes(watcher: FlowWatcher) -> dict[str, int]:
    """The record size of each event of the warm-up, for the Kafka baseline."""
    names = {
        topics.ENROLMENT_COMPLETED: "enrolment.completed",
        topics.CERTIFICATE_ISSUED: "certificate.issued",
    }
    sizes = {}
    for topic, name in names.items():
        size = watcher.record_size(topic)
        if size is not None:
            sizes[name] = size
    return sizes


def results_path(directory: Path, stamp: str, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}-{stamp}"

"""Issue #7: what metrics and tracing cost end to end, on vs off in the same run.

Two stacks with all three services, `make run`-like settings, started once each and both up
for the whole measurement:

- off: `ATTESTA_METRICS_ENABLED=false` (no Prometheus HTTP or FastStream middleware, no
  stream-metrics round) and no `ATTESTA_OTLP_ENDPOINT` (no tracing);
- on: metrics on, and GET /metrics of every service every 5 s from this process during each
  round, as Prometheus would; tracing on, every trace kept, exported over OTLP/HTTP to the
  development collector (shared/devstack/trace_sink.py), which runs on the same machine and
  decodes every span, as a collector sidecar would.

Each stack first issues a small untimed course (warm-up). Then rounds alternate (off, on, on,
off, off, on, …) so that a machine growing busier or quieter favours neither mode. A round is
a fresh course of N trainees (the issue measurement's course, which sends no confirmation
emails), enrolled by bulk CSV and present at the first session (untimed); the clock starts
when the second session's attendance is posted (POSTs of 100, each completing its trainees)
and stops at the last `notification.sent` of the course: end-to-end certificates per second.
The issue rate (to the last `certificate.issued`) is kept too.

Checks that the comparison is honest: on the on stack, the spans the collector received for
each round (> 0, reported per certificate) and `attesta_http_requests_total` on every
service's /metrics; on the off stack, that metric absent from every service's /metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import cpu
from bench.figures import OverheadFigures, OverheadRound, Spread, spread
from bench.issuing import (
    SESSIONS,
    STALL_SECONDS,
    Watcher,
    _dead_letter_counts,
    _post_attendance,
    _wait,
    course_body,
)
from bench.scenarios import idle_cores
from bench.stack import SERVICES, Stack
from bench.tenant import Tenant, create_course, create_tenant
from bench.upload import enrol_by_csv

Progress = Callable[[str], None]
LABEL = "overhead"
MODES = ("off", "on")
GOAL = 0.10
# What the on stack has on: both (the figure of issue #7), or one of them to see its share.
FEATURES = ("both", "metrics", "tracing")
HTTP_REQUESTS = "attesta_http_requests_total"
SCRAPE_SECONDS = 5.0
# After each round, of either mode: longer than the BatchSpanProcessor's 5 s between exports,
# so that every span of the round has reached the collector before it is counted.
SETTLE_SECONDS = 6.0
# What the OpenTelemetry SDK logs when its queue (2,048 spans) overflows.
DROPPED = "Queue full, dropping"
WATCHED = (*SERVICES, "mongodb", "kafka", "smtp", "trace sink")
# Not the stack's own work: this process, and the collector (reported apart).
APART = ("bench client", "trace sink")


@dataclass(frozen=True)
class Settings:
    certificates: int  # per round
    rounds: int  # per mode
    warmup: int
    attendance_batch: int
    features: str = "both"  # on the on stack: one of FEATURES

    @property
    def metrics(self) -> bool:
        return self.features != "tracing"

    @property
    def tracing(self) -> bool:
        return self.features != "metrics"

    def environment(self, mode: str) -> dict[str, str]:
        """Laid over `make run`'s settings (servers.stack_environment). Tracing off says "no
        endpoint" outright, so that a collector named in the bench's own environment cannot
        leak in."""
        on = mode == "on"
        return {
            "ATTESTA_METRICS_ENABLED": "true" if on and self.metrics else "false",
            **(
                {"ATTESTA_TRACE_SAMPLE_RATIO": "1.0"}
                if on and self.tracing
                else {"ATTESTA_OTLP_ENDPOINT": ""}
            ),
        }


def settings_for(
    *,
    quick: bool,
    certificates: int | None,
    rounds: int | None,
    attendance_batch: int,
    features: str = "both",
) -> Settings:
    """Defaults: 3 rounds each way of 300 certificates (about ten minutes with the stacks'
    start); quick: 1 round each way of 40."""
    if features not in FEATURES:
        raise ValueError(f"features: one of {', '.join(FEATURES)}, not {features}")
    return Settings(
        certificates=certificates or (40 if quick else 300),
        rounds=rounds or (1 if quick else 3),
        warmup=10 if quick else 20,
        attendance_batch=attendance_batch,
        features=features,
    )


# Arithmetic (tests/unit/test_bench_overhead.py) ---------------------------------------------


def round_order(rounds: int) -> list[str]:
    """`rounds` of each mode, alternating and flipped every pair: off, on, on, off, off, on…"""
    order: list[str] = []
    for pair in range(rounds):
        order += ["off", "on"] if pair % 2 == 0 else ["on", "off"]
    return order


def overhead(on: float | None, off: float | None) -> float | None:
    """The share of the off rate the on stack loses: 1 − on / off."""
    if on is None or off is None or off <= 0:
        return None
    return 1 - on / off


def growth(on: float | None, off: float | None) -> float | None:
    """How much more the on stack spends than the off stack: on / off − 1."""
    if on is None or off is None or off <= 0:
        return None
    return on / off - 1


def metric_total(text: str, sample: str) -> float | None:
    """The sum of every `sample` in a Prometheus exposition, None when it has none."""
    values = [
        found.value
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name == sample
    ]
    return sum(values) if values else None


def spans_in_window(spans: Iterable[Mapping[str, Any]], start_ns: int, end_ns: int) -> Counter[str]:
    """Spans (the trace sink's JSON lines) that started within [start_ns, end_ns], counted by
    "service: span name"."""
    counted: Counter[str] = Counter()
    for span in spans:
        if start_ns <= int(span.get("start_ns") or 0) <= end_ns:
            counted[f"{span.get('service')}: {span.get('name')}"] += 1
    return counted


def by_service(names: Mapping[str, int]) -> dict[str, int]:
    """Counts by "service: span name" summed by service, the largest first."""
    counted: Counter[str] = Counter()
    for name, n in names.items():
        counted[name.split(": ", 1)[0]] += n
    return dict(counted.most_common())


def cpu_ms_per_certificate(rounds: Sequence[OverheadRound]) -> dict[str, float]:
    """Per process, the median over `rounds` of its CPU milliseconds per certificate sent."""
    found: dict[str, list[float]] = {}
    for r in rounds:
        if r.notified <= 0:
            continue
        for name, seconds in r.cpu_seconds.items():
            found.setdefault(name, []).append(seconds * 1000 / r.notified)
    return {name: round(statistics.median(ms), 1) for name, ms in found.items()}


def stack_cpu_ms(cpu_seconds: Mapping[str, float], certificates: int) -> float | None:
    if certificates <= 0:
        return None
    spent = sum(v for k, v in cpu_seconds.items() if k not in APART)
    return spent * 1000 / certificates


# The parts of a round ------------------------------------------------------------------------


@dataclass
class Scraper:
    """GETs every service's /metrics one after another every `interval` seconds, as
    Prometheus would; keeps each one's last answer."""

    urls: Mapping[str, str]
    interval: float = SCRAPE_SECONDS
    seconds: list[float] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    failures: int = 0

    async def scrape(self, client: httpx.AsyncClient) -> None:
        for name, url in self.urls.items():
            started = time.perf_counter()
            try:
                response = await client.get(f"{url}/metrics")
                response.raise_for_status()
            except httpx.HTTPError:
                self.failures += 1
                continue
            self.seconds.append(time.perf_counter() - started)
            self.last[name] = response.text
            self.sizes[name] = len(response.content)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                started = time.monotonic()
                await self.scrape(client)
                await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


@dataclass
class SpanFile:
    """The trace sink's file, read as it grows: whole lines only, each read once."""

    path: Path
    offset: int = 0

    def skip(self) -> None:
        """From here on: what the file holds now is not read."""
        self.offset = self._whole_lines_end()

    def read(self) -> list[dict[str, Any]]:
        end = self._whole_lines_end()
        if end <= self.offset:
            return []
        with self.path.open("rb") as source:
            source.seek(self.offset)
            chunk = source.read(end - self.offset)
        self.offset = end
        return [json.loads(line) for line in chunk.splitlines() if line.strip()]

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _whole_lines_end(self) -> int:
        size = self.size()
        if size <= self.offset:
            return self.offset
        with self.path.open("rb") as source:
            source.seek(self.offset)
            chunk = source.read(size - self.offset)
        return self.offset + chunk.rfind(b"\n") + 1


async def _metrics_text(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"{url}/metrics")
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return response.text


@dataclass
class Side:
    """One stack and what the rounds on it need."""

    mode: str
    stack: Stack
    tenant: Tenant
    progress: Progress
    scraper: Scraper | None = None
    spans: SpanFile | None = None
    span_names: Counter[str] = field(default_factory=Counter)
    metrics: dict[str, float | None] = field(default_factory=dict)
    courses: int = 0

    def watched(self) -> dict[str, int]:
        pids = {name: self.stack.pids[name] for name in WATCHED if name in self.stack.pids}
        return {**pids, "bench client": os.getpid()}

    async def round(
        self, number: int, count: int, attendance_batch: int, label: str
    ) -> OverheadRound:
        """A fresh course of `count` trainees: enrolled and present at the first session
        (untimed), then timed from the second session's attendance to the last email."""
        scraping: asyncio.Task[None] | None = None
        if self.scraper is not None:
            scraping = asyncio.create_task(self.scraper.run())
        if self.spans is not None:
            self.spans.skip()
        scrapes_before = len(self.scraper.seconds) if self.scraper else 0
        try:
            figures, t0_ns = await self._round(number, count, attendance_batch, label)
            # Either mode: the stack finishes what it was doing; the collector gets each
            # process's last spans (they are exported every 5 s).
            await asyncio.sleep(SETTLE_SECONDS)
            error = figures.error
            spans: Counter[str] = Counter()
            if self.spans is not None:
                await self._spans_settled()
                # From the clock's start on: the round's spans, the last notification.sent
                # consumed by registration included (the stack is idle between rounds).
                spans = spans_in_window(self.spans.read(), t0_ns, time.time_ns())
                self.span_names.update(spans)
                if not spans and error is None:
                    error = "the on stack's collector received no span of the round"
            await self._check_metrics()
        finally:
            if scraping is not None:
                scraping.cancel()
                await asyncio.gather(scraping, return_exceptions=True)
        scrapes = (len(self.scraper.seconds) if self.scraper else 0) - scrapes_before
        return dataclasses.replace(
            figures,
            spans=sum(spans.values()),
            spans_by_service=by_service(spans),
            scrapes=scrapes,
            error=error,
        )

    async def _round(
        self, number: int, count: int, attendance_batch: int, label: str
    ) -> tuple[OverheadRound, int]:
        """The round's figures but the spans and scrapes; when the clock started (epoch
        nanoseconds, as the spans are stamped)."""
        stack = self.stack
        registration = stack.urls["registration"]
        self.courses += 1
        tag = f"{uuid.uuid4().hex[:6]}{self.mode}{self.courses}"
        course_id = await create_course(
            registration, stack.admin_key, course_body(tag, self.tenant.partner_id)
        )
        self.progress(f"{label}: enrolling {count:,} trainees (bulk CSV), first session…")
        refs, _ = await enrol_by_csv(
            registration,
            course_id,
            self.tenant.headers,
            stack.root,
            f"{tag}-overhead",
            count,
            label,
        )
        async with httpx.AsyncClient(
            base_url=registration, headers=self.tenant.headers, timeout=httpx.Timeout(600.0)
        ) as client:
            first = await _post_attendance(client, course_id, SESSIONS[0], refs, attendance_batch)
            if first.error is not None:
                raise RuntimeError(f"{label}: {first.error}")
            watcher = Watcher(stack.kafka_bootstrap, course_id)
            await watcher.start()
            try:
                self.progress(f"{label}: second session's attendance; timing to the last email…")
                load = os.getloadavg()[0]
                cpu_before = cpu.snapshot(self.watched())
                t0_ns = time.time_ns()
                t0 = time.perf_counter()
                posting = asyncio.create_task(
                    _post_attendance(client, course_id, SESSIONS[1], refs, attendance_batch)
                )

                def failed() -> bool:
                    return posting.done() and posting.result().error is not None

                def issued_all() -> bool:
                    return len(watcher.issued) >= count or failed()

                def notified_all() -> bool:
                    return len(watcher.notified_of_course()) >= count or failed()

                reporter = asyncio.create_task(self._report(label, watcher, count, t0))
                try:
                    while not posting.done() and not issued_all():
                        await watcher.poll()
                    await _wait(watcher, issued_all, lambda: len(watcher.issued), STALL_SECONDS)
                    await _wait(watcher, notified_all, lambda: len(watcher.notified), STALL_SECONDS)
                finally:
                    reporter.cancel()
                cpu_spent = cpu.spent(cpu_before, cpu.snapshot(self.watched()))
                posted = await posting
            finally:
                await watcher.stop()

        issued_times = sorted(watcher.issued.values())
        notified_times = sorted(watcher.notified_of_course().values())
        issued, notified = len(issued_times), len(notified_times)
        issued_seconds = issued_times[-1] - t0 if issued_times else None
        notified_seconds = notified_times[-1] - t0 if notified_times else None
        error = posted.error
        if error is None and notified < count:
            error = (
                f"{issued} of {count} issued, {notified} emailed; none more for "
                f"{STALL_SECONDS:.0f}s (see the stack's logs with --keep)"
            )
        figures = OverheadRound(
            mode=self.mode,
            number=number,
            certificates=count,
            issued=issued,
            notified=notified,
            issued_seconds=_round(issued_seconds, 3),
            notified_seconds=_round(notified_seconds, 3),
            issued_per_second=round(issued / issued_seconds, 2) if issued_seconds else 0.0,
            end_to_end_per_second=(
                round(notified / notified_seconds, 2) if notified_seconds else 0.0
            ),
            cpu_seconds={k: round(v, 2) for k, v in cpu_spent.items()},
            stack_cpu_ms_per_certificate=_round(stack_cpu_ms(cpu_spent, notified), 1),
            spans=0,
            spans_by_service={},
            scrapes=0,
            load_average=round(load, 2),
            error=error,
        )
        return figures, t0_ns

    async def _report(self, label: str, watcher: Watcher, count: int, t0: float) -> None:
        while True:
            await asyncio.sleep(10)
            self.progress(
                f"{label}: {len(watcher.issued):,}/{count:,} issued, "
                f"{len(watcher.notified_of_course()):,} emailed after "
                f"{time.perf_counter() - t0:.0f}s"
            )

    async def _spans_settled(self, quiet: float = 1.0, longest: float = 30.0) -> None:
        """Until the span file stopped growing for `quiet` seconds."""
        assert self.spans is not None
        deadline = time.monotonic() + longest
        size = self.spans.size()
        while time.monotonic() < deadline:
            await asyncio.sleep(quiet)
            now = self.spans.size()
            if now == size:
                return
            size = now

    async def _check_metrics(self) -> None:
        """attesta_http_requests_total on every service's /metrics, as the round left it."""
        for name in SERVICES:
            text = await _metrics_text(self.stack.urls[name])
            if text is None:
                self.metrics.pop(name, None)
            else:
                self.metrics[name] = metric_total(text, HTTP_REQUESTS)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _dropped_spans(logs: Path) -> int:
    found = 0
    for name in SERVICES:
        path = logs / f"{name}.log"
        if path.exists():
            found += path.read_text(encoding="utf-8", errors="replace").count(DROPPED)
    return found


async def measure(
    stacks: Mapping[str, Stack], settings: Settings, progress: Progress
) -> OverheadFigures:
    """`stacks`: "off" and "on", both running all three services."""
    sides: dict[str, Side] = {}
    dead_before: dict[str, dict[str, int]] = {}
    for mode in MODES:
        stack = stacks[mode]
        progress(f"{LABEL}, {mode} stack: creating a partner through the API…")
        tenant = await create_tenant(
            stack.urls["registration"], stack.admin_key, f"{uuid.uuid4().hex[:6]}{mode}"
        )
        side = Side(mode, stack, tenant, progress)
        if mode == "on" and settings.metrics:
            side.scraper = Scraper({name: stack.urls[name] for name in SERVICES})
        if mode == "on" and settings.tracing:
            if stack.spans is None:
                raise RuntimeError("the on stack runs no trace sink")
            side.spans = SpanFile(stack.spans)
        sides[mode] = side
        dead_before[mode] = await _dead_letter_counts(stack.kafka_bootstrap)

    for mode, side in sides.items():
        label = f"{LABEL}, warm-up ({mode})"
        progress(f"{label}: {settings.warmup} certificates, untimed…")
        warm = await side.round(0, settings.warmup, settings.attendance_batch, label)
        if warm.error is not None:
            raise RuntimeError(f"{label}: {warm.error}")
        side.span_names.clear()
    idle: dict[str, dict[str, float]] = {}
    for mode, side in sides.items():
        progress(f"{LABEL}: measuring the idle {mode} stack's CPU use…")
        idle[mode] = await idle_cores(side.stack)

    order = round_order(settings.rounds)
    done: dict[str, list[OverheadRound]] = {mode: [] for mode in MODES}
    for number, mode in enumerate(order, start=1):
        label = f"{LABEL}, round {number}/{len(order)} → {mode}"
        found = await sides[mode].round(
            number, settings.certificates, settings.attendance_batch, label
        )
        done[mode].append(found)
        traced = f", {found.spans:,} spans" if mode == "on" else ""
        progress(
            f"{label}: {found.notified:,} emailed in {found.notified_seconds or 0:.1f}s, "
            f"{found.end_to_end_per_second:.2f}/s end to end ({found.issued_per_second:.2f} "
            f"issued/s), stack CPU {found.stack_cpu_ms_per_certificate or 0:.0f} ms per "
            f"certificate{traced}" + (f"; FAILED: {found.error}" if found.error else "")
        )

    dead_letters: dict[str, int] = {}
    for mode, side in sides.items():
        after = await _dead_letter_counts(side.stack.kafka_bootstrap)
        for topic, n in after.items():
            grown = n - dead_before[mode].get(topic, 0)
            if grown > 0:
                dead_letters[f"{mode}: {topic}"] = grown

    figures = summarise(
        settings,
        order,
        done,
        on=sides["on"],
        off=sides["off"],
        idle=idle,
        dead_letters=dead_letters,
    )
    progress(
        f"{LABEL}: end to end off {_rate(figures.off_per_second)}/s, on "
        f"{_rate(figures.on_per_second)}/s: overhead {_percent(figures.overhead)} "
        f"(goal ≤ {GOAL:.0%}); {figures.spans_per_certificate or 0:.1f} spans per certificate"
    )
    return figures


def summarise(
    settings: Settings,
    order: list[str],
    done: Mapping[str, list[OverheadRound]],
    *,
    on: Side,
    off: Side,
    idle: dict[str, dict[str, float]],
    dead_letters: dict[str, int],
) -> OverheadFigures:
    off_rounds, on_rounds = done["off"], done["on"]
    off_rate = spread(r.end_to_end_per_second for r in off_rounds)
    on_rate = spread(r.end_to_end_per_second for r in on_rounds)
    off_issued = spread(r.issued_per_second for r in off_rounds)
    on_issued = spread(r.issued_per_second for r in on_rounds)
    off_stack = spread(
        r.stack_cpu_ms_per_certificate
        for r in off_rounds
        if r.stack_cpu_ms_per_certificate is not None
    )
    on_stack = spread(
        r.stack_cpu_ms_per_certificate
        for r in on_rounds
        if r.stack_cpu_ms_per_certificate is not None
    )
    per_certificate = [r.spans / r.notified for r in on_rounds if r.notified > 0]
    scraper = on.scraper
    errors = [
        f"round {r.number} ({r.mode}): {r.error}" for r in [*off_rounds, *on_rounds] if r.error
    ]
    return OverheadFigures(
        features=settings.features,
        certificates=settings.certificates,
        rounds=settings.rounds,
        warmup=settings.warmup,
        attendance_batch=settings.attendance_batch,
        scrape_seconds=SCRAPE_SECONDS,
        order=order,
        off=off_rounds,
        on=on_rounds,
        off_per_second=off_rate,
        on_per_second=on_rate,
        off_issued_per_second=off_issued,
        on_issued_per_second=on_issued,
        overhead=_round(
            overhead(on_rate.median if on_rate else None, off_rate.median if off_rate else None),
            4,
        ),
        issue_overhead=_round(
            overhead(
                on_issued.median if on_issued else None, off_issued.median if off_issued else None
            ),
            4,
        ),
        off_cpu_ms_per_certificate=cpu_ms_per_certificate(off_rounds),
        on_cpu_ms_per_certificate=cpu_ms_per_certificate(on_rounds),
        off_stack_cpu_ms_per_certificate=_round(off_stack.median if off_stack else None, 1),
        on_stack_cpu_ms_per_certificate=_round(on_stack.median if on_stack else None, 1),
        cpu_overhead=_round(
            growth(on_stack.median if on_stack else None, off_stack.median if off_stack else None),
            4,
        ),
        spans_per_certificate=(
            round(statistics.median(per_certificate), 1) if per_certificate else None
        ),
        span_names=dict(on.span_names.most_common()),
        dropped_spans=_dropped_spans(on.stack.logs),
        metrics_on=dict(on.metrics),
        metrics_off=dict(off.metrics),
        scrape_ms=(
            round(statistics.median(scraper.seconds) * 1000, 1)
            if scraper is not None and scraper.seconds
            else None
        ),
        scrape_bytes=dict(scraper.sizes) if scraper is not None else {},
        idle_cores=idle,
        dead_letters=dead_letters,
        error="; ".join(errors) or None,
    )


def _rate(value: Spread | None) -> str:
    return "n/a" if value is None else f"{value.median:.2f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"

"""Certificate emails, the PDF attached, through the notification service against aiosmtplib
sending the same emails straight to the same SMTP sink, in the same run, on a stack running
notification only.

- raw: N emails composed beforehand with the service's own `Composer` (one real certificate
  PDF, rendered once; each email its own holder, address and number), then sent over as many
  kept-open aiosmtplib connections as the service keeps (`smtp_connections`, 2), one after
  another on each: flattened to the bytes the service sends (`as_bytes` with its wire policy,
  services/notification/smtp.py) and handed to `sendmail`. That is `send_message` but for its
  flattening: aiosmtplib's own policy folds headers at 78 columns, which in Cyrillic takes three
  times as long as the service's, and would make the baseline slower than it needs to be. The
  clock runs from the first send to the last reply.
- service, burst: N `certificate.issued` events, CloudEvents envelopes as certification's
  outbox relay publishes them (keyed by their subject, the enrolment id), published at once to
  the stack's broker; the notification service, its own process, records, sends and settles
  each. The clock runs from the first publish to the last email the sink accepted: the sink
  names each file after the moment it accepted the message, and the Message-ID
  (`<certificate.<number>@…>`) tells which event it came from.
- service, steady: events published at a fixed rate (10/s for 15 s, below the service's burst
  rate, so that the latency is the service's and not a growing queue's): each one's latency
  from its publish to the sink accepting its email, p50 and p99; the service's delivery records
  (`queued_epoch`) split it into intake and dispatch.

The N emails each way go in alternating rounds (raw, service, service, raw, …; 3 by default)
so that a machine growing busier or quieter favours neither; each service burst starts once
the previous one is fully settled (no delivery pending, every notification.sent published).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench import cpu, rendering
from bench.figures import EmailBurst, EmailFigures, EmailLatency, percentile, ratio
from bench.issuing import _dead_letter_counts, _handler_seconds
from bench.people import trainees
from bench.scenarios import idle_cores
from bench.stack import Stack
from services.certification import domain
from services.certification.render import CertificateRenderer
from services.certification.samples import sample_course
from services.notification.composing import Composer, MailIdentity, recipients
from services.notification.delivery_status import Status
from services.notification.settings import NotificationSettings
from services.notification.smtp import WIRE
from shared import outbox, topics
from shared.events import CertificateIssuedV1, CourseSnapshot, Envelope, Holder, new_event, to_json
from shared.mongo import Document, connect

Progress = Callable[[str], None]
LABEL = "email"
# What certification's outbox relay stamps on each record (shared/outbox.py).
SOURCE = "attesta/certification"
CONTENT_TYPE = "application/cloudevents+json"
# Give up waiting when the sink accepted nothing new for this long.
STALL_SECONDS = 30.0
POLL_SECONDS = 0.1
WATCHED = ("notification", "mongodb", "kafka", "smtp")
# `<certificate.FRMS-2026-000001@attesta.local>` → FRMS-2026-000001
MESSAGE_ID = re.compile(rb"^message-id:\s*<certificate\.([^@>\s]+)@", re.IGNORECASE | re.MULTILINE)
# The sink's file names: `<UTC %Y%m%dT%H%M%S%f>-<random>.eml`, stamped on acceptance.
STAMP = "%Y%m%dT%H%M%S%f"


@dataclass(frozen=True)
class Settings:
    emails: int  # each way, split into `rounds` bursts
    rounds: int
    rate: float  # steady events per second
    steady_seconds: float
    warmup: int

    @property
    def per_burst(self) -> int:
        return math.ceil(self.emails / self.rounds)


def settings_for(
    *,
    quick: bool,
    emails: int | None,
    rounds: int | None,
    rate: float | None,
    seconds: float | None,
) -> Settings:
    """Defaults: 1,000 emails each way in 3 rounds, then 10/s for 15 s (about two minutes
    with the stack's start); quick: 200 each way, then 10/s for 5 s (under a minute)."""
    return Settings(
        emails=emails or (200 if quick else 1_000),
        rounds=rounds or 3,
        rate=rate or 10.0,
        steady_seconds=seconds or (5.0 if quick else 15.0),
        warmup=10,
    )


# The certificates ----------------------------------------------------------------------------


def certificate_pdf() -> bytes:
    """One real certificate, as certification renders it (the Bulgarian sample, classic design,
    signed data attached): every email of the run carries it."""
    (content,) = rendering.certificates(rendering.LANGUAGE, rendering.DESIGN, 1, seed="email")
    return CertificateRenderer().render(content)


@dataclass
class Certificates:
    """certificate.issued payloads, each with its own holder, address, number and verification
    code, all with the same PDF. Each batch is a course of its own (a burst is a course whose
    trainees all completed), and numbers never repeat within a run: the service would take a
    repeated one for a redelivery and send nothing."""

    tag: str
    pdf: bytes
    _series: int = 0
    _pdf_base64: str = field(init=False)

    def __post_init__(self) -> None:
        self._pdf_base64 = CertificateIssuedV1.encode_pdf(self.pdf)

    def issued(self, count: int) -> list[CertificateIssuedV1]:
        self._series += 1
        prefix = domain.number_prefix(f"E{self.tag}{self._series:02d}")
        course = CourseSnapshot.model_validate(
            sample_course(rendering.LANGUAGE, rendering.DESIGN)
            | {"id": f"bench-{prefix.lower()}", "code": f"{prefix}-EMAIL"}
        )
        issued_on = max(course.sessions)
        made = []
        for sequence, person in enumerate(trainees(prefix.lower(), count), start=1):
            code = domain.new_verification_code()
            made.append(
                CertificateIssuedV1(
                    certificate_number=domain.format_number(prefix, issued_on.year, sequence),
                    verification_code=code,
                    verification_url=f"https://certificates.example.org/verify/{code}",
                    enrolment_id=uuid.uuid4().hex,
                    partner_id=f"bench-{self.tag}",
                    holder=Holder(
                        full_name=person.full_name,
                        email=person.email,
                        position=person.position,
                        organisation=person.organisation,
                    ),
                    course=course,
                    issued_on=issued_on,
                    pdf_base64=self._pdf_base64,
                )
            )
        return made


def envelope(issued: CertificateIssuedV1) -> Envelope[CertificateIssuedV1]:
    """As certification's issuer wraps it (services/certification/issuing.py)."""
    return new_event(issued, source=SOURCE, subject=issued.enrolment_id)


# The sink ----------------------------------------------------------------------------------


def _certificate_number(path: str) -> str | None:
    with open(path, "rb") as message:
        head = message.read(16_384)
    found = MESSAGE_ID.search(head.split(b"\r\n\r\n", 1)[0])
    return found.group(1).decode() if found else None


def _accepted_at(name: str) -> float:
    stamp = name.split("-", 1)[0]
    return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC).timestamp()


@dataclass
class Sink:
    """The SMTP sink's folder, read as it fills: when the sink accepted each certificate's
    email (epoch seconds, the sink's own stamp), and how large the files are."""

    folder: Path
    accepted: dict[str, float] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def scan(self) -> None:
        if not self.folder.is_dir():
            return
        for entry in os.scandir(self.folder):
            name = entry.name
            if name.startswith(".") or not name.endswith(".eml") or name in self._seen:
                continue
            self._seen.add(name)
            number = _certificate_number(entry.path)
            if number is not None:
                self.accepted.setdefault(number, _accepted_at(name))
                self.sizes.append(entry.stat().st_size)

    def count(self, numbers: Sequence[str]) -> int:
        return sum(1 for number in numbers if number in self.accepted)

    async def wait_for(self, numbers: Sequence[str], stall: float = STALL_SECONDS) -> int:
        """Poll until every one of `numbers` was accepted, or none more for `stall` seconds;
        returns how many were."""
        done, last_change = self.count(numbers), time.monotonic()
        while done < len(numbers):
            await asyncio.sleep(POLL_SECONDS)
            self.scan()
            now_done = self.count(numbers)
            if now_done != done:
                done, last_change = now_done, time.monotonic()
            elif time.monotonic() - last_change > stall:
                break
        return done


# Raw: aiosmtplib straight to the sink --------------------------------------------------------


def email_work(
    composer: Composer, certificates: Sequence[CertificateIssuedV1]
) -> tuple[list[float], list[float]]:
    """Seconds each email took to compose (Composer.certificate) and to flatten to the bytes
    the service sends, in this process: the part of the service's work that builds emails."""
    composing, flattening = [], []
    for issued in certificates:
        started = time.perf_counter()
        message = composer.certificate(issued)
        composed = time.perf_counter()
        message.as_bytes(policy=WIRE)
        composing.append(composed - started)
        flattening.append(time.perf_counter() - composed)
    return composing, flattening


async def send_raw(
    host: str, port: int, messages: Sequence[EmailMessage], connections: int
) -> tuple[int, float]:
    """Send `messages` over `connections` kept-open connections, each taking the next message
    when its last one was answered; returns (sent, seconds)."""
    clients = [aiosmtplib.SMTP(hostname=host, port=port, timeout=30.0) for _ in range(connections)]
    for client in clients:
        await client.connect()
    pending: Iterator[EmailMessage] = iter(messages)

    async def sender(client: aiosmtplib.SMTP) -> int:
        sent = 0
        for message in pending:
            # What send_message does, flattening as the service does (SmtpChannel.send).
            await client.sendmail(
                message["From"].addresses[0].addr_spec,
                recipients(message),
                message.as_bytes(policy=WIRE),
            )
            sent += 1
        return sent

    try:
        started = time.perf_counter()
        sent = await asyncio.gather(*(sender(client) for client in clients))
        seconds = time.perf_counter() - started
    finally:
        for client in clients:
            if client.is_connected:
                await client.quit()
    return sum(sent), seconds


# Service: certificate.issued through Kafka ------------------------------------------------


async def _producer(bootstrap: str) -> AIOKafkaProducer:
    # As the services' brokers produce (shared/messaging.py): acks from all, no idempotence.
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    return producer


async def publish(
    producer: AIOKafkaProducer, certificates: Sequence[CertificateIssuedV1], rate: float | None
) -> dict[str, float]:
    """Publish the certificates' events (at once, or `rate` a second); returns each one's
    publish time (epoch seconds: the clock the sink stamps its files with), by number."""
    events = [envelope(issued) for issued in certificates]
    published: dict[str, float] = {}
    sent = []
    started = time.time()
    for index, event in enumerate(events):
        if rate is not None:
            delay = started + index / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
        published[event.data.certificate_number] = time.time()
        # Keyed and labelled as the outbox relay publishes (shared/outbox.py).
        sent.append(
            await producer.send(
                topics.CERTIFICATE_ISSUED,
                to_json(event),
                key=event.subject.encode(),
                headers=[("content-type", CONTENT_TYPE.encode()), ("ce_type", event.type.encode())],
            )
        )
    await asyncio.gather(*sent)
    return published


@dataclass
class Notification:
    """The notification service's database, read from outside."""

    client: AsyncMongoClient[Document]
    database: str

    async def settled(self, within: float = 60.0) -> bool:
        """Wait until no delivery is pending or being sent and every notification.sent is
        published: the service is idle again."""
        db = self.client[self.database]
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            busy = await db["deliveries"].count_documents(
                {"status": {"$in": [Status.PENDING, Status.SENDING]}}
            )
            unpublished = await db[outbox.COLLECTION].count_documents({"published": False})
            if not busy and not unpublished:
                return True
            await asyncio.sleep(0.2)
        return False

    async def deliveries(self, numbers: Sequence[str]) -> dict[str, Document]:
        ids = [f"certificate:{number}" for number in numbers]
        cursor = self.client[self.database]["deliveries"].find(
            {"_id": {"$in": ids}}, {"certificate_number": 1, "queued_epoch": 1}
        )
        return {str(doc["certificate_number"]): doc async for doc in cursor}


# Measuring -------------------------------------------------------------------------------


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _watched(stack: Stack) -> dict[str, int]:
    pids = {name: stack.pids[name] for name in WATCHED if name in stack.pids}
    return {**pids, "bench client": os.getpid()}


@dataclass
class Run:
    stack: Stack
    settings: Settings
    progress: Progress
    certificates: Certificates
    composer: Composer
    connections: int
    sink: Sink
    producer: AIOKafkaProducer
    notification: Notification

    @property
    def smtp_port(self) -> int:
        return self.stack.children["smtp"].port

    async def raw(self, count: int, label: str) -> EmailBurst:
        certificates = self.certificates.issued(count)
        messages = [self.composer.certificate(issued) for issued in certificates]
        numbers = [issued.certificate_number for issued in certificates]
        before = cpu.snapshot(_watched(self.stack))
        sent, seconds = await send_raw("127.0.0.1", self.smtp_port, messages, self.connections)
        spent = cpu.spent(before, cpu.snapshot(_watched(self.stack)))
        accepted = await self.sink.wait_for(numbers)
        burst = EmailBurst(
            target="raw",
            emails=min(sent, accepted),
            seconds=round(seconds, 3),
            per_second=round(sent / seconds, 1) if seconds > 0 else 0.0,
            cpu_seconds={k: round(v, 2) for k, v in spent.items()},
        )
        self.progress(f"{label}: {burst.per_second:,.1f} emails/s ({sent:,} in {seconds:.1f}s)")
        return burst

    async def service(self, count: int, label: str) -> tuple[EmailBurst, dict[str, float]]:
        """One burst through the service; also returns each event's publish time."""
        certificates = self.certificates.issued(count)
        numbers = [issued.certificate_number for issued in certificates]
        before = cpu.snapshot(_watched(self.stack))
        published = await publish(self.producer, certificates, rate=None)
        accepted = await self.sink.wait_for(numbers)
        spent = cpu.spent(before, cpu.snapshot(_watched(self.stack)))
        times = [self.sink.accepted[n] for n in numbers if n in self.sink.accepted]
        seconds = max(times) - min(published.values()) if times else 0.0
        burst = EmailBurst(
            target="service",
            emails=accepted,
            seconds=round(seconds, 3),
            per_second=round(accepted / seconds, 1) if seconds > 0 else 0.0,
            cpu_seconds={k: round(v, 2) for k, v in spent.items()},
        )
        self.progress(f"{label}: {burst.per_second:,.1f} emails/s ({accepted:,} in {seconds:.1f}s)")
        if not await self.notification.settled():
            self.progress(f"{label}: the service still had deliveries pending after 60s")
        return burst, published

    async def steady(self) -> EmailLatency:
        rate, seconds = self.settings.rate, self.settings.steady_seconds
        count = max(1, round(rate * seconds))
        self.progress(
            f"{LABEL}, steady: {count:,} events at {rate:g}/s ({seconds:g}s) through the service…"
        )
        certificates = self.certificates.issued(count)
        numbers = [issued.certificate_number for issued in certificates]
        published = await publish(self.producer, certificates, rate=rate)
        delivered = await self.sink.wait_for(numbers)
        await self.notification.settled()
        accepted = {n: self.sink.accepted[n] for n in numbers if n in self.sink.accepted}
        latencies = [accepted[n] - published[n] for n in accepted]
        records = await self.notification.deliveries(list(accepted))
        intake, dispatch = [], []
        for number, record in records.items():
            queued = record.get("queued_epoch")
            if isinstance(queued, float):
                intake.append(queued - published[number])
                dispatch.append(accepted[number] - queued)
        figures = EmailLatency(
            rate=rate,
            events=count,
            delivered=delivered,
            seconds=round(max(accepted.values()) - min(published.values()), 3) if accepted else 0,
            p50_ms=_ms(percentile(latencies, 50)),
            p99_ms=_ms(percentile(latencies, 99)),
            max_ms=_ms(max(latencies, default=None)),
            intake_ms=_ms(_median(intake)),
            dispatch_ms=_ms(_median(dispatch)),
        )
        self.progress(
            f"{LABEL}, steady {rate:g}/s: {delivered:,}/{count:,} delivered, latency p50 "
            f"{figures.p50_ms} ms, p99 {figures.p99_ms} ms"
        )
        return figures

    async def warm_up(self) -> None:
        """A few emails each way before any clock runs: connections open, templates compiled,
        the service's consumer assigned its partitions."""
        warmup = self.settings.warmup
        self.progress(f"{LABEL}: warming up, {warmup} emails each way…")
        await self.raw(warmup, f"{LABEL}, warm-up raw")
        await self.service(warmup, f"{LABEL}, warm-up service")


async def measure(stack: Stack, settings: Settings, progress: Progress) -> EmailFigures:
    tag = uuid.uuid4().hex[:6]
    service_settings = NotificationSettings()
    connections = service_settings.smtp_connections
    idle = await idle_cores(stack)
    progress(f"{LABEL}: rendering the certificate PDF every email carries…")
    certificates = Certificates(tag, certificate_pdf())
    composer = Composer(
        MailIdentity(
            service_settings.mail_from,
            service_settings.mail_reply_to,
            service_settings.message_id_domain,
        ),
        service_settings.mail_templates_dir,
    )
    composing, flattening = email_work(composer, certificates.issued(100))
    compose_ms, flatten_ms = _ms(_median(composing)) or 0.0, _ms(_median(flattening)) or 0.0
    progress(
        f"{LABEL}: PDF {len(certificates.pdf):,} bytes; an email takes {compose_ms} ms to "
        f"compose, {flatten_ms} ms to flatten"
    )
    dead_before = await _dead_letter_counts(stack.kafka_bootstrap)
    client = connect(stack.mongo_url)
    producer = await _producer(stack.kafka_bootstrap)
    raw: list[EmailBurst] = []
    service: list[EmailBurst] = []
    try:
        run = Run(
            stack=stack,
            settings=settings,
            progress=progress,
            certificates=certificates,
            composer=composer,
            connections=connections,
            sink=Sink(stack.root / "mail"),
            producer=producer,
            notification=Notification(client, service_settings.mongo_database),
        )
        await run.warm_up()
        handler_before = await _handler_seconds(
            stack.urls["notification"], topics.CERTIFICATE_ISSUED
        )
        per_burst = settings.per_burst
        for number in range(settings.rounds):
            order = ("raw", "service") if number % 2 == 0 else ("service", "raw")
            for target in order:
                label = f"{LABEL}, round {number + 1}/{settings.rounds} → {target}"
                progress(
                    f"{label}: {per_burst:,} emails over {connections} connections…"
                    if target == "raw"
                    else f"{label}: {per_burst:,} certificate.issued events at once…"
                )
                if target == "raw":
                    raw.append(await run.raw(per_burst, label))
                else:
                    service.append((await run.service(per_burst, label))[0])
        handler_after = await _handler_seconds(
            stack.urls["notification"], topics.CERTIFICATE_ISSUED
        )
        steady = await run.steady()
        message_bytes = int(statistics.median(run.sink.sizes)) if run.sink.sizes else 0
    finally:
        await producer.stop()
        await client.close()
    dead_after = await _dead_letter_counts(stack.kafka_bootstrap)
    dead_letters = {
        topic: n - dead_before.get(topic, 0)
        for topic, n in dead_after.items()
        if n - dead_before.get(topic, 0) > 0
    }

    raw_rate = statistics.median(b.per_second for b in raw)
    service_rate = statistics.median(b.per_second for b in service)
    emailed = sum(b.emails for b in service)
    service_cpu: Counter[str] = Counter()
    for burst in service:
        service_cpu.update(burst.cpu_seconds)
    handler_ms = None
    if handler_before is not None and handler_after is not None:
        handled = handler_after[0] - handler_before[0]
        if handled > 0:
            handler_ms = round((handler_after[1] - handler_before[1]) * 1000 / handled, 1)
    short = [b for b in [*raw, *service] if b.emails < settings.per_burst]
    error = None
    if short:
        error = ", ".join(
            f"{b.target} burst: {b.emails:,} of {settings.per_burst:,} accepted" for b in short
        )
    if steady.delivered < steady.events:
        error = (error + "; " if error else "") + (
            f"steady: {steady.delivered:,} of {steady.events:,} delivered"
        )
    figures = EmailFigures(
        emails=settings.per_burst * settings.rounds,
        per_burst=settings.per_burst,
        rounds=settings.rounds,
        connections=connections,
        pdf_bytes=len(certificates.pdf),
        message_bytes=message_bytes,
        compose_ms=compose_ms,
        flatten_ms=flatten_ms,
        raw=raw,
        service=service,
        raw_per_second=round(raw_rate, 1),
        service_per_second=round(service_rate, 1),
        throughput_ratio=_rounded(ratio(service_rate, raw_rate)),
        steady=steady,
        notification_cpu_ms_per_email=(
            round(service_cpu["notification"] * 1000 / emailed, 1) if emailed else None
        ),
        stack_cpu_ms_per_email=(
            round(sum(v for k, v in service_cpu.items() if k != "bench client") * 1000 / emailed, 1)
            if emailed
            else None
        ),
        intake_handler_ms=handler_ms,
        idle_cores=idle,
        dead_letters=dead_letters,
        error=error,
    )
    progress(
        f"{LABEL}: service {service_rate:,.1f} emails/s, {_percent(figures.throughput_ratio)} "
        f"of raw {raw_rate:,.1f}/s; steady {steady.rate:g}/s: p50 {steady.p50_ms} ms, "
        f"p99 {steady.p99_ms} ms"
    )
    return figures


# Report ------------------------------------------------------------------------------------

GOAL = 0.70


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _cpu(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in figures.items())


def _spread(bursts: Sequence[EmailBurst]) -> str:
    rates = [b.per_second for b in bursts]
    return f"{min(rates):,.1f}–{max(rates):,.1f}" if rates else "n/a"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def email_table(e: EmailFigures) -> list[str]:
    """The results table's section (bench/report.py's style)."""
    lines = [
        f"Certificate emails, PDF attached ({e.pdf_bytes / 1024:.1f} KiB; "
        f"{e.message_bytes / 1024:.1f} KiB an email): {e.emails:,} each way in {e.rounds} "
        f"alternating bursts of {e.per_burst:,}, {e.connections} kept-open SMTP connections, "
        "into the stack's SMTP sink; service: clock from the first certificate.issued published "
        "to the last email the sink accepted",
        f"  {'':<38}{'emails/s':>10}{'min–max':>16}",
        f"  {'raw (aiosmtplib straight to the sink)':<38}{e.raw_per_second:>10,.1f}"
        f"{_spread(e.raw):>16}",
        f"  {'service (certificate.issued, burst)':<38}{e.service_per_second:>10,.1f}"
        f"{_spread(e.service):>16}",
        f"  service / raw emails/s: {_percent(e.throughput_ratio)}   (goal ≥ {GOAL:.0%}: "
        + ("met" if e.throughput_ratio is not None and e.throughput_ratio >= GOAL else "NOT met")
        + ")",
    ]
    if e.steady is not None:
        s = e.steady
        if s.rate > 0.8 * e.service_per_second:
            lines.append(
                f"  (the steady {s.rate:g}/s is near or above the service's burst rate: its "
                "latency includes a growing queue)"
            )
        lines += [
            f"  steady {s.rate:g}/s through the service, publish → accepted by the sink: "
            f"p50 {_number(s.p50_ms)} ms, p99 {_number(s.p99_ms)} ms, max {_number(s.max_ms)} "
            f"ms ({s.delivered:,}/{s.events:,} delivered)",
            f"    medians of its legs: intake (Kafka → delivery recorded) {_number(s.intake_ms)} "
            f"ms, dispatch (→ claimed, composed, sent, accepted) {_number(s.dispatch_ms)} ms",
        ]
    lines.append(
        f"  per email in the bench process: composing (Composer.certificate) {e.compose_ms} ms, "
        f"flattening to the bytes sent {e.flatten_ms} ms"
    )
    if e.notification_cpu_ms_per_email is not None:
        handler = (
            f"; its intake handler took {e.intake_handler_ms:.1f} ms per event"
            if e.intake_handler_ms is not None
            else ""
        )
        lines.append(
            f"  notification CPU per email: {e.notification_cpu_ms_per_email:.1f} ms, the whole "
            f"stack's {_number(e.stack_cpu_ms_per_email)} ms{handler}"
        )
    for burst in (*e.raw, *e.service):
        lines.append(
            f"    {burst.target:<8}{burst.per_second:>8,.1f}/s {burst.seconds:>6.1f}s → "
            f"{_cpu(burst.cpu_seconds)}"
        )
    busy = {name: cores for name, cores in e.idle_cores.items() if cores >= 0.01}
    lines.append(
        "  idle stack CPU (cores): "
        + (", ".join(f"{name} {cores:.2f}" for name, cores in busy.items()) or "none")
    )
    if e.dead_letters:
        lines.append("  DEAD LETTERS: " + ", ".join(f"{t} {n}" for t, n in e.dead_letters.items()))
    if e.error:
        lines.append(f"  FAILED: {e.error}")
    return lines

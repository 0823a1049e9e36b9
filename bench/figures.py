"""What a run measured, as plain data: printed as a table and saved as JSON."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # flow_figures builds on Spread from here.
    from bench.flow_figures import FlowFigures


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class LoadFigures:
    target: str
    ok: int
    failed: int
    failures: dict[str, int]
    first_failure: str | None
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    # CPU seconds each process spent during the timed part (the bench client included).
    cpu_seconds: dict[str, float]


@dataclass(frozen=True)
class SingleFigures:
    concurrency: int
    requests: int
    rounds: int
    baseline: LoadFigures
    service: LoadFigures
    throughput_ratio: float | None


@dataclass(frozen=True)
class RssFigures:
    before_mib: float
    peak_mib: float
    method: str


@dataclass(frozen=True)
class RawFigures:
    seconds: float
    rows_per_second: float
    cpu_seconds: dict[str, float]


@dataclass(frozen=True)
class BulkFigures:
    size: int
    csv_bytes: int
    raw: RawFigures
    raw_in_transactions: RawFigures
    service_seconds: float
    service_rows_per_second: float
    # The service's rows/s over plain insert_many's (the stated goal), and over
    # insert_many with a transaction per batch (what the service does).
    throughput_ratio: float | None
    throughput_ratio_to_transactions: float | None
    status: int | None
    accepted: int
    duplicates: int
    rejected: int
    error: str | None
    service_rss: RssFigures
    mongo_rss: RssFigures
    cpu_seconds: dict[str, float]

    @property
    def complete(self) -> bool:
        return self.error is None and self.accepted == self.size


@dataclass(frozen=True)
class PdfCheck:
    """One renderer's PDF of one certificate, read back with pypdf."""

    renderer: str
    language: str
    design: str
    pages: int
    a4_landscape: bool
    holder_in_text: bool
    signature_attached: bool
    pdf_bytes: int

    @property
    def ok(self) -> bool:
        return self.pages == 1 and self.a4_landscape and self.holder_in_text


@dataclass(frozen=True)
class RendererFigures:
    renderer: str
    version: str
    pdfs: int
    # Per PDF: wall time, and the process's CPU time (every thread of it) while it rendered.
    median_ms: float
    p90_ms: float
    median_cpu_ms: float
    p90_cpu_ms: float
    # 1000 / median CPU ms: what one core renders in a second.
    pdfs_per_second_per_core: float
    wall_seconds: float
    cpu_seconds: float
    median_pdf_bytes: int
    # WeasyPrint only: the part of each render spent before writing the PDF (HTML, style,
    # layout); the rest is writing, most of it subsetting the fonts.
    median_layout_ms: float | None = None


@dataclass(frozen=True)
class MatrixFigures:
    language: str
    design: str
    pdfs: int
    median_ms: float
    median_cpu_ms: float
    median_pdf_bytes: int


@dataclass(frozen=True)
class RenderFigures:
    # The timed comparison: one design in one language, a different certificate every PDF.
    language: str
    design: str
    rounds: int
    typst: RendererFigures
    weasyprint: RendererFigures
    weasyprint_font_subsetting: str
    # WeasyPrint's median over Typst's (the stated goal is ≥ 15), by wall and by CPU time;
    # and WeasyPrint's layout alone over Typst's whole render: a floor for any WeasyPrint
    # set-up, however fast it writes and subsets.
    speedup: float | None
    cpu_speedup: float | None
    layout_only_speedup: float | None
    # The same ratio without the data both renderers build (data_median_ms from each
    # median): the engines alone.
    engine_speedup: float | None
    # Of each PDF, the part both renderers spend in CertificateRenderer.data (the QR code's
    # SVG from zxing-cpp, the dates from babel), timed apart on the same certificates.
    data_median_ms: float
    # Typst in every language and design; the median over all those PDFs.
    typst_matrix: list[MatrixFigures]
    typst_matrix_median_ms: float
    typst_matrix_median_cpu_ms: float
    checks: list[PdfCheck]

    @property
    def checked(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class KafkaRoundTrip:
    """Records as large as a certificate.issued event, produced to a scratch topic on the same
    broker and consumed back: what the broker and client do without any service."""

    messages: int
    message_bytes: int
    seconds: float
    per_second: float


@dataclass(frozen=True)
class IssueFigures:
    certificates: int
    attendance_batch: int
    # Untimed set-up: the bulk CSV upload and the first session's attendance.
    enrol_seconds: float
    first_session_seconds: float
    # The clock starts when the first completing attendance is posted (t0).
    completing_posts: int
    completed: int
    completing_seconds: float  # t0 → the last completing attendance answered
    issued: int  # distinct certificate.issued events of the course seen on Kafka
    first_issued_seconds: float | None  # t0 → the first one
    seconds: float | None  # t0 → the last one (all `certificates` of them, when complete)
    issued_per_second: float  # issued / seconds: the figure of issue #4
    steady_per_second: float | None  # between the first and the last certificate.issued
    notified: int  # notification.sent of those enrolments, waited for after the last issue
    notified_seconds: float | None  # t0 → the last one
    certificate_event_bytes: int  # median size of a certificate.issued record (PDF inside)
    # The baseline: Typst alone, this certificate's design, one core, in the same run.
    raw_render: RendererFigures
    share_of_render_rate: float | None  # issued_per_second / raw PDFs per second per core
    certification_cpu_ms_per_certificate: float | None
    # Mean time certification's enrolment.completed handler took per event (its /metrics):
    # above its CPU time, it waited (on the database, on a CPU the other processes held).
    certification_handler_ms: float | None
    # CPU of every process of the stack (not the bench client) per certificate issued.
    stack_cpu_ms_per_certificate: float | None
    cpu_seconds: dict[str, float]  # t0 → the last certificate.issued, by process
    idle_cores: dict[str, float]
    dead_letters: dict[str, int]  # records that reached a .dlq topic during the run
    kafka: KafkaRoundTrip | None
    error: str | None

    @property
    def complete(self) -> bool:
        return self.error is None and self.issued >= self.certificates


@dataclass(frozen=True)
class StorageOption:
    """One way of keeping certificate PDFs (bench/storage.py)."""

    name: str
    write_ms: float | None
    download_ms: float
    scan_ms_per_1000: float
    bytes_per_certificate: int | None


@dataclass(frozen=True)
class StorageFigures:
    certificates: int
    pdf_bytes: int
    options: list[StorageOption]


@dataclass(frozen=True)
class EmailBurst:
    """One burst of certificate emails (bench/emailing.py): sent straight to the SMTP sink
    (raw), or published as certificate.issued events for the notification service."""

    target: str  # "raw" or "service"
    emails: int  # how many of the burst the sink accepted
    # raw: the first send → the last reply; service: the first publish → the last email the
    # sink accepted (the time it stamped on the file).
    seconds: float
    per_second: float
    cpu_seconds: dict[str, float]


@dataclass(frozen=True)
class EmailLatency:
    """certificate.issued events published at a steady rate through the notification service:
    each one's time from its publish to the sink accepting its email."""

    rate: float  # offered, events per second
    events: int
    delivered: int
    seconds: float  # the first publish → the last email accepted
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    # Medians of the two legs, from the service's delivery records: publish → recorded by the
    # intake (queued_epoch), recorded → accepted by the sink (claim, content, compose, SMTP).
    intake_ms: float | None
    dispatch_ms: float | None


@dataclass(frozen=True)
class EmailFigures:
    emails: int  # each way, in `rounds` bursts of `per_burst`
    per_burst: int
    rounds: int
    connections: int  # kept-open SMTP connections, the service's and the raw baseline's
    pdf_bytes: int
    message_bytes: int  # median size of an email as the sink stored it
    # Per email, in the bench process: Composer.certificate (before the raw clock starts, as
    # the service must), and flattening it to the bytes sent (in the raw's timed part too).
    compose_ms: float
    flatten_ms: float
    raw: list[EmailBurst]
    service: list[EmailBurst]
    # Medians over the rounds; the service's over the raw's (the stated goal is ≥ 0.70).
    raw_per_second: float
    service_per_second: float
    throughput_ratio: float | None
    steady: EmailLatency | None
    # The service bursts: notification's CPU per email, the whole stack's (bench client
    # excluded), and the mean time its certificate.issued handler (the intake) took per event.
    notification_cpu_ms_per_email: float | None
    stack_cpu_ms_per_email: float | None
    intake_handler_ms: float | None
    idle_cores: dict[str, float]
    dead_letters: dict[str, int]
    error: str | None

    @property
    def complete(self) -> bool:
        bursts_done = all(b.emails >= self.per_burst for b in [*self.raw, *self.service])
        steady_done = self.steady is None or self.steady.delivered >= self.steady.events
        return self.error is None and bursts_done and steady_done


@dataclass(frozen=True)
class Spread:
    """The median of a few rounds, and the lowest and highest of them."""

    median: float
    low: float
    high: float


def spread(values: Iterable[float]) -> Spread | None:
    """The median of `values` with the lowest and highest; None when there are none."""
    found = sorted(values)
    if not found:
        return None
    return Spread(median=statistics.median(found), low=found[0], high=found[-1])


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p % at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass(frozen=True)
class OverheadRound:
    """One round of the overhead measurement (bench/overhead.py): a fresh course of N trainees
    completed on the stack of one mode, from the first completing POST (t0) to the last
    notification.sent."""

    mode: str  # "off": no metrics, no tracing; "on": metrics scraped, every trace exported
    number: int  # its place in the run, from 1
    certificates: int
    issued: int  # certificate.issued of the course read from Kafka
    notified: int  # notification.sent of those enrolments
    issued_seconds: float | None  # t0 → the last certificate.issued
    notified_seconds: float | None  # t0 → the last notification.sent
    issued_per_second: float
    end_to_end_per_second: float  # notified / notified_seconds: the figure of issue #7
    cpu_seconds: dict[str, float]  # t0 → the last notification.sent, by process
    # The stack's CPU per certificate: services, database, broker, SMTP sink (not the trace
    # sink, not the bench client).
    stack_cpu_ms_per_certificate: float | None
    spans: int  # spans the trace sink received that started after t0 (the stack is idle after)
    spans_by_service: dict[str, int]
    scrapes: int  # GET /metrics answered during the round, every service counted
    # The machine's 1-minute load average when the clock started: other work on it is noise.
    load_average: float
    error: str | None


@dataclass(frozen=True)
class OverheadFigures:
    features: str  # on the on stack: "both" (issue #7's figure), or "metrics" or "tracing" alone
    certificates: int  # per round
    rounds: int  # per mode
    warmup: int  # certificates of one untimed round per stack first
    attendance_batch: int
    scrape_seconds: float
    order: list[str]
    off: list[OverheadRound]
    on: list[OverheadRound]
    # Certificates per second end to end (first completion → last notification.sent) and
    # issued per second, each mode's median and spread over its rounds.
    off_per_second: Spread | None
    on_per_second: Spread | None
    off_issued_per_second: Spread | None
    on_issued_per_second: Spread | None
    # 1 − median(on) / median(off): the goal of issue #7 is ≤ 0.10 end to end.
    overhead: float | None
    issue_overhead: float | None
    # Medians over each mode's rounds of CPU ms per certificate, by process, and of the stack's
    # total; cpu_overhead = the stack's on / off − 1 (the trace sink apart).
    off_cpu_ms_per_certificate: dict[str, float]
    on_cpu_ms_per_certificate: dict[str, float]
    off_stack_cpu_ms_per_certificate: float | None
    on_stack_cpu_ms_per_certificate: float | None
    cpu_overhead: float | None
    # The "on" stack really traced: spans per certificate (median over its rounds), and the
    # spans of its rounds' timed parts by "service: span name" (warm-up left out).
    spans_per_certificate: float | None
    span_names: dict[str, int]
    dropped_spans: int  # "Queue full, dropping span" warnings in the on stack's service logs
    # attesta_http_requests_total summed, per service, at the end of the last round of each
    # mode: present and growing on "on"; None (absent) on "off", as it must be.
    metrics_on: dict[str, float | None]
    metrics_off: dict[str, float | None]
    scrape_ms: float | None  # median time of one service's GET /metrics
    scrape_bytes: dict[str, int]  # each service's /metrics answer, last scrape
    idle_cores: dict[str, dict[str, float]]  # by stack, measured after the warm-ups
    dead_letters: dict[str, int]  # by stack and topic
    error: str | None

    @property
    def verified(self) -> bool:
        """The comparison is honest: every on round traced (when tracing is measured), the on
        stack counts requests on every service's /metrics (when metrics are), the off stack
        neither traced nor counted anything."""
        tracing, metrics = self.features != "metrics", self.features != "tracing"
        traced = bool(self.on) and all((r.spans > 0) == tracing for r in self.on)
        # A service whose /metrics did not answer is missing from its dict: nothing proven.
        answered = bool(self.metrics_on) and set(self.metrics_off) == set(self.metrics_on)
        counted = all(bool(v) == metrics for v in self.metrics_on.values())
        absent = all(v is None for v in self.metrics_off.values())
        return traced and answered and counted and absent

    @property
    def complete(self) -> bool:
        rounds_done = all(
            r.error is None and r.notified >= r.certificates for r in [*self.off, *self.on]
        )
        return self.error is None and rounds_done and self.verified


@dataclass
class RunFigures:
    started_at: str
    command: list[str]
    machine: dict[str, str | int | None]
    settings: dict[str, object]
    idle_cores: dict[str, float] = field(default_factory=dict)
    single: SingleFigures | None = None
    bulk: list[BulkFigures] = field(default_factory=list)
    render: RenderFigures | None = None
    issue: IssueFigures | None = None
    storage: StorageFigures | None = None
    email: EmailFigures | None = None
    overhead: OverheadFigures | None = None
    flow: FlowFigures | None = None
    notes: list[str] = field(default_factory=list)

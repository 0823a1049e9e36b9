"""Progress lines on stderr while a run lasts; the results table on stdout at its end."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence

from bench.figures import (
    BulkFigures,
    IssueFigures,
    LoadFigures,
    OverheadFigures,
    OverheadRound,
    RendererFigures,
    RenderFigures,
    RunFigures,
    SingleFigures,
    Spread,
    StorageFigures,
)
from bench.overhead import by_service

SINGLE_GOAL = 0.50
BULK_GOAL_ROWS_PER_SECOND = 25_000
RENDER_GOAL_SPEEDUP = 15.0
RENDER_GOAL_MEDIAN_MS = 10.0
OVERHEAD_GOAL = 0.10
# Peak RSS counts as flat when the largest upload peaks at most this much above the smallest.
FLAT_MIB = 32.0

_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def _percent(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _cpu(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in figures.items())


def _single_row(f: LoadFigures) -> str:
    failures = f"{f.failed}" + (f" ({f.first_failure})" if f.first_failure else "")
    return (
        f"  {f.target:<14}{f.per_second:>9.1f}{f.p50_ms:>10.1f}{f.p99_ms:>10.1f}"
        f"{f.ok:>8}   {failures}"
    )


def single_table(s: SingleFigures) -> list[str]:
    lines = [
        f"Single enrolments: POST /v1/courses/{{id}}/enrolments, {s.requests} requests each "
        f"in {s.rounds} alternating rounds, {s.concurrency} concurrent workers",
        f"  {'':<14}{'req/s':>9}{'p50 ms':>10}{'p99 ms':>10}{'ok':>8}   failed",
        _single_row(s.baseline),
        _single_row(s.service),
        f"  service / baseline throughput: {_percent(s.throughput_ratio)}"
        f"   (goal ≥ {SINGLE_GOAL:.0%}: "
        f"{_met(s.throughput_ratio is not None and s.throughput_ratio >= SINGLE_GOAL)})",
    ]
    if s.baseline.p50_ms > 0:
        lines.append(
            f"  latency service / baseline: p50 ×{s.service.p50_ms / s.baseline.p50_ms:.1f}, "
            f"p99 ×{s.service.p99_ms / max(s.baseline.p99_ms, 1e-9):.1f}"
        )
    lines += [
        f"  CPU during baseline run: {_cpu(s.baseline.cpu_seconds)}",
        f"  CPU during service run:  {_cpu(s.service.cpu_seconds)}",
    ]
    return lines


def bulk_table(rows: Sequence[BulkFigures]) -> list[str]:
    lines = [
        "Bulk CSV: POST /v1/courses/{id}/enrolments/bulk, text/csv streamed in 64 KiB chunks.",
        "raw = PyMongo insert_many of the same documents in batches of 500, same server, same",
        "indexes; raw tx = the same with a transaction per batch, as the service writes",
        f"  {'rows':>9}{'raw rows/s':>12}{'raw tx r/s':>12}{'svc s':>9}{'svc rows/s':>12}"
        f"{'svc/raw':>9}{'svc/tx':>8}{'accepted':>10}{'svc RSS MiB':>13}{'mongo RSS MiB':>15}",
    ]
    for b in rows:
        accepted = f"{b.accepted:,}" if b.complete else f"{b.accepted:,}!"
        lines.append(
            f"  {b.size:>9,}{b.raw.rows_per_second:>12,.0f}"
            f"{b.raw_in_transactions.rows_per_second:>12,.0f}"
            f"{b.service_seconds:>9.2f}{b.service_rows_per_second:>12,.0f}"
            f"{_percent(b.throughput_ratio):>9}{_percent(b.throughput_ratio_to_transactions):>8}"
            f"{accepted:>10}"
            f"{_rss(b.service_rss.before_mib, b.service_rss.peak_mib):>13}"
            f"{_rss(b.mongo_rss.before_mib, b.mongo_rss.peak_mib):>15}"
        )
    lines.append("  (RSS: before → peak during the upload)")
    for b in rows:
        lines.append(f"  {b.size:,} rows, wall time → CPU time by process:")
        for name, wall, used in (
            ("raw", b.raw.seconds, b.raw.cpu_seconds),
            ("raw tx", b.raw_in_transactions.seconds, b.raw_in_transactions.cpu_seconds),
            ("service", b.service_seconds, b.cpu_seconds),
        ):
            lines.append(f"    {name:<8}{wall:>7.1f}s → {_cpu(used)}")
        if not b.complete:
            lines.append(
                f"  FAILED {b.size:,} rows: HTTP {b.status}, accepted {b.accepted:,}, "
                f"duplicates {b.duplicates:,}, rejected {b.rejected:,}; {b.error or ''}".rstrip()
            )
    lines += _bulk_goals(rows)
    return lines


def _rss(before: float, peak: float) -> str:
    return f"{before:.0f}→{peak:.0f}"


def _bulk_goals(rows: Sequence[BulkFigures]) -> list[str]:
    done = [b for b in rows if b.complete]
    if not done:
        return ["  goals: no upload completed"]
    largest = max(done, key=lambda b: b.size)
    speed = largest.service_rows_per_second
    lines = [
        f"  goal ≥ {BULK_GOAL_ROWS_PER_SECOND:,} rows/s at {largest.size:,} rows: "
        f"{speed:,.0f} rows/s, {_met(speed >= BULK_GOAL_ROWS_PER_SECOND)}"
    ]
    if len(done) > 1:
        smallest = min(done, key=lambda b: b.size)
        growth = largest.service_rss.peak_mib - smallest.service_rss.peak_mib
        lines.append(
            f"  goal flat memory: service peak RSS {smallest.service_rss.peak_mib:.0f} MiB at "
            f"{smallest.size:,} rows → {largest.service_rss.peak_mib:.0f} MiB at "
            f"{largest.size:,} ({growth:+.0f} MiB; flat means ≤ +{FLAT_MIB:.0f}): "
            f"{_met(growth <= FLAT_MIB)}"
        )
    methods = {b.service_rss.method for b in rows}
    lines += [f"  peak RSS measured as: {method}" for method in sorted(methods)]
    return lines


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"×{value:.1f}"


def _renderer_row(f: RendererFigures) -> str:
    return (
        f"  {f.renderer + ' ' + f.version:<18}{f.pdfs:>6}{f.median_ms:>10.1f}{f.p90_ms:>9.1f}"
        f"{f.median_cpu_ms:>10.1f}{f.pdfs_per_second_per_core:>12.1f}"
        f"{f.median_pdf_bytes / 1024:>10.1f}"
    )


def render_table(r: RenderFigures) -> list[str]:
    typst, weasyprint = r.typst, r.weasyprint
    subsetting = r.weasyprint_font_subsetting
    harfbuzz = subsetting.startswith("HarfBuzz")
    if not harfbuzz:
        subsetting += (
            ", which WeasyPrint itself warns against: the ratio is far lower with "
            "HarfBuzz-Subset (see docs/performance.md)"
        )
    lines = [
        f"Certificate rendering: the same certificate ({r.design}, {r.language}, signed data "
        f"attached, a new holder, number and QR code every PDF), one thread, {r.rounds} "
        "alternating rounds",
        f"  {'':<18}{'PDFs':>6}{'median ms':>10}{'p90 ms':>9}{'CPU ms':>10}"
        f"{'PDFs/s/core':>12}{'KiB/PDF':>10}",
        _renderer_row(typst),
        _renderer_row(weasyprint),
        f"  WeasyPrint / Typst median: {_times(r.speedup)} (CPU {_times(r.cpu_speedup)})"
        f"   (goal ≥ ×{RENDER_GOAL_SPEEDUP:.0f}: "
        f"{_met(r.speedup is not None and r.speedup >= RENDER_GOAL_SPEEDUP)}"
        + ("" if harfbuzz else ", against fontTools subsetting")
        + ")",
        f"  Typst median {typst.median_ms:.1f} ms per PDF   (goal ≤ {RENDER_GOAL_MEDIAN_MS:.0f} "
        f"ms: {_met(typst.median_ms <= RENDER_GOAL_MEDIAN_MS)})",
        f"    of which CertificateRenderer.data (QR code, dates; both renderers call "
        f"it) ≈ {r.data_median_ms:.1f} ms, Typst's compile ≈ "
        f"{max(typst.median_ms - r.data_median_ms, 0):.1f} ms",
        f"    the engines alone (each median less that data): {_times(r.engine_speedup)}",
        f"  WeasyPrint subsets its fonts with {subsetting}",
        f"  WeasyPrint's HTML + layout alone take {weasyprint.median_layout_ms or 0:.1f} ms: "
        f"{_times(r.layout_only_speedup)} Typst's whole PDF, a floor for any WeasyPrint set-up",
        f"  Typst, {len(r.typst_matrix)} languages × designs: median "
        f"{r.typst_matrix_median_ms:.1f} ms (CPU {r.typst_matrix_median_cpu_ms:.1f} ms)",
        "    " + ", ".join(f"{m.language}/{m.design} {m.median_ms:.1f}" for m in r.typst_matrix),
    ]
    failed = [c for c in r.checks if not c.ok]
    lines.append(
        f"  pypdf checks: {len(r.checks) - len(failed)}/{len(r.checks)} PDFs have 1 A4 landscape "
        "page naming the holder"
        + ("" if all(c.signature_attached for c in r.checks) else "; a signature is missing")
    )
    for c in failed:
        lines.append(
            f"    FAILED {c.renderer} {c.language}/{c.design}: {c.pages} pages, A4 landscape "
            f"{c.a4_landscape}, holder in text {c.holder_in_text}"
        )
    return lines


def issue_table(i: IssueFigures) -> list[str]:
    raw = i.raw_render
    lines = [
        f"Issuing: {i.certificates:,} trainees complete a two-session course (second "
        f"session's attendance in POSTs of {i.attendance_batch}); clock from the first "
        "completing POST to the last certificate.issued read from Kafka",
        f"  enrolled by bulk CSV in {i.enrol_seconds:.1f}s; first session recorded in "
        f"{i.first_session_seconds:.1f}s",
        f"  completions posted: {i.completed:,} in {i.completing_posts} POSTs, "
        f"{i.completing_seconds:.1f}s",
        f"  certificate.issued: {i.issued:,}/{i.certificates:,}, first after "
        f"{_seconds(i.first_issued_seconds)}, last after {_seconds(i.seconds)}",
        f"  issued/s: {i.issued_per_second:.1f}"
        + (f" (steady, first → last: {i.steady_per_second:.1f}/s)" if i.steady_per_second else ""),
        f"  raw baseline, same run: Typst alone {raw.pdfs_per_second_per_core:.1f} PDFs/s on "
        f"one core (median {raw.median_ms:.1f} ms)",
        f"  issued/s / raw render rate: {_percent(i.share_of_render_rate)}",
    ]
    if i.certification_cpu_ms_per_certificate is not None:
        handler = (
            f"; its handler took {i.certification_handler_ms:.1f} ms per event"
            if i.certification_handler_ms is not None
            else ""
        )
        lines.append(
            f"  certification CPU per certificate: {i.certification_cpu_ms_per_certificate:.1f} "
            f"ms (rendering alone ≈ {raw.median_cpu_ms:.1f} ms){handler}"
        )
    if i.stack_cpu_ms_per_certificate is not None:
        lines.append(
            f"  CPU of the whole stack per certificate: {i.stack_cpu_ms_per_certificate:.1f} ms "
            f"(machine: {os.cpu_count()} cores)"
        )
    if i.kafka is not None:
        lines.append(
            f"  raw Kafka produce → consume, {i.kafka.messages:,} records of "
            f"{i.kafka.message_bytes / 1024:.0f} KiB: {i.kafka.per_second:,.0f}/s"
        )
    lines += [
        f"  emailed (notification.sent): {i.notified:,}, last after {_seconds(i.notified_seconds)}",
        f"  CPU t0 → last issued: {_cpu(i.cpu_seconds)}",
    ]
    busy = {name: cores for name, cores in i.idle_cores.items() if cores >= 0.01}
    lines.append(
        "  idle stack CPU (cores): "
        + (", ".join(f"{name} {cores:.2f}" for name, cores in busy.items()) or "none")
    )
    if i.dead_letters:
        lines.append("  DEAD LETTERS: " + ", ".join(f"{t} {n}" for t, n in i.dead_letters.items()))
    if i.error:
        lines.append(f"  FAILED: {i.error}")
    return lines


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}s"


def _spread(s: Spread | None) -> str:
    return "n/a" if s is None else f"{s.median:.2f} ({s.low:.2f}–{s.high:.2f})"


def _overhead_round(r: OverheadRound) -> str:
    traced = f", {r.spans:,} spans, {r.scrapes} scrapes" if r.mode == "on" else ""
    failed = f"  FAILED: {r.error}" if r.error else ""
    return (
        f"    {r.number:>2} {r.mode:<4}{r.end_to_end_per_second:>7.2f}/s "
        f"({r.notified:,} emailed in {r.notified_seconds or 0:.1f}s; "
        f"{r.issued_per_second:.2f} issued/s; stack CPU "
        f"{_number(r.stack_cpu_ms_per_certificate)} ms/cert; load {r.load_average:.1f})"
        f"{traced}{failed}"
    )


def _on_stack(o: OverheadFigures) -> str:
    parts = []
    if o.features != "tracing":
        parts.append(f"/metrics of every service scraped every {o.scrape_seconds:g}s")
    if o.features != "metrics":
        parts.append(
            "every trace exported to a collector (the development trace sink, on this machine)"
        )
    return ", ".join(parts)


def overhead_table(o: OverheadFigures) -> list[str]:
    sent = max(sum(r.notified for r in o.on), 1)
    what = {"both": "metrics + tracing", "metrics": "metrics alone", "tracing": "tracing alone"}
    goal = (
        f"(goal ≤ {OVERHEAD_GOAL:.0%}: "
        f"{_met(o.overhead is not None and o.overhead <= OVERHEAD_GOAL)}"
        if o.features == "both"
        else "(the goal is for both together"
    )
    lines = [
        f"Overhead of {what.get(o.features, o.features)} (issue #7): {o.rounds} round"
        f"{'' if o.rounds == 1 else 's'} each way, alternating "
        f"({', '.join(o.order)}), each a course of {o.certificates:,} trainees completed at "
        "once; clock from the first completing POST to the last notification.sent",
        f"  off: ATTESTA_METRICS_ENABLED=false, no tracing; on: {_on_stack(o)}",
        f"  {'':<6}{'certificates/s end to end':>28}{'issued/s':>22}{'stack CPU ms/cert':>20}",
        f"  {'off':<6}{_spread(o.off_per_second):>28}{_spread(o.off_issued_per_second):>22}"
        f"{_number(o.off_stack_cpu_ms_per_certificate):>20}",
        f"  {'on':<6}{_spread(o.on_per_second):>28}{_spread(o.on_issued_per_second):>22}"
        f"{_number(o.on_stack_cpu_ms_per_certificate):>20}",
        f"  overhead end to end, 1 − median on / median off: {_percent(o.overhead)}   "
        + goal
        + ("" if o.verified else ", but the modes were NOT verified")
        + ")",
        f"  overhead of the issue rate: {_percent(o.issue_overhead)}; the stack's CPU per "
        f"certificate: {_signed_percent(o.cpu_overhead)} (the collector apart: trace sink "
        f"{_number(o.on_cpu_ms_per_certificate.get('trace sink'))} ms per certificate)",
        "  CPU ms per certificate, off → on: "
        + ", ".join(
            f"{name} {_number(o.off_cpu_ms_per_certificate.get(name))} → "
            f"{_number(o.on_cpu_ms_per_certificate.get(name))}"
            for name in dict.fromkeys([*o.off_cpu_ms_per_certificate, *o.on_cpu_ms_per_certificate])
        ),
    ]
    if o.features != "metrics":
        lines.append(
            f"  on stack traced: {_number(o.spans_per_certificate)} spans per certificate "
            f"(median), {o.dropped_spans} dropped; by service, per certificate: "
            + ", ".join(f"{name} {n / sent:.1f}" for name, n in by_service(o.span_names).items())
        )
    lines.append(
        "  attesta_http_requests_total on /metrics, on: "
        + ", ".join(f"{name} {_count(v)}" for name, v in o.metrics_on.items())
        + "; off: "
        + ", ".join(f"{name} {_count(v)}" for name, v in o.metrics_off.items())
    )
    if o.features != "tracing":
        lines.append(
            f"  a scrape: median {_number(o.scrape_ms)} ms per service; "
            + ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in o.scrape_bytes.items())
        )
    lines += [
        "  rounds:",
        *(_overhead_round(r) for r in sorted([*o.off, *o.on], key=lambda r: r.number)),
    ]
    for mode, idle in o.idle_cores.items():
        busy = {name: cores for name, cores in idle.items() if cores >= 0.01}
        lines.append(
            f"  idle {mode} stack CPU (cores): "
            + (", ".join(f"{name} {cores:.2f}" for name, cores in busy.items()) or "none")
        )
    if o.dead_letters:
        lines.append("  DEAD LETTERS: " + ", ".join(f"{t} {n}" for t, n in o.dead_letters.items()))
    if not o.verified:
        lines.append(
            "  NOT VERIFIED: the on stack must trace every round and count requests on every "
            "service's /metrics (as far as it has them on), the off stack neither"
        )
    if o.error:
        lines.append(f"  FAILED: {o.error}")
    return lines


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _count(value: float | None) -> str:
    return "absent" if value is None else f"{value:,.0f}"


def _signed_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}%"


def storage_table(figures: StorageFigures) -> str:
    """Where certificate PDFs are kept: each option's costs, and its writes against ours."""
    own = next(o for o in figures.options if o.name == "own")
    lines = [
        f"PDF storage ({figures.certificates} certificates, PDF {figures.pdf_bytes:,} bytes)",
        f"  {'option':<12}{'write ms':>10}{'download ms':>13}{'scan ms/1000':>14}"
        f"{'bytes/cert':>12}{'write vs own':>14}",
    ]
    for option in figures.options:
        write = "-" if option.write_ms is None else f"{option.write_ms:.2f}"
        size = "-" if option.bytes_per_certificate is None else f"{option.bytes_per_certificate:,}"
        times = (
            "-"
            if option.write_ms is None or not own.write_ms
            else f"{option.write_ms / own.write_ms:.1f}×"
        )
        lines.append(
            f"  {option.name:<12}{write:>10}{option.download_ms:>13.2f}"
            f"{option.scan_ms_per_1000:>14.1f}{size:>12}{times:>14}"
        )
    return "\n".join(lines) + "\n"


def table(run: RunFigures) -> str:
    machine = ", ".join(f"{k} {v}" for k, v in run.machine.items() if v is not None)
    lines = [f"Attesta benchmark, {run.started_at}", f"  {machine}"]
    if run.idle_cores:
        busy = {name: cores for name, cores in run.idle_cores.items() if cores >= 0.01}
        lines.append(
            "  idle stack CPU (cores): "
            + (", ".join(f"{name} {cores:.2f}" for name, cores in busy.items()) or "none")
        )
    lines.append("")
    if run.render is not None:
        lines += [*render_table(run.render), ""]
    if run.single is not None:
        lines += [*single_table(run.single), ""]
    if run.bulk:
        lines += [*bulk_table(run.bulk), ""]
    if run.issue is not None:
        lines += [*issue_table(run.issue), ""]
    if run.storage is not None:
        lines += [storage_table(run.storage)]
    if run.overhead is not None:
        lines += [*overhead_table(run.overhead), ""]
    lines += [f"Note: {note}" for note in run.notes]
    return "\n".join(lines).rstrip() + "\n"

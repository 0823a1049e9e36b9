"""Progress lines on stderr while a run lasts; the results table on stdout at its end."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence

from bench.figures import BulkFigures, LoadFigures, RunFigures, SingleFigures

SINGLE_GOAL = 0.50
BULK_GOAL_ROWS_PER_SECOND = 25_000
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


def table(run: RunFigures) -> str:
    machine = ", ".join(f"{k} {v}" for k, v in run.machine.items() if v is not None)
    lines = [f"Attesta registration benchmark, {run.started_at}", f"  {machine}"]
    if run.idle_cores:
        busy = {name: cores for name, cores in run.idle_cores.items() if cores >= 0.01}
        lines.append(
            "  idle stack CPU (cores): "
            + (", ".join(f"{name} {cores:.2f}" for name, cores in busy.items()) or "none")
        )
    lines.append("")
    if run.single is not None:
        lines += [*single_table(run.single), ""]
    if run.bulk:
        lines += [*bulk_table(run.bulk), ""]
    lines += [f"Note: {note}" for note in run.notes]
    return "\n".join(lines).rstrip() + "\n"

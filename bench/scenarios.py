"""The two measurements, each against its baseline in the same run: single enrolments under
concurrent load, and bulk CSV uploads of growing size."""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bench import cpu, raw
from bench.figures import (
    BulkFigures,
    LoadFigures,
    RawFigures,
    RssFigures,
    SingleFigures,
    ratio,
)
from bench.load import Body, LoadResult, post_load
from bench.people import Trainee, read_csv, trainees, write_csv
from bench.rss import PeakRss, RssReading
from bench.stack import Stack
from bench.tenant import Tenant
from bench.upload import UploadResult, upload_csv

T = TypeVar("T")
Progress = Callable[[str], None]


def _watched(stack: Stack) -> dict[str, int]:
    """The processes whose CPU time is reported: the bench client is this process."""
    pids = {name: stack.pids[name] for name in ("registration", "mongodb", "baseline")}
    return {**pids, "bench client": os.getpid()}


async def _timed_cpu(stack: Stack, work: Callable[[], Awaitable[T]]) -> tuple[T, dict[str, float]]:
    before = cpu.snapshot(_watched(stack))
    result = await work()
    return result, {
        k: round(v, 2) for k, v in cpu.spent(before, cpu.snapshot(_watched(stack))).items()
    }


async def idle_cores(stack: Stack, seconds: float = 3.0) -> dict[str, float]:
    """CPU each process of the stack uses while nothing is asked of it, in cores: whatever
    is not near zero here is taken from every measurement that follows."""
    pids = {**stack.pids, "bench client": os.getpid()}
    before = cpu.snapshot(pids)
    await asyncio.sleep(seconds)
    spent = cpu.spent(before, cpu.snapshot(pids))
    return {name: round(used / seconds, 2) for name, used in spent.items()}


def _load_figures(target: str, result: LoadResult, cpu_seconds: dict[str, float]) -> LoadFigures:
    return LoadFigures(
        target=target,
        ok=result.ok,
        failed=sum(result.failures.values()),
        failures=dict(result.failures),
        first_failure=result.first_failure,
        seconds=round(result.seconds, 3),
        per_second=round(result.per_second, 1),
        p50_ms=round(result.percentile(50) * 1000, 2),
        p99_ms=round(result.percentile(99) * 1000, 2),
        cpu_seconds=cpu_seconds,
    )


async def single_enrolments(
    stack: Stack,
    tenant: Tenant,
    tag: str,
    *,
    total: int,
    concurrency: int,
    rounds: int,
    progress: Progress,
) -> SingleFigures:
    """`total` requests per target, in `rounds` alternating rounds (baseline, service, service,
    baseline, …) so that a machine growing busier or quieter meanwhile favours neither."""
    per_round = math.ceil(total / rounds)
    warmup = concurrency * 2
    people = list(trainees(f"{tag}-single", rounds * 2 * (warmup + per_round)))

    def body(number: int) -> Body:
        person = people[number]
        return {
            "external_ref": person.external_ref,
            "full_name": person.full_name,
            "email": person.email,
        }

    path = f"/v1/courses/{tenant.course_id}/enrolments"
    headers = {"baseline": {}, "registration": tenant.headers}
    merged = {target: LoadResult() for target in headers}
    cpu_used: dict[str, Counter[str]] = {target: Counter() for target in headers}
    unused = 0
    for round_number in range(rounds):
        order = list(headers) if round_number % 2 == 0 else list(reversed(headers))
        for target in order:
            # Numbers never reused: a repeated external_ref is a different request (200, not 201).
            numbers = range(unused + warmup, unused + warmup + per_round)
            unused = numbers.stop
            progress(
                f"single enrolments, round {round_number + 1}/{rounds} → {target}: "
                f"{per_round} requests from {concurrency} workers…"
            )

            async def run(target: str = target, numbers: range = numbers) -> LoadResult:
                return await post_load(
                    stack.urls[target] + path,
                    body,
                    numbers,
                    concurrency=concurrency,
                    warmup=warmup,
                    headers=headers[target],
                )

            result, spent = await _timed_cpu(stack, run)
            merged[target].absorb(result)
            cpu_used[target].update(spent)
            progress(
                f"single enrolments, round {round_number + 1}/{rounds} → {target}: "
                f"{result.per_second:.0f} req/s, {sum(result.failures.values())} failed"
            )
    figures = {
        target: _load_figures(
            target, merged[target], {k: round(v, 2) for k, v in cpu_used[target].items()}
        )
        for target in headers
    }
    return SingleFigures(
        concurrency=concurrency,
        requests=per_round * rounds,
        rounds=rounds,
        baseline=figures["baseline"],
        service=figures["registration"],
        throughput_ratio=ratio(figures["registration"].per_second, figures["baseline"].per_second),
    )


def _rss(reading: RssReading) -> RssFigures:
    return RssFigures(round(reading.before_mib, 1), round(reading.peak_mib, 1), reading.method)


async def _raw_inserts(
    stack: Stack, tenant: Tenant, rows: list[Trainee], *, transactions: bool
) -> RawFigures:
    client = raw.connect(stack.mongo_url)
    try:
        # Separate collections: the same rows go into each, under the same unique index.
        name = "enrolments_in_transactions" if transactions else "enrolments"
        collection = client[raw.SCRATCH_DATABASE][name]
        await raw.prepare(collection)

        async def insert() -> raw.RawResult:
            return await raw.insert_all(
                collection, tenant.course_id, tenant.partner_id, rows, transactions=transactions
            )

        result, spent = await _timed_cpu(stack, insert)
    finally:
        await client.close()
    spent.pop("baseline", None)
    return RawFigures(round(result.seconds, 3), round(result.rows_per_second, 1), spent)


async def bulk_upload(
    stack: Stack, tenant: Tenant, tag: str, size: int, workdir: Path, *, progress: Progress
) -> BulkFigures:
    label = f"bulk {size:,} rows"
    progress(f"{label}: writing the CSV…")
    csv_path = workdir / f"bulk-{size}.csv"
    csv_bytes = write_csv(csv_path, f"{tag}-bulk{size}", size)
    try:
        rows = read_csv(csv_path)
        progress(f"{label}: raw insert_many baseline…")
        plain = await _raw_inserts(stack, tenant, rows, transactions=False)
        progress(f"{label}: raw {plain.rows_per_second:,.0f} rows/s; again in transactions…")
        in_transactions = await _raw_inserts(stack, tenant, rows, transactions=True)
        del rows
        progress(
            f"{label}: raw in transactions {in_transactions.rows_per_second:,.0f} rows/s; "
            "uploading to the service…"
        )

        url = f"{stack.urls['registration']}/v1/courses/{tenant.course_id}/enrolments/bulk"

        async def upload() -> UploadResult:
            return await upload_csv(
                url, csv_path, csv_bytes, tenant.headers, allowed_seconds=120 + size * 0.02
            )

        async with (
            PeakRss(stack.pids["registration"]) as service_rss,
            PeakRss(stack.pids["mongodb"]) as mongo_rss,
        ):
            result, spent = await _timed_cpu(stack, upload)
    finally:
        csv_path.unlink(missing_ok=True)
    spent.pop("baseline", None)

    service_rate = result.accepted / result.seconds if result.seconds > 0 else 0.0
    figures = BulkFigures(
        size=size,
        csv_bytes=csv_bytes,
        raw=plain,
        raw_in_transactions=in_transactions,
        service_seconds=round(result.seconds, 3),
        service_rows_per_second=round(service_rate, 1),
        throughput_ratio=ratio(service_rate, plain.rows_per_second),
        throughput_ratio_to_transactions=ratio(service_rate, in_transactions.rows_per_second),
        status=result.status,
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=result.rejected,
        error=result.error,
        service_rss=_rss(service_rss.reading),
        mongo_rss=_rss(mongo_rss.reading),
        cpu_seconds=spent,
    )
    outcome = (
        f"{service_rate:,.0f} rows/s"
        if figures.complete
        else f"FAILED (HTTP {result.status}, accepted {result.accepted:,} of {size:,})"
    )
    progress(f"{label}: service {outcome} in {result.seconds:.1f}s")
    return figures

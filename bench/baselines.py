"""The raw speed of each stage's parts on this machine, in the same run as the whole flow and
through the same servers: what the flow is compared with (issue #8).

- kafka: aiokafka produces records as large as the flow's events to a scratch topic of the
  same broker and consumes them back (`issuing.kafka_round_trip`);
- mongodb: PyMongo inserts copies of a real enrolment document of the run into a scratch
  database of the same server, then `find_one_and_update`s each, 8 at a time;
- renderer: Typst renders the same certificate in this process (`rendering.typst_rate`);
- smtp: aiosmtplib sends the same certificate email to the same sink over as many kept-open
  connections as notification uses (`emailing.send_raw`).

Each is repeated; the figure is the median with the lowest and highest run.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pymongo import ReturnDocument

from bench import emailing, rendering
from bench.figures import Spread
from bench.figures import spread as spread_of
from bench.flow_figures import Baseline
from bench.issuing import kafka_round_trip
from services.notification.composing import Composer, MailIdentity
from services.notification.settings import NotificationSettings
from shared.mongo import Document, connect

Progress = Callable[[str], None]
MONGO_CONCURRENCY = 8


@dataclass(frozen=True)
class Counts:
    """How much each run of each baseline does."""

    kafka_records: int
    mongo_documents: int
    renders: int
    emails: int


def spread(values: Sequence[float]) -> Spread:
    """figures.spread of runs there always are."""
    found = spread_of(values)
    if found is None:
        raise ValueError("a baseline without runs")
    return found


def baseline(stage: str, what: str, runs: Sequence[float]) -> Baseline:
    return Baseline(
        stage=stage,
        what=what,
        unit="per second",
        runs=[round(r, 1) for r in runs],
        spread=spread([round(r, 1) for r in runs]),
    )


async def _repeat(times: int, run: Callable[[], Awaitable[float]]) -> list[float]:
    return [await run() for _ in range(times)]


async def kafka(
    bootstrap: str, sizes: dict[str, int], count: int, repeats: int, progress: Progress
) -> list[Baseline]:
    """One baseline per event: `sizes` maps an event's name to its record size in bytes."""
    found = []
    for event, size in sizes.items():
        progress(f"raw kafka: {repeats} × {count:,} records of {size:,} bytes ({event})…")

        async def run(size: int = size) -> float:
            trip = await kafka_round_trip(bootstrap, count, size)
            if trip.messages < count:
                raise RuntimeError(f"raw kafka: {trip.messages} of {count} records came back")
            return trip.per_second

        runs = await _repeat(repeats, run)
        found.append(
            baseline("kafka", f"aiokafka produce+consume, {size:,}-byte records ({event})", runs)
        )
    return found


async def mongodb(
    mongo_url: str, template: Document, count: int, repeats: int, progress: Progress
) -> list[Baseline]:
    """Inserts of `template`'s copies, then a find_one_and_update of each, per second."""
    progress(f"raw mongodb: {repeats} × {count:,} inserts and find_one_and_updates…")
    client = connect(mongo_url)
    inserts, updates = [], []
    try:
        for _ in range(repeats):
            db = client[f"bench_raw_{uuid.uuid4().hex[:8]}"]
            await db.create_collection("enrolments")
            try:
                documents = [_copy(template) for _ in range(count)]
                inserts.append(await _rate(count, [db.enrolments.insert_one(d) for d in documents]))
                updates.append(
                    await _rate(
                        count,
                        [
                            db.enrolments.find_one_and_update(
                                {"_id": d["_id"]},
                                {"$set": {"status": "completed", "completed_on": "2026-11-23"}},
                                return_document=ReturnDocument.AFTER,
                            )
                            for d in documents
                        ],
                    )
                )
            finally:
                await client.drop_database(db.name)
    finally:
        await client.close()
    return [
        baseline("mongodb", "PyMongo insert_one of an enrolment document, 8 at a time", inserts),
        baseline("mongodb", "PyMongo find_one_and_update of it, 8 at a time", updates),
    ]


def _copy(template: Document) -> Document:
    document = copy.deepcopy(template)
    document["_id"] = uuid.uuid4().hex
    return document


async def _rate(count: int, operations: Sequence[Awaitable[object]]) -> float:
    """Run `operations` MONGO_CONCURRENCY at a time; how many per second."""
    gate = asyncio.Semaphore(MONGO_CONCURRENCY)

    async def one(operation: Awaitable[object]) -> None:
        async with gate:
            await operation

    started = time.perf_counter()
    await asyncio.gather(*(one(op) for op in operations))
    return count / (time.perf_counter() - started)


def renderer(count: int, repeats: int, progress: Progress) -> Baseline:
    """Typst's PDFs per second, one after another in this process (one core)."""
    settings = rendering.Settings(
        rounds=1,
        typst_per_round=count,
        weasyprint_per_round=0,
        matrix_per_combination=0,
        warmup=2,
    )
    runs = []
    for _ in range(repeats):
        figures = rendering.typst_rate(settings, progress)
        runs.append(1000.0 / figures.median_ms)
    return baseline("renderer", "Typst rendering the certificate in one process", runs)


async def smtp(port: int, count: int, repeats: int, progress: Progress) -> Baseline:
    """The same certificate email (PDF attached) sent straight to the sink."""
    settings = NotificationSettings()
    composer = Composer(
        MailIdentity(settings.mail_from, settings.mail_reply_to, settings.message_id_domain),
        settings.mail_templates_dir,
    )
    certificates = emailing.Certificates(uuid.uuid4().hex[:6], emailing.certificate_pdf())
    progress(
        f"raw smtp: {repeats} × {count:,} emails over {settings.smtp_connections} connections…"
    )
    runs = []
    for _ in range(repeats):
        messages = [composer.certificate(issued) for issued in certificates.issued(count)]
        sent, seconds = await emailing.send_raw(
            "127.0.0.1", port, messages, settings.smtp_connections
        )
        if sent < count:
            raise RuntimeError(f"raw smtp: {sent} of {count} emails sent")
        runs.append(sent / seconds)
    return baseline(
        "smtp",
        f"aiosmtplib sending the certificate email, {settings.smtp_connections} connections",
        runs,
    )

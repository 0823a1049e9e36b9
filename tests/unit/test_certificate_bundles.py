"""The ZIP of a course's certificates is written a file at a time and reads back whole."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from services.certification.bundles import INDEX_NAME, BundledCertificate, zipped


def certificate(n: int, holder: str) -> BundledCertificate:
    return BundledCertificate(
        number=f"FRMS-2002-{n:06d}",
        holder=holder,
        issued_on="2002-09-11",
        valid_until=None,
        verification_url=f"https://verify.example/verify/code{n}",
        pdf=f"%PDF-1.7 certificate {n}".encode() * 1000,
        created_at=datetime(2002, 9, 11, 10, n, tzinfo=UTC),
    )


async def some(*items: BundledCertificate) -> AsyncIterator[BundledCertificate]:
    for item in items:
        yield item


async def test_each_certificate_is_a_pdf_in_the_archive_with_an_index_spreadsheet() -> None:
    items = [certificate(1, "Иванка Петрова"), certificate(2, "Zofia Wiśniewska")]

    chunks = [chunk async for chunk in zipped(some(*items))]

    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert archive.namelist() == ["FRMS-2002-000001.pdf", "FRMS-2002-000002.pdf", INDEX_NAME]
    assert archive.read("FRMS-2002-000002.pdf") == items[1].pdf
    index = archive.read(INDEX_NAME).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(index)))
    assert [(r["number"], r["holder"], r["file"]) for r in rows] == [
        ("FRMS-2002-000001", "Иванка Петрова", "FRMS-2002-000001.pdf"),
        ("FRMS-2002-000002", "Zofia Wiśniewska", "FRMS-2002-000002.pdf"),
    ]


async def test_the_archive_streams_one_certificate_per_chunk() -> None:
    items = [certificate(n, f"Trainee {n}") for n in range(1, 6)]

    chunks = [chunk async for chunk in zipped(some(*items))]

    # One chunk per certificate, then the index and the central directory: never all at once.
    assert len(chunks) == len(items) + 1
    assert all(len(chunk) < 2 * len(items[0].pdf) for chunk in chunks)

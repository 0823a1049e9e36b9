"""A ZIP of many certificates, written while it downloads: one PDF at a time goes into the
archive and out to the client, so a course of 2,000 certificates never sits in memory whole."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

INDEX_NAME = "certificates.csv"
INDEX_COLUMNS = ("number", "holder", "issued_on", "valid_until", "verification_url", "file")


@dataclass(frozen=True)
class BundledCertificate:
    number: str
    holder: str
    issued_on: str
    valid_until: str | None
    verification_url: str
    pdf: bytes
    created_at: datetime

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"


class _Chunks(io.RawIOBase):
    """A write-only, unseekable file: ZipFile then writes data descriptors, as streaming needs."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


async def zipped(certificates: AsyncIterator[BundledCertificate]) -> AsyncIterator[bytes]:
    """The archive's bytes, a file at a time, ending with `certificates.csv` (a spreadsheet of
    what is inside, for the coordinator who hands the certificates out)."""
    sink = _Chunks()
    index = io.StringIO()
    rows = csv.writer(index)
    rows.writerow(INDEX_COLUMNS)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        async for certificate in certificates:
            entry = zipfile.ZipInfo(certificate.file_name, certificate.created_at.timetuple()[:6])
            # PDFs are compressed already: storing them costs nothing and saves CPU.
            archive.writestr(entry, certificate.pdf)
            rows.writerow(
                [
                    certificate.number,
                    certificate.holder,
                    certificate.issued_on,
                    certificate.valid_until or "",
                    certificate.verification_url,
                    certificate.file_name,
                ]
            )
            yield sink.take()
        # UTF-8 with a BOM, so spreadsheet programs read Cyrillic and Polish names right.
        archive.writestr(INDEX_NAME, ("\ufeff" + index.getvalue()).encode(), zipfile.ZIP_DEFLATED)
    yield sink.take()

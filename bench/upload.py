"""Upload a CSV file to the bulk enrolment endpoint as a partner's script would: streamed
from disk in 64 KiB chunks, never whole in the uploader's memory."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from bench.people import trainees, write_csv

CHUNK = 64 * 1024


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(CHUNK):
            yield chunk


@dataclass(frozen=True)
class UploadResult:
    status: int | None
    seconds: float
    body: dict[str, Any] | None
    error: str | None

    @property
    def accepted(self) -> int:
        return int(self.body.get("accepted", 0)) if self.body else 0

    @property
    def duplicates(self) -> int:
        return int(self.body.get("duplicates", 0)) if self.body else 0

    @property
    def rejected(self) -> int:
        return len(self.body.get("rejected", [])) if self.body else 0


async def upload_csv(
    url: str, path: Path, size: int, headers: Mapping[str, str], *, allowed_seconds: float
) -> UploadResult:
    """POST the file at `path` (`size` bytes) as text/csv; the clock runs until the answer is
    read."""
    request_headers = {
        **headers,
        "Content-Type": "text/csv; charset=utf-8",
        # Known up front, as curl --data-binary @file would send it: no chunked encoding.
        "Content-Length": str(size),
    }
    timeout = httpx.Timeout(allowed_seconds, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout) as client:
        started = time.perf_counter()
        try:
            response = await client.post(url, content=_chunks(path), headers=request_headers)
        except httpx.HTTPError as error:
            seconds = time.perf_counter() - started
            return UploadResult(None, seconds, None, f"{type(error).__name__}: {error}")
        seconds = time.perf_counter() - started
    if not response.is_success:
        return UploadResult(response.status_code, seconds, None, response.text[:500])
    body: dict[str, Any] = response.json()
    return UploadResult(response.status_code, seconds, body, None)


async def enrol_by_csv(
    registration: str,
    course_id: str,
    headers: Mapping[str, str],
    folder: Path,
    prefix: str,
    count: int,
    label: str,
) -> tuple[list[str], UploadResult]:
    """Enrol `count` generated trainees (external_refs starting with `prefix`) in the course by
    one bulk CSV upload: their external_refs, and how the upload went. Raises when any row was
    not accepted."""
    csv_path = folder / f"{prefix}.csv"
    csv_bytes = write_csv(csv_path, prefix, count)
    try:
        upload = await upload_csv(
            f"{registration}/v1/courses/{course_id}/enrolments/bulk",
            csv_path,
            csv_bytes,
            headers,
            allowed_seconds=120 + count * 0.05,
        )
    finally:
        csv_path.unlink(missing_ok=True)
    if upload.error is not None or upload.accepted != count:
        raise RuntimeError(
            f"{label}: enrolling failed: HTTP {upload.status}, accepted {upload.accepted} "
            f"of {count}; {upload.error or ''}"
        )
    return [t.external_ref for t in trainees(prefix, count)], upload

"""Where certificate PDFs live: the choice in `services/certification/store.py`, measured against
the alternatives on the same embedded database in the same run.

- **own collection** (what the service does): the certificate document, and the PDF as issued
  in `certificate_pdfs` under the same number;
- **GridFS**: the PDF in `fs.files` / `fs.chunks`;
- **inline**: the PDF inside the certificate document;
- **regenerate**: no PDF stored, drawn again from the stored data on each download.

Per certificate: write time (median), download time (median), the time to scan the
certificate documents (a listing, a report, a status list), and database bytes.

`python -m bench.storage [--certificates N]`, or `python -m bench --only storage`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from bench.figures import StorageFigures, StorageOption
from bench.report import progress, storage_table
from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from services.certification.render import CertificateRenderer
from services.certification.samples import sample_content
from services.certification.store import CertificationStore
from shared.devstack import servers
from shared.events import EnrolmentCompletedV1, Holder
from shared.mongo import Database, Document, Session, connect


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


async def _timed(samples: list[float], work: Awaitable[Any]) -> Any:
    started = time.perf_counter()
    result = await work
    samples.append(time.perf_counter() - started)
    return result


def _db_bytes(data_dir: Path, name: str) -> int:
    return sum(f.stat().st_size for f in data_dir.glob(f"{name}.db*"))


async def _scan_ms_per_1000(collection: Any) -> float:
    started = time.perf_counter()
    seen = 0
    async for _ in collection.find({"status": "valid"}, {"_id": 1}):
        seen += 1
    return round((time.perf_counter() - started) * 1000 * 1000 / max(seen, 1), 1)


async def _issued(issuer: Issuer, count: int) -> list[Document]:
    """Certificates issued by the service's own code, PDFs in their own collection."""
    made: list[Document] = []
    course = sample_content("bg").course
    for index in range(count):
        event = EnrolmentCompletedV1(
            enrolment_id=uuid.uuid4().hex,
            partner_id="p1",
            external_ref=f"r{index}",
            holder=Holder(full_name="Мария Иванова", email=f"m{index}@example.bg"),
            course=course,
            completed_on=course.sessions[-1],
        )

        async def work(session: Session, event: EnrolmentCompletedV1 = event) -> Document | None:
            return await issuer.issue(session, event)

        doc = await issuer.database.in_transaction(work)
        assert doc is not None
        made.append(doc)
    return made


async def _measure(client: AsyncMongoClient[Document], data_dir: Path, n: int) -> StorageFigures:
    renderer = CertificateRenderer()
    service_db = Database(client, "storage_service", serialise=True)
    store = CertificationStore(service_db)
    await store.ensure_indexes()
    keyring = Keyring(service_db)
    await keyring.load()
    issuer = Issuer(store, renderer, keyring, "https://verify.example")
    progress(f"storage: issuing {n} certificates through the service's code…")
    certificates = await _issued(issuer, n)
    numbers = [doc["_id"] for doc in certificates]
    pdfs = {number: await store.pdf_of(number) for number in numbers}
    pdf_bytes = len(next(iter(pdfs.values())) or b"")
    docs = [await store.by_number(number) for number in numbers]

    # The same documents and PDFs written the other ways, timed write by write.
    grid_db = client["storage_gridfs"]
    bucket = AsyncGridFSBucket(grid_db)
    inline = client["storage_inline"]["certificates"]
    own = client["storage_own"]
    timings: dict[str, list[float]] = {"own": [], "gridfs": [], "inline": []}
    progress("storage: writing the same certificates as GridFS, inline and own-collection…")
    for doc in docs:
        assert doc is not None
        pdf = pdfs[doc["_id"]]
        assert pdf is not None

        async def write_own(doc: Document = doc, pdf: bytes = pdf) -> None:
            await own["certificates"].insert_one(doc)
            await own["certificate_pdfs"].insert_one({"_id": doc["_id"], "pdf": pdf})

        async def write_grid(doc: Document = doc, pdf: bytes = pdf) -> None:
            file_id = await bucket.upload_from_stream(f"{doc['_id']}.pdf", pdf)
            await grid_db["certificates"].insert_one({**doc, "pdf_file": file_id})

        await _timed(timings["own"], write_own())
        await _timed(timings["gridfs"], write_grid())
        await _timed(timings["inline"], inline.insert_one({**doc, "pdf": pdf}))

    progress("storage: downloading each way…")
    downloads: dict[str, list[float]] = {k: [] for k in ("own", "gridfs", "inline", "regenerate")}

    async def from_grid(number: str) -> bytes:
        found = await grid_db["certificates"].find_one({"_id": number})
        assert found is not None
        stream = await bucket.open_download_stream(found["pdf_file"])
        data: bytes = await stream.read()
        return data

    async def from_inline(number: str) -> bytes:
        found = await inline.find_one({"_id": number})
        assert found is not None
        return bytes(found["pdf"])

    async def regenerate(number: str) -> bytes:
        found = await store.by_number(number)
        assert found is not None
        return await asyncio.to_thread(renderer.render, issuer.content(found))

    ways: dict[str, Callable[[str], Awaitable[bytes | None]]] = {
        "own": store.pdf_of,
        "gridfs": from_grid,
        "inline": from_inline,
        "regenerate": regenerate,
    }
    for number in numbers[: min(n, 100)]:
        for name, fetch in ways.items():
            data = await _timed(downloads[name], fetch(number))
            if data != pdfs[number]:
                raise RuntimeError(f"{name} gave back other bytes than were issued for {number}")

    scans = {
        "own": await _scan_ms_per_1000(own["certificates"]),
        "gridfs": await _scan_ms_per_1000(grid_db["certificates"]),
        "inline": await _scan_ms_per_1000(inline),
    }
    sizes = {
        "own": _db_bytes(data_dir, "storage_own"),
        "gridfs": _db_bytes(data_dir, "storage_gridfs"),
        "inline": _db_bytes(data_dir, "storage_inline"),
    }
    options = [
        StorageOption(
            name=name,
            write_ms=_median_ms(timings[name]),
            download_ms=_median_ms(downloads[name]),
            scan_ms_per_1000=scans[name],
            bytes_per_certificate=sizes[name] // n,
        )
        for name in ("own", "gridfs", "inline")
    ]
    options.append(
        StorageOption(
            name="regenerate",
            write_ms=None,
            download_ms=_median_ms(downloads["regenerate"]),
            scan_ms_per_1000=scans["own"],
            bytes_per_certificate=None,
        )
    )
    return StorageFigures(certificates=n, pdf_bytes=pdf_bytes, options=options)


async def measure_storage(certificates: int) -> StorageFigures:
    """Starts an nx-27017 of its own on a free port for the measurement."""
    with tempfile.TemporaryDirectory(prefix="attesta-storage-") as folder:
        root = Path(folder)
        port = servers.free_port()
        child = servers.start_mongo(port, root / "data", root / "logs")
        client = connect(f"mongodb://127.0.0.1:{port}")
        try:
            return await _measure(client, root / "data", certificates)
        finally:
            await client.close()
            child.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--certificates", type=int, default=300, help="how many (300)")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure_storage(args.certificates))
    print(storage_table(figures), end="")
    print(asdict(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

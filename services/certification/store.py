"""The certification service's MongoDB access: certificates, their PDFs, the numbering
counters, and the partner keys it learns from registration's events.

The PDF as issued is kept, byte for byte, in a collection of its own (`certificate_pdfs`): a
certificate is what was sent, not what today's templates would draw. Not GridFS: at ≈37 KB a
PDF is one GridFS chunk anyway, and GridFS's extra documents made writing it 4.6× slower on the
embedded database. Not inside the certificate document either: every scan of certificates would
read the PDFs along (3.7× slower). Figures: `make bench BENCH_ARGS="--only storage"`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from shared.mongo import Database, Document, Session, merge_into

# The counter that hands out status-list bits, one per certificate version, never reused.
STATUS_SERIES = "status-list"


class CertificationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        db = database.db
        self.certificates = db["certificates"]
        self.counters = db["counters"]
        self.keys = db["partner_keys"]
        self.corrections = db["corrections"]
        self.pdfs = db["certificate_pdfs"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections(
            "certificates", "counters", "partner_keys", "corrections", "certificate_pdfs"
        )
        # One version N per enrolment, enforced by the database, not by luck: two deliveries of
        # one completion, or two concurrent reissues, cannot both write the same version.
        await self._drop_unique_enrolment_index()
        await self.certificates.create_index(
            [("enrolment_id", ASCENDING), ("version", ASCENDING)], unique=True
        )
        # The embedded server uses single-field indexes only: this one serves the look-ups.
        await self.certificates.create_index("enrolment_id")
        await self.certificates.create_index("course.id")
        await self.certificates.create_index("verification_code", unique=True)
        # Few certificates are revoked or superseded: the status lists find them by this.
        await self.certificates.create_index("status")
        await self.keys.create_index("key_hash", unique=True)

    async def _drop_unique_enrolment_index(self) -> None:
        # Databases made before reissues allowed one certificate per enrolment, full stop.
        indexes = await self.certificates.index_information()
        if indexes.get("enrolment_id_1", {}).get("unique"):
            await self.certificates.drop_index("enrolment_id_1")

    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        doc = await self.keys.find_one({"key_hash": key_hash, "revoked": {"$ne": True}})
        return None if doc is None else str(doc["partner_id"])

    async def forget_key(self, session: Session, key_id: str) -> None:
        # Kept as revoked rather than deleted: a replayed `key_issued` must not bring it back.
        await self.keys.update_one({"_id": key_id}, {"$set": {"revoked": True}}, session=session)

    async def remember_key(
        self, session: Session, key_id: str, partner_id: str, key_hash: str
    ) -> None:
        await self.keys.update_one(
            {"_id": key_id},
            {"$set": {"partner_id": partner_id, "key_hash": key_hash}},
            upsert=True,
            session=session,
        )

    async def next_sequence(self, session: Session, series: str) -> int:
        # Inside the issuing transaction: if issuing fails, the increment rolls back too,
        # so numbers have no gaps.
        doc = await self.counters.find_one_and_update(
            {"_id": series},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert doc is not None
        return int(doc["seq"])

    async def issued_count(self) -> int:
        """How many certificates have been given a status-list bit (the last sequence drawn)."""
        doc = await self.counters.find_one({"_id": STATUS_SERIES})
        return 0 if doc is None else int(doc["seq"])

    async def withdrawn_bits(self, list_id: int) -> list[int]:
        """The status-list bits of the list's revoked and superseded certificates."""
        bits: list[int] = []
        for status in ("revoked", "superseded"):
            # One equality query each: the embedded server serves `$in` without the index.
            found = self.certificates.find({"status": status}, {"status_entry": 1})
            async for doc in found:
                entry = doc.get("status_entry")
                if entry is not None and entry["list"] == list_id:
                    bits.append(int(entry["index"]))
        return bits

    async def latest_for(self, session: Session, enrolment_id: str) -> Document | None:
        """The enrolment's newest certificate version (the one not superseded), if any."""
        found = (
            self.certificates.find({"enrolment_id": enrolment_id}, {"pdf": 0}, session=session)
            .sort("version", DESCENDING)
            .limit(1)
        )
        async for doc in found:
            return doc
        return None

    async def supersede(self, session: Session, number: str, by: str) -> None:
        # Nested, like the revocation: the embedded server keeps a datetime inside a document.
        superseded: dict[str, Any] = {"by": by, "at": datetime.now(UTC)}
        await self.certificates.update_one(
            {"_id": number},
            {"$set": {"status": "superseded", "superseded": superseded}},
            session=session,
        )

    async def pending_correction(self, session: Session, enrolment_id: str) -> Document | None:
        return await self.corrections.find_one({"_id": enrolment_id}, session=session)

    async def keep_correction(
        self, session: Session, enrolment_id: str, holder: Document, corrected_at: datetime
    ) -> None:
        """Remember a correction that arrived before the certificate it corrects (the two come
        on different topics)."""
        await merge_into(
            self.corrections,
            session,
            enrolment_id,
            {"holder": holder, "corrected_at": corrected_at},
        )

    async def insert(self, session: Session, certificate: Document, pdf: bytes) -> None:
        await self.certificates.insert_one(certificate, session=session)
        await self.pdfs.insert_one({"_id": certificate["_id"], "pdf": pdf}, session=session)

    async def pdf_of(self, number: str) -> bytes | None:
        """The PDF as issued; certificates issued before PDFs had their own collection keep
        theirs inside the certificate."""
        for collection in (self.pdfs, self.certificates):
            doc = await collection.find_one({"_id": number}, {"pdf": 1})
            if doc is not None and doc.get("pdf") is not None:
                return bytes(doc["pdf"])
        return None

    async def by_number(self, number: str, *, session: Session | None = None) -> Document | None:
        return await self.certificates.find_one({"_id": number}, {"pdf": 0}, session=session)

    async def valid_of_course(
        self, course_id: str, partner_id: str | None
    ) -> AsyncIterator[Document]:
        """The course's valid certificates, by number, one at a time."""
        query: Document = {"course.id": course_id, "status": "valid"}
        if partner_id is not None:
            query["partner_id"] = partner_id
        async for doc in self.certificates.find(query, {"pdf": 0}).sort("_id", ASCENDING):
            yield doc

    async def by_code(self, code: str) -> Document | None:
        return await self.certificates.find_one({"verification_code": code.lower()}, {"pdf": 0})

    async def revoke(self, session: Session, number: str, reason: str) -> datetime:
        at = datetime.now(UTC)
        # Nested on purpose: the embedded server keeps a datetime inside a `$set` document but
        # stringifies a top-level one, and a whole-document replace would have to carry the PDF.
        revocation: dict[str, Any] = {"reason": reason, "at": at}
        await self.certificates.update_one(
            {"_id": number},
            {"$set": {"status": "revoked", "revocation": revocation}},
            session=session,
        )
        return at

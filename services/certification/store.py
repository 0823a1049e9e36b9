"""The certification service's MongoDB access: certificates (with their PDF), the numbering
counters, and the partner keys it learns from registration's events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument

from shared.mongo import Database, Document, Session


class CertificationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        db = database.db
        self.certificates = db["certificates"]
        self.counters = db["counters"]
        self.keys = db["partner_keys"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections("certificates", "counters", "partner_keys")
        # One certificate per enrolment, enforced by the database, not by luck.
        await self.certificates.create_index("enrolment_id", unique=True)
        await self.certificates.create_index("verification_code", unique=True)
        await self.keys.create_index("key_hash", unique=True)

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

    async def for_enrolment(self, session: Session, enrolment_id: str) -> Document | None:
        return await self.certificates.find_one(
            {"enrolment_id": enrolment_id}, {"pdf": 0}, session=session
        )

    async def insert(self, session: Session, certificate: Document) -> None:
        await self.certificates.insert_one(certificate, session=session)

    async def by_number(
        self, number: str, *, with_pdf: bool = False, session: Session | None = None
    ) -> Document | None:
        projection = None if with_pdf else {"pdf": 0}
        return await self.certificates.find_one({"_id": number}, projection, session=session)

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

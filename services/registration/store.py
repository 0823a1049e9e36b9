"""The registration service's MongoDB access: partners and keys, courses, enrolments,
attendance. Dates are stored as ISO strings (`YYYY-MM-DD`); BSON has no date-only type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING

from services.registration.domain import Status
from shared.mongo import Database, Document, Session


def now() -> datetime:
    return datetime.now(UTC)


class RegistrationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        db = database.db
        self.partners = db["partners"]
        self.keys = db["partner_keys"]
        self.courses = db["courses"]
        self.enrolments = db["enrolments"]
        self.attendance = db["attendance"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections(
            "partners", "partner_keys", "courses", "enrolments", "attendance"
        )
        await self.keys.create_index("key_hash", unique=True)
        await self.enrolments.create_index(
            [("partner_id", ASCENDING), ("course_id", ASCENDING), ("external_ref", ASCENDING)],
            unique=True,
        )
        # Never an index that names _id: the embedded server then rejects every insert.
        await self.enrolments.create_index("course_id")
        await self.attendance.create_index("enrolment_id")

    # partners and keys ---------------------------------------------------------------
    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        doc = await self.keys.find_one({"key_hash": key_hash, "revoked_at": None})
        return None if doc is None else str(doc["partner_id"])

    async def insert_partner(self, session: Session, partner: Document, key: Document) -> None:
        await self.partners.insert_one(partner, session=session)
        await self.keys.insert_one(key, session=session)

    async def existing_partner_ids(self, ids: list[str]) -> set[str]:
        return {str(d["_id"]) async for d in self.partners.find({"_id": {"$in": ids}}, {"_id": 1})}

    # courses ---------------------------------------------------------------------------
    async def insert_course(self, session: Session, course: Document) -> None:
        await self.courses.insert_one(course, session=session)

    async def course(self, course_id: str, session: Session | None = None) -> Document | None:
        return await self.courses.find_one({"_id": course_id}, session=session)

    # enrolments ------------------------------------------------------------------------
    async def enrolment(self, enrolment_id: str, session: Session | None = None) -> Document | None:
        return await self.enrolments.find_one({"_id": enrolment_id}, session=session)

    async def enrolments_by_ref(
        self, session: Session, partner_id: str, course_id: str, refs: list[str]
    ) -> list[Document]:
        cursor = self.enrolments.find(
            {"partner_id": partner_id, "course_id": course_id, "external_ref": {"$in": refs}},
            session=session,
        )
        return [doc async for doc in cursor]

    async def insert_enrolments(self, session: Session, docs: list[Document]) -> None:
        if docs:
            await self.enrolments.insert_many(docs, session=session)

    async def move(
        self, session: Session, enrolment: Document, status: Status, **fields: Any
    ) -> None:
        """Set a new status and append it to the history (the whole array is rewritten: the
        embedded server mangles `$push` of documents)."""
        history = [*enrolment.get("history", []), {"status": status.value, "at": now()}]
        await self.enrolments.update_one(
            {"_id": enrolment["_id"]},
            {"$set": {"status": status.value, "history": history, **fields}},
            session=session,
        )
        enrolment.update(status=status.value, history=history, **fields)

    async def page(
        self,
        course_id: str,
        partner_id: str | None,
        status: Status | None,
        cursor: str | None,
        limit: int,
    ) -> list[Document]:
        query: dict[str, Any] = {"course_id": course_id}
        if partner_id is not None:
            query["partner_id"] = partner_id
        if status is not None:
            query["status"] = status.value
        if cursor:
            query["_id"] = {"$gt": cursor}
        found = self.enrolments.find(query).sort("_id", ASCENDING).limit(limit)
        return [doc async for doc in found]

    # attendance ------------------------------------------------------------------------
    async def record_attendance(self, session: Session, enrolment: Document, day: date) -> bool:
        """Record one attendance; False when it was already recorded."""
        record_id = f"{enrolment['_id']}:{day.isoformat()}"
        if await self.attendance.find_one({"_id": record_id}, session=session) is not None:
            return False
        await self.attendance.insert_one(
            {
                "_id": record_id,
                "enrolment_id": enrolment["_id"],
                "course_id": enrolment["course_id"],
                "session": day.isoformat(),
                "recorded_at": now(),
            },
            session=session,
        )
        return True

    async def attended(self, enrolment_id: str, session: Session | None = None) -> list[date]:
        cursor = self.attendance.find({"enrolment_id": enrolment_id}, session=session)
        return sorted([date.fromisoformat(doc["session"]) async for doc in cursor])

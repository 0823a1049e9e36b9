"""The registration service's MongoDB access: partners and keys, courses, enrolments,
attendance. Dates are stored as ISO strings (`YYYY-MM-DD`); BSON has no date-only type."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.registration.domain import Status
from shared import idempotency
from shared.mongo import Database, Document, Session, merge_into


def now() -> datetime:
    """Now, to the millisecond: what MongoDB keeps, so an answer given at once matches the
    same field read back later."""
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def email_key(email: str) -> str:
    """Emails are found case-insensitively: spreadsheets write the same address many ways."""
    return email.strip().lower()


@dataclass(frozen=True)
class Step:
    """Why an enrolment moved: a person's call, an upload, or another service's event."""

    cause: str
    event_id: str | None = None
    event_type: str | None = None

    def as_fields(self) -> Document:
        fields: Document = {"cause": self.cause}
        if self.event_id is not None:
            fields.update(event_id=self.event_id, event_type=self.event_type)
        return fields


@dataclass(frozen=True)
class EnrolmentFilters:
    status: Status | None = None
    external_ref: str | None = None
    email: str | None = None


async def page_of(
    collection: AsyncCollection[Document], query: Document, cursor: str | None, limit: int
) -> list[Document]:
    """One page in `_id` order; ids are random hex, so the order is stable but not by time."""
    if cursor:
        query = {**query, "_id": {"$gt": cursor}}
    found = collection.find(query).sort("_id", ASCENDING).limit(limit)
    return [doc async for doc in found]


COMPLETED_STATUSES = (Status.COMPLETED, Status.CERTIFIED, Status.NOTIFIED, Status.REVOKED)

# Courses read per request (every enrolment checks its course) and never changed once created.
COURSES_CACHED = 1024


class RegistrationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._courses: OrderedDict[str, Document] = OrderedDict()
        db = database.db
        self.partners = db["partners"]
        self.keys = db["partner_keys"]
        self.courses = db["courses"]
        self.enrolments = db["enrolments"]
        self.attendance = db["attendance"]
        self.issuers = db["issuers"]
        self.funders = db["funders"]
        self.idempotency_records = db["idempotency_keys"]
        # Kept beside the course, which never changes once created (and so can be cached).
        self.releases = db["course_releases"]
        self.closures = db["course_closures"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections(
            "partners",
            "partner_keys",
            "courses",
            "enrolments",
            "attendance",
            "issuers",
            "funders",
            "idempotency_keys",
            "course_releases",
            "course_closures",
        )
        await idempotency.ensure_indexes(self.idempotency_records)
        await self.keys.create_index("key_hash", unique=True)
        await self.enrolments.create_index(
            [("partner_id", ASCENDING), ("course_id", ASCENDING), ("external_ref", ASCENDING)],
            unique=True,
        )
        # Never an index that names _id: the embedded server then rejects every insert.
        await self.enrolments.create_index("course_id")
        # The embedded server uses single-field indexes only: this one serves look-ups by ref.
        await self.enrolments.create_index("external_ref")
        await self.enrolments.create_index([("course_id", ASCENDING), ("email_key", ASCENDING)])
        await self.keys.create_index("partner_id")
        await self.attendance.create_index("enrolment_id")

    # partners and keys ---------------------------------------------------------------
    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        doc = await self.keys.find_one({"key_hash": key_hash, "revoked_at": None})
        return None if doc is None else str(doc["partner_id"])

    async def insert_partner(self, session: Session, partner: Document) -> None:
        await self.partners.insert_one(partner, session=session)

    async def existing_partner_ids(self, ids: list[str]) -> set[str]:
        return {str(d["_id"]) async for d in self.partners.find({"_id": {"$in": ids}}, {"_id": 1})}

    async def partner(self, partner_id: str) -> Document | None:
        return await self.partners.find_one({"_id": partner_id})

    async def partner_names(self, ids: list[str]) -> dict[str, str]:
        found = self.partners.find({"_id": {"$in": ids}}, {"name": 1})
        return {str(d["_id"]): str(d["name"]) async for d in found}

    async def partners_page(self, cursor: str | None, limit: int) -> list[Document]:
        return await page_of(self.partners, {}, cursor, limit)

    async def keys_of(self, partner_ids: list[str]) -> dict[str, list[Document]]:
        found: dict[str, list[Document]] = {pid: [] for pid in partner_ids}
        async for key in self.keys.find({"partner_id": {"$in": partner_ids}}):
            found.setdefault(key["partner_id"], []).append(key)
        for keys in found.values():
            keys.sort(key=lambda k: k["created_at"])
        return found

    async def insert_key(self, session: Session, key: Document) -> None:
        await self.keys.insert_one(key, session=session)

    async def key(self, session: Session, partner_id: str, key_id: str) -> Document | None:
        return await self.keys.find_one({"_id": key_id, "partner_id": partner_id}, session=session)

    async def revoke_key(self, session: Session, key_id: str) -> Document:
        return await merge_into(self.keys, session, key_id, {"revoked_at": now()})

    # issuers and funders ---------------------------------------------------------------
    def parties(self, kind: str) -> AsyncCollection[Document]:
        return self.issuers if kind == "issuer" else self.funders

    async def insert_party(self, session: Session, kind: str, doc: Document) -> None:
        await self.parties(kind).insert_one(doc, session=session)

    async def party(self, kind: str, party_id: str) -> Document | None:
        return await self.parties(kind).find_one({"_id": party_id})

    async def parties_page(self, kind: str, cursor: str | None, limit: int) -> list[Document]:
        return await page_of(self.parties(kind), {}, cursor, limit)

    # courses ---------------------------------------------------------------------------
    async def insert_course(self, session: Session, course: Document) -> None:
        await self.courses.insert_one(course, session=session)

    async def course(self, course_id: str) -> Document | None:
        """The course, from memory when read before: a course is never changed once created,
        so a remembered one is never stale. Callers must not change the document."""
        if (cached := self._courses.get(course_id)) is not None:
            self._courses.move_to_end(course_id)
            return cached
        course = await self.courses.find_one({"_id": course_id})
        if course is not None:
            self._courses[course_id] = course
            if len(self._courses) > COURSES_CACHED:
                self._courses.popitem(last=False)
        return course

    async def release_of(self, course_id: str, session: Session | None = None) -> Document | None:
        return await self.releases.find_one({"_id": course_id}, session=session)

    async def insert_release(self, session: Session, release: Document) -> None:
        await self.releases.insert_one(release, session=session)

    async def closure(self, course_id: str, partner_id: str, session: Session) -> Document | None:
        return await self.closures.find_one({"_id": f"{course_id}:{partner_id}"}, session=session)

    async def insert_closure(self, session: Session, closure: Document) -> None:
        await self.closures.insert_one(closure, session=session)

    async def count_completed(self, course_id: str, partner_id: str, session: Session) -> int:
        """Enrolments of a partner on a course that completed (and so have a certificate)."""
        completed = [s.value for s in COMPLETED_STATUSES]
        return await self.enrolments.count_documents(
            {"course_id": course_id, "partner_id": partner_id, "status": {"$in": completed}},
            session=session,
        )

    async def courses_page(
        self, partner_id: str | None, cursor: str | None, limit: int
    ) -> list[Document]:
        query: Document = {} if partner_id is None else {"partner_ids": partner_id}
        return await page_of(self.courses, query, cursor, limit)

    async def courses_of_funder(self, funder: str | None) -> list[Document]:
        """Courses of one funder (its id, or its name for inline funders), or all courses."""
        query: Document = {}
        if funder:
            query = {"$or": [{"funder_id": funder}, {"funder.name": funder}]}
        return [doc async for doc in self.courses.find(query, {"issuer.logo_svg": 0})]

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

    async def enrolment_by_ref(
        self, partner_id: str, course_id: str, external_ref: str
    ) -> Document | None:
        return await self.enrolments.find_one(
            {"partner_id": partner_id, "course_id": course_id, "external_ref": external_ref}
        )

    async def insert_enrolment(self, doc: Document) -> None:
        """Insert one enrolment outside any transaction."""
        async with self.database.alone():
            await self.enrolments.insert_one(doc)

    async def insert_enrolments(self, session: Session, docs: list[Document]) -> None:
        if docs:
            await self.enrolments.insert_many(docs, session=session)

    async def move(
        self,
        session: Session,
        enrolment: Document,
        status: Status,
        step: Step,
        **fields: Any,
    ) -> None:
        """Set a new status and append it to the history (the whole array is rewritten: the
        embedded server mangles `$push` of documents)."""
        entry = {"status": status.value, "at": now(), **step.as_fields()}
        history = [*enrolment.get("history", []), entry]
        await self.enrolments.update_one(
            {"_id": enrolment["_id"]},
            {"$set": {"status": status.value, "history": history, **fields}},
            session=session,
        )
        enrolment.update(status=status.value, history=history, **fields)

    async def note(self, session: Session, enrolment: Document, step: Step) -> None:
        """Append to the history what happened without a change of status (a failed email)."""
        await self.move(session, enrolment, Status(enrolment["status"]), step)

    async def correct(
        self, session: Session, enrolment: Document, changes: Document, correction: Document
    ) -> None:
        corrections = [*enrolment.get("corrections", []), correction]
        fields = {**changes, "corrections": corrections}
        if "email" in changes:
            fields["email_key"] = email_key(changes["email"])
        await self.enrolments.update_one(
            {"_id": enrolment["_id"]}, {"$set": fields}, session=session
        )
        enrolment.update(fields)

    async def page(
        self,
        course_id: str,
        partner_id: str | None,
        filters: EnrolmentFilters,
        cursor: str | None,
        limit: int,
    ) -> list[Document]:
        query: dict[str, Any] = {"course_id": course_id}
        if partner_id is not None:
            query["partner_id"] = partner_id
        if filters.status is not None:
            query["status"] = filters.status.value
        if filters.external_ref is not None:
            query["external_ref"] = filters.external_ref
        if filters.email is not None:
            query["email_key"] = email_key(filters.email)
        return await page_of(self.enrolments, query, cursor, limit)

    async def for_report(self, course_id: str, partner_id: str | None = None) -> list[Document]:
        query: Document = {"course_id": course_id}
        if partner_id is not None:
            query["partner_id"] = partner_id
        found = self.enrolments.find(query, {"partner_id": 1, "status": 1, "history": 1})
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

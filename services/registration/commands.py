"""What the registration service does, one transaction per command: the state change and the
events it causes are written together (transactional outbox), so a 2xx means both are durable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from services.registration import domain
from services.registration.domain import Status
from services.registration.schemas import CourseIn, EnrolmentIn, PartnerIn, RowError
from services.registration.store import RegistrationStore, now
from shared import outbox, topics
from shared.auth import new_partner_key
from shared.events import (
    CourseSnapshot,
    EnrolmentCompletedV1,
    Holder,
    PartnerKeyIssuedV1,
    new_event,
)
from shared.mongo import Document, Session
from shared.problems import field_errors

SOURCE = "attesta/registration"
BULK_BATCH = 500


def new_id() -> str:
    return uuid.uuid4().hex


class Registrar:
    def __init__(self, store: RegistrationStore) -> None:
        self.store = store
        self.database = store.database

    # partners ------------------------------------------------------------------------
    async def create_partner(self, body: PartnerIn) -> tuple[Document, str, str]:
        key = new_partner_key()
        partner_id = new_id()
        partner: Document = {
            "_id": partner_id,
            "name": body.name,
            "contact_email": body.contact_email,
            "created_at": now(),
        }
        key_doc: Document = {
            "_id": key.key_id,
            "partner_id": partner_id,
            "key_hash": key.key_hash,
            "created_at": now(),
            "revoked_at": None,
        }
        announce = new_event(
            PartnerKeyIssuedV1(partner_id=partner_id, key_id=key.key_id, key_hash=key.key_hash),
            source=SOURCE,
            subject=partner_id,
        )

        async def work(session: Session) -> None:
            await self.store.insert_partner(session, partner, key_doc)
            await outbox.add(session, self.database, topics.PARTNER_KEYS, announce)

        await self.database.in_transaction(work)
        return partner, key.secret_key, key.key_id

    # courses -------------------------------------------------------------------------
    async def create_course(self, body: CourseIn) -> Document:
        course = {"_id": new_id(), **body.model_dump(mode="json"), "created_at": now()}

        async def work(session: Session) -> None:
            await self.store.insert_course(session, course)

        await self.database.in_transaction(work)
        return course

    # enrolments ----------------------------------------------------------------------
    async def enrol(
        self, course: Document, partner_id: str, body: EnrolmentIn
    ) -> tuple[Document, bool]:
        """Enrol one trainee; returns (enrolment, created). The same external_ref again returns
        the existing enrolment."""
        result = await self.enrol_many(course, partner_id, [body])
        return result.enrolments[0], result.accepted == 1

    async def enrol_many(
        self, course: Document, partner_id: str, rows: list[EnrolmentIn]
    ) -> EnrolResult:
        result = EnrolResult()
        for start in range(0, len(rows), BULK_BATCH):
            await self._enrol_batch(course, partner_id, rows[start : start + BULK_BATCH], result)
        return result

    async def _enrol_batch(
        self, course: Document, partner_id: str, rows: list[EnrolmentIn], result: EnrolResult
    ) -> None:
        async def work(session: Session) -> tuple[list[Document], int, int]:
            refs = [row.external_ref for row in rows]
            existing = {
                doc["external_ref"]: doc
                for doc in await self.store.enrolments_by_ref(
                    session, partner_id, course["_id"], refs
                )
            }
            fresh: dict[str, Document] = {}
            out: list[Document] = []
            for row in rows:
                doc = existing.get(row.external_ref) or fresh.get(row.external_ref)
                if doc is None:
                    doc = self._new_enrolment(course, partner_id, row)
                    fresh[row.external_ref] = doc
                out.append(doc)
            await self.store.insert_enrolments(session, list(fresh.values()))
            return out, len(fresh), len(rows) - len(fresh)

        try:
            docs, accepted, duplicates = await self.database.in_transaction(work)
        except DuplicateKeyError:
            # A concurrent request enrolled some of these refs first: the retry sees them.
            docs, accepted, duplicates = await self.database.in_transaction(work)
        result.enrolments.extend(docs)
        result.accepted += accepted
        result.duplicates += duplicates

    @staticmethod
    def _new_enrolment(course: Document, partner_id: str, row: EnrolmentIn) -> Document:
        at = now()
        return {
            "_id": new_id(),
            "course_id": course["_id"],
            "partner_id": partner_id,
            **row.model_dump(mode="json"),
            "status": Status.ENROLLED.value,
            "certificate_number": None,
            "history": [{"status": Status.ENROLLED.value, "at": at}],
            "created_at": at,
        }

    async def bulk_enrol(
        self, course: Document, partner_id: str, raw_rows: list[dict[str, Any]]
    ) -> tuple[EnrolResult, list[RowError]]:
        good: list[EnrolmentIn] = []
        rejected: list[RowError] = []
        for number, raw in enumerate(raw_rows, start=1):
            cleaned = {k: (v if v != "" else None) for k, v in raw.items() if k}
            try:
                good.append(EnrolmentIn.model_validate(cleaned))
            except ValidationError as error:
                ref = raw.get("external_ref")
                rejected.append(
                    RowError(
                        row=number,
                        external_ref=str(ref) if ref else None,
                        errors=field_errors(list(error.errors())),
                    )
                )
        return await self.enrol_many(course, partner_id, good), rejected

    # attendance and completion ---------------------------------------------------------
    async def record_attendance(
        self, course: Document, partner_id: str, day: date, refs: list[str]
    ) -> tuple[int, int, list[str]]:
        sessions = [date.fromisoformat(d) for d in course["sessions"]]
        wanted = list(dict.fromkeys(refs))

        async def work(session: Session) -> tuple[int, int, list[str]]:
            found = await self.store.enrolments_by_ref(session, partner_id, course["_id"], wanted)
            by_ref = {doc["external_ref"]: doc for doc in found}
            recorded = completed = 0
            for ref in wanted:
                enrolment = by_ref.get(ref)
                if enrolment is None or enrolment["status"] == Status.WITHDRAWN.value:
                    continue
                if not await self.store.record_attendance(session, enrolment, day):
                    continue
                recorded += 1
                attended = await self.store.attended(enrolment["_id"], session)
                if enrolment["status"] == Status.ENROLLED.value and domain.meets_completion_rule(
                    attended, sessions, course["min_sessions"]
                ):
                    await self._complete(session, course, enrolment, attended)
                    completed += 1
            unknown = [ref for ref in wanted if ref not in by_ref]
            return recorded, completed, unknown

        return await self.database.in_transaction(work)

    async def complete(self, enrolment: Document) -> Document:
        """Explicit completion (an online course, a trainer's decision). Idempotent."""

        async def work(session: Session) -> Document:
            current = await self.store.enrolment(enrolment["_id"], session)
            assert current is not None
            if current["status"] != Status.ENROLLED.value:
                return current
            course = await self.store.course(current["course_id"], session)
            assert course is not None
            attended = await self.store.attended(current["_id"], session)
            await self._complete(session, course, current, attended)
            return current

        return await self.database.in_transaction(work)

    async def _complete(
        self, session: Session, course: Document, enrolment: Document, attended: list[date]
    ) -> None:
        completed_on = domain.completion_date(attended) if attended else now().date()
        await self.store.move(session, enrolment, Status.COMPLETED)
        event = new_event(
            EnrolmentCompletedV1(
                enrolment_id=enrolment["_id"],
                partner_id=enrolment["partner_id"],
                external_ref=enrolment["external_ref"],
                holder=Holder(
                    full_name=enrolment["full_name"],
                    email=enrolment["email"],
                    position=enrolment.get("position"),
                    organisation=enrolment.get("organisation"),
                ),
                course=course_snapshot(course),
                completed_on=completed_on,
                attended_sessions=attended,
            ),
            source=SOURCE,
            subject=enrolment["_id"],
        )
        await outbox.add(session, self.database, topics.ENROLMENT_COMPLETED, event)

    # what the other services report ----------------------------------------------------
    async def follow(
        self, session: Session, enrolment_id: str, status: Status, **fields: Any
    ) -> None:
        enrolment = await self.store.enrolment(enrolment_id, session)
        if enrolment is None:
            return
        if domain.can_move(Status(enrolment["status"]), status):
            await self.store.move(session, enrolment, status, **fields)
        elif fields:
            await self.store.enrolments.update_one(
                {"_id": enrolment_id}, {"$set": fields}, session=session
            )


@dataclass
class EnrolResult:
    accepted: int = 0
    duplicates: int = 0
    enrolments: list[Document] = field(default_factory=list)


def course_snapshot(course: Document) -> CourseSnapshot:
    return CourseSnapshot.model_validate({**course, "id": course["_id"]})

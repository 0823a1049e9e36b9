"""What the registration service does, one transaction per command: the state change and the
events it causes are written together (transactional outbox), so a 2xx means both are durable.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from pydantic import ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.registration import domain
from services.registration.domain import Status
from services.registration.schemas import (
    MAX_REPORTED_ROWS,
    CourseIn,
    EnrolmentIn,
    EnrolmentPatch,
    FunderIn,
    IssuerIn,
    PartnerIn,
    RowError,
)
from services.registration.store import RegistrationStore, Step, email_key, now
from services.registration.uploads import Row
from shared import outbox, topics
from shared.auth import NewKey, new_partner_key
from shared.events import (
    CourseClosedV1,
    CourseReleasedV1,
    CourseSnapshot,
    EnrolmentCompletedV1,
    EnrolmentCorrectedV1,
    EnrolmentRegisteredV1,
    Holder,
    PartnerKeyIssuedV1,
    PartnerKeyRevokedV1,
    new_event,
)
from shared.mongo import Document, Session
from shared.problems import Problem, field_errors

SOURCE = "attesta/registration"
BULK_BATCH = 500


def new_id() -> str:
    return uuid.uuid4().hex


class Registrar:
    def __init__(self, store: RegistrationStore) -> None:
        self.store = store
        self.database = store.database

    # partners and their keys -----------------------------------------------------------
    async def create_partner(self, body: PartnerIn) -> tuple[Document, str, str]:
        partner: Document = {
            "_id": new_id(),
            "name": body.name,
            "contact_email": body.contact_email,
            "created_at": now(),
        }

        async def work(session: Session) -> NewKey:
            await self.store.insert_partner(session, partner)
            return await self._issue_key(session, partner["_id"])

        key = await self.database.in_transaction(work)
        return partner, key.secret_key, key.key_id

    async def issue_key(self, partner_id: str) -> tuple[str, str]:
        """A further key for a partner (rotation: the old key works until it is revoked, so a
        partner can switch its systems over without downtime). Returns (key_id, api_key)."""
        key = await self.database.in_transaction(
            lambda session: self._issue_key(session, partner_id)
        )
        return key.key_id, key.secret_key

    async def _issue_key(self, session: Session, partner_id: str) -> NewKey:
        key = new_partner_key()
        await self.store.insert_key(
            session,
            {
                "_id": key.key_id,
                "partner_id": partner_id,
                "key_hash": key.key_hash,
                "created_at": now(),
                "revoked_at": None,
            },
        )
        announce = new_event(
            PartnerKeyIssuedV1(partner_id=partner_id, key_id=key.key_id, key_hash=key.key_hash),
            source=SOURCE,
            subject=partner_id,
        )
        await outbox.add(session, self.database, topics.PARTNER_KEYS, announce)
        return key

    async def revoke_key(self, partner_id: str, key_id: str) -> None:
        """Revoke a key at once here and, through `partner.keys`, in the other services.
        Revoking a revoked key is a no-op."""

        async def work(session: Session) -> None:
            key = await self.store.key(session, partner_id, key_id)
            if key is None:
                raise Problem(404, f"Partner {partner_id} has no key {key_id}.")
            if key.get("revoked_at") is not None:
                return
            revoked = await self.store.revoke_key(session, key_id)
            announce = new_event(
                PartnerKeyRevokedV1(
                    partner_id=partner_id, key_id=key_id, revoked_at=revoked["revoked_at"]
                ),
                source=SOURCE,
                subject=partner_id,
            )
            await outbox.add(session, self.database, topics.PARTNER_KEYS, announce)

        await self.database.in_transaction(work)

    # issuers, funders and courses ------------------------------------------------------
    async def create_party(self, kind: str, body: IssuerIn | FunderIn) -> Document:
        doc = {"_id": new_id(), **body.model_dump(mode="json"), "created_at": now()}

        async def work(session: Session) -> None:
            await self.store.insert_party(session, kind, doc)

        await self.database.in_transaction(work)
        return doc

    async def create_course(self, body: CourseIn) -> Document:
        fields = body.model_dump(mode="json")
        # A course keeps a copy of its issuer and funder as they were when it was created, so
        # certificates of one course look alike even if the funder's logo changes later.
        for kind in ("issuer", "funder"):
            party_id = fields.get(f"{kind}_id")
            if party_id is not None:
                party = await self.store.party(kind, party_id)
                if party is None:
                    raise Problem(
                        422,
                        f"No {kind} {party_id}: create it with POST /v1/{kind}s first.",
                        errors=[{"field": f"{kind}_id", "message": f"unknown {kind}"}],
                    )
                fields[kind] = {k: v for k, v in party.items() if k not in ("_id", "created_at")}
        course = {"_id": new_id(), **fields, "created_at": now()}

        async def work(session: Session) -> None:
            await self.store.insert_course(session, course)

        await self.database.in_transaction(work)
        return course

    async def release_course(self, course: Document, by: str) -> Document:
        """Let a course's held emails go out, and every later one at once. Releasing twice is
        harmless: the first release stands."""

        async def work(session: Session) -> Document:
            existing = await self.store.release_of(course["_id"], session)
            if existing is not None:
                return existing
            release: Document = {"_id": course["_id"], "released_at": now(), "released_by": by}
            await self.store.insert_release(session, release)
            event = new_event(
                CourseReleasedV1(
                    course_id=course["_id"], released_at=release["released_at"], released_by=by
                ),
                source=SOURCE,
                subject=course["_id"],
            )
            await outbox.add(session, self.database, topics.COURSE_RELEASED, event)
            return release

        return await self.database.in_transaction(work)

    async def close_course(self, course: Document, partner_ids: list[str]) -> list[Document]:
        """Declare these partners' attendance on `course` final. Each partner's coordinator gets
        a summary once its certificates are out. Closing twice is harmless: the first stands."""
        partners = {p: await self.store.partner(p) for p in partner_ids}

        async def work(session: Session) -> list[Document]:
            closures = []
            for partner_id in partner_ids:
                existing = await self.store.closure(course["_id"], partner_id, session)
                if existing is not None:
                    closures.append(existing)
                    continue
                partner = partners.get(partner_id) or {}
                closure: Document = {
                    "_id": f"{course['_id']}:{partner_id}",
                    "course_id": course["_id"],
                    "partner_id": partner_id,
                    "expected_certificates": await self.store.count_completed(
                        course["_id"], partner_id, session
                    ),
                    "summary_to": partner.get("contact_email"),
                    "closed_at": now(),
                }
                await self.store.insert_closure(session, closure)
                event = new_event(
                    CourseClosedV1(
                        course_id=course["_id"],
                        partner_id=partner_id,
                        partner_name=partner.get("name", partner_id),
                        contact_email=closure["summary_to"],
                        expected_certificates=closure["expected_certificates"],
                        course=course_snapshot(course),
                        closed_at=closure["closed_at"],
                    ),
                    source=SOURCE,
                    subject=course["_id"],
                )
                await outbox.add(session, self.database, topics.COURSE_CLOSED, event)
                closures.append(closure)
            return closures

        return await self.database.in_transaction(work)

    # enrolments ----------------------------------------------------------------------
    async def enrol(
        self, course: Document, partner_id: str, body: EnrolmentIn
    ) -> tuple[Document, bool]:
        """Enrol one trainee; returns (enrolment, created). The same external_ref again returns
        the existing enrolment."""
        doc = self._new_enrolment(course, partner_id, body)
        try:
            if course.get("confirm_enrolments"):
                confirmation = await self._confirmation(course, partner_id)

                async def work(session: Session) -> None:
                    await self.store.insert_enrolments(session, [doc])
                    await confirmation(session, [doc])

                await self.database.in_transaction(work)
            else:
                # No event to write, so one insert is atomic on its own: no transaction, and so
                # no wait behind the transactions this process serialises for the embedded
                # server.
                await self.store.insert_enrolment(doc)
        except DuplicateKeyError:
            ref = body.external_ref
            existing = await self.store.enrolment_by_ref(partner_id, course["_id"], ref)
            if existing is None:  # enrolments are never deleted: the one that refused is there
                raise
            return existing, False
        return doc, True

    async def _enrol_batch(
        self, course: Document, partner_id: str, rows: list[EnrolmentIn], result: EnrolResult
    ) -> None:
        async def work(session: Session, look_up: bool) -> tuple[int, int]:
            known: set[str] = set()
            if look_up:
                refs = [row.external_ref for row in rows]
                found = await self.store.enrolments_by_ref(session, partner_id, course["_id"], refs)
                known = {doc["external_ref"] for doc in found}
            fresh: dict[str, Document] = {}
            for row in rows:
                if row.external_ref not in known and row.external_ref not in fresh:
                    fresh[row.external_ref] = self._new_enrolment(course, partner_id, row)
            await self.store.insert_enrolments(session, list(fresh.values()))
            if confirmation is not None:
                await confirmation(session, list(fresh.values()))
            return len(fresh), len(rows) - len(fresh)

        confirmation = (
            await self._confirmation(course, partner_id)
            if course.get("confirm_enrolments")
            else None
        )

        # Most rows are new trainees, so the first attempt inserts without looking anyone up (a
        # `$in` over refs is a collection scan on the embedded server): the unique index on
        # (partner, course, external_ref) refuses the batch if anyone was already enrolled. The
        # last attempt covers a concurrent request enrolling some refs between look-up and insert.
        attempts = (False, True, True)
        for attempt, look_up in enumerate(attempts, start=1):
            try:
                accepted, duplicates = await self.database.in_transaction(
                    partial(work, look_up=look_up)
                )
                break
            except (BulkWriteError, DuplicateKeyError):
                if attempt == len(attempts):
                    raise
        result.accepted += accepted
        result.duplicates += duplicates

    async def _confirmation(
        self, course: Document, partner_id: str
    ) -> Callable[[Session, list[Document]], Awaitable[None]]:
        """What announces new enrolments of a course that confirms them by email."""
        partner = await self.store.partner(partner_id)
        snapshot = course_snapshot(course)

        async def announce(session: Session, enrolments: list[Document]) -> None:
            for enrolment in enrolments:
                event = new_event(
                    EnrolmentRegisteredV1(
                        enrolment_id=enrolment["_id"],
                        partner_id=partner_id,
                        partner_name=partner["name"] if partner else None,
                        external_ref=enrolment["external_ref"],
                        holder=holder_of(enrolment),
                        course=snapshot,
                    ),
                    source=SOURCE,
                    subject=enrolment["_id"],
                )
                await outbox.add(session, self.database, topics.ENROLMENT_REGISTERED, event)

        return announce

    @staticmethod
    def _new_enrolment(course: Document, partner_id: str, row: EnrolmentIn) -> Document:
        at = now()
        fields = row.model_dump(mode="json")
        return {
            "_id": new_id(),
            "course_id": course["_id"],
            "partner_id": partner_id,
            **fields,
            "email_key": email_key(fields["email"]),
            "status": Status.ENROLLED.value,
            "certificate_number": None,
            "history": [{"status": Status.ENROLLED.value, "at": at, "cause": "enrolled"}],
            "created_at": at,
        }

    async def bulk_enrol(
        self, course: Document, partner_id: str, rows: AsyncIterator[Row]
    ) -> BulkOutcome:
        """Validate rows as they stream in and enrol the good ones one transaction-sized batch
        at a time; a bad row is reported and never stops the others."""
        outcome = BulkOutcome()
        batch: list[EnrolmentIn] = []
        # One batch is written while the next is read and validated: the database works in
        # another process, so the two overlap. Never more than one in flight: memory stays flat.
        writing: asyncio.Task[None] | None = None

        async def write(rows: list[EnrolmentIn]) -> None:
            nonlocal writing
            if writing is not None:
                await writing
            writing = asyncio.create_task(
                self._enrol_batch(course, partner_id, rows, outcome.enrolled)
            )

        try:
            async for row in rows:
                outcome.rows += 1
                try:
                    if row.problem is not None:
                        raise ValueError(row.problem)
                    batch.append(EnrolmentIn.model_validate(row.fields))
                except ValidationError as error:
                    outcome.reject(row, field_errors(list(error.errors())))
                except ValueError as error:
                    outcome.reject(row, [{"field": "row", "message": str(error)}])
                if len(batch) >= BULK_BATCH:
                    await write(batch)
                    batch = []
            if batch:
                await write(batch)
        finally:
            # Also when the upload turns out unreadable: what was read before stays enrolled.
            if writing is not None:
                await writing
        return outcome

    # attendance and completion ---------------------------------------------------------
    async def record_attendance(
        self, course: Document, partner_id: str, day: date, refs: list[str]
    ) -> AttendanceOutcome:
        """Record who was present on one session day. Refs of other partners are as unknown as
        refs that never existed: a partner learns nothing about another's trainees."""
        sessions = [date.fromisoformat(d) for d in course["sessions"]]
        wanted = list(dict.fromkeys(refs))
        step = Step(f"attendance on {day.isoformat()}")

        async def work(session: Session) -> AttendanceOutcome:
            found = await self.store.enrolments_by_ref(session, partner_id, course["_id"], wanted)
            by_ref = {doc["external_ref"]: doc for doc in found}
            outcome = AttendanceOutcome(unknown=[ref for ref in wanted if ref not in by_ref])
            for ref in wanted:
                enrolment = by_ref.get(ref)
                if enrolment is None:
                    continue
                if enrolment["status"] == Status.WITHDRAWN.value:
                    outcome.withdrawn.append(ref)
                    continue
                if not await self.store.record_attendance(session, enrolment, day):
                    continue
                outcome.recorded += 1
                attended = await self.store.attended(enrolment["_id"], session)
                if enrolment["status"] == Status.ENROLLED.value and domain.meets_completion_rule(
                    attended, sessions, course["min_sessions"]
                ):
                    await self._complete(session, course, enrolment, attended, step)
                    outcome.completed += 1
            return outcome

        return await self.database.in_transaction(work)

    async def complete(self, enrolment: Document) -> Document:
        """Explicit completion (an online course, a trainer's decision). Idempotent."""

        async def work(session: Session) -> Document:
            current = await self.store.enrolment(enrolment["_id"], session)
            assert current is not None
            if current["status"] != Status.ENROLLED.value:
                return current
            course = await self.store.course(current["course_id"])
            assert course is not None
            attended = await self.store.attended(current["_id"], session)
            await self._complete(session, course, current, attended, Step("completed explicitly"))
            return current

        return await self.database.in_transaction(work)

    async def _complete(
        self,
        session: Session,
        course: Document,
        enrolment: Document,
        attended: list[date],
        step: Step,
    ) -> None:
        completed_on = domain.completion_date(attended) if attended else now().date()
        event = new_event(
            EnrolmentCompletedV1(
                enrolment_id=enrolment["_id"],
                partner_id=enrolment["partner_id"],
                external_ref=enrolment["external_ref"],
                holder=holder_of(enrolment),
                course=course_snapshot(course),
                completed_on=completed_on,
                attended_sessions=attended,
            ),
            source=SOURCE,
            subject=enrolment["_id"],
        )
        await self.store.move(
            session,
            enrolment,
            Status.COMPLETED,
            Step(step.cause, event_id=event.id, event_type=event.type),
        )
        await outbox.add(session, self.database, topics.ENROLMENT_COMPLETED, event)

    # withdrawal and corrections ----------------------------------------------------------
    async def withdraw(self, enrolment_id: str, by: str) -> Document:
        """Withdraw before completion; withdrawing twice is harmless."""

        async def work(session: Session) -> Document:
            current = await self.store.enrolment(enrolment_id, session)
            assert current is not None
            status = Status(current["status"])
            problem = domain.withdrawal_problem(status)
            if problem is not None:
                raise Problem(409, problem)
            if status is not Status.WITHDRAWN:
                await self.store.move(
                    session, current, Status.WITHDRAWN, Step(f"withdrawn by {by}")
                )
            return current

        return await self.database.in_transaction(work)

    async def correct(self, enrolment_id: str, patch: EnrolmentPatch) -> Document:
        """Fix a misspelt name or a mistyped email. Once completed, the correction is announced
        as `enrolment.corrected`, so the certificate can be issued again with the right name."""
        requested = patch.model_dump(mode="json", include=patch.model_fields_set)

        async def work(session: Session) -> Document:
            current = await self.store.enrolment(enrolment_id, session)
            assert current is not None
            status = Status(current["status"])
            if status is Status.WITHDRAWN:
                raise Problem(409, "A withdrawn enrolment cannot be corrected.")
            changes = domain.changed_fields(current, requested)
            if not changes:
                return current
            at = now()
            correction: Document = {
                "at": at,
                "changes": {
                    name: {"before": current.get(name), "after": value}
                    for name, value in changes.items()
                },
            }
            if domain.correction_needs_reissue(status):
                merged = {**current, **changes}
                event = new_event(
                    EnrolmentCorrectedV1(
                        enrolment_id=enrolment_id,
                        partner_id=current["partner_id"],
                        holder=holder_of(merged),
                        corrected_fields=sorted(changes),
                        corrected_at=at,
                    ),
                    source=SOURCE,
                    subject=enrolment_id,
                )
                correction["event_id"] = event.id
                await outbox.add(session, self.database, topics.ENROLMENT_CORRECTED, event)
            await self.store.correct(session, current, changes, correction)
            return current

        return await self.database.in_transaction(work)

    # what the other services report ----------------------------------------------------
    async def certified(
        self, session: Session, enrolment_id: str, number: str, replaces: str | None, step: Step
    ) -> None:
        """A certificate was issued; a reissue (after a correction) moves a certified or
        notified enrolment back to `certified` with the new number, until its email is out."""
        enrolment = await self.store.enrolment(enrolment_id, session)
        if enrolment is None:
            return
        if replaces is not None and domain.takes_reissue(Status(enrolment["status"])):
            await self.store.move(
                session, enrolment, Status.CERTIFIED, step, certificate_number=number
            )
            return
        await self.follow(session, enrolment_id, Status.CERTIFIED, step, certificate_number=number)

    async def notified(self, session: Session, enrolment_id: str, number: str, step: Step) -> None:
        """The email of certificate `number` was sent: the enrolment is notified unless that
        certificate has been superseded meanwhile (its email is then not the last word)."""
        enrolment = await self.store.enrolment(enrolment_id, session)
        if enrolment is None or enrolment.get("certificate_number") not in (None, number):
            return
        await self.follow(session, enrolment_id, Status.NOTIFIED, step)

    async def email_failed(
        self, session: Session, enrolment_id: str, number: str, step: Step
    ) -> None:
        """The email of certificate `number` could not be delivered: the timeline says so (the
        status stays `certified`; the admin can resend once the address is corrected)."""
        enrolment = await self.store.enrolment(enrolment_id, session)
        if enrolment is None or enrolment.get("certificate_number") not in (None, number):
            return
        await self.store.note(session, enrolment, step)

    async def follow(
        self, session: Session, enrolment_id: str, status: Status, step: Step, **fields: Any
    ) -> None:
        enrolment = await self.store.enrolment(enrolment_id, session)
        if enrolment is None:
            return
        if domain.can_move(Status(enrolment["status"]), status):
            await self.store.move(session, enrolment, status, step, **fields)
        elif fields:
            await self.store.enrolments.update_one(
                {"_id": enrolment_id}, {"$set": fields}, session=session
            )


@dataclass
class EnrolResult:
    accepted: int = 0
    duplicates: int = 0


@dataclass
class BulkOutcome:
    rows: int = 0
    rejected_total: int = 0
    rejected: list[RowError] = field(default_factory=list)
    enrolled: EnrolResult = field(default_factory=EnrolResult)

    def reject(self, row: Row, errors: list[dict[str, str]]) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REPORTED_ROWS:
            ref = row.fields.get("external_ref")
            self.rejected.append(
                RowError(row=row.number, external_ref=str(ref) if ref else None, errors=errors)
            )


@dataclass
class AttendanceOutcome:
    recorded: int = 0
    completed: int = 0
    unknown: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)


def holder_of(enrolment: Document) -> Holder:
    return Holder(
        full_name=enrolment["full_name"],
        email=enrolment["email"],
        position=enrolment.get("position"),
        organisation=enrolment.get("organisation"),
    )


def course_snapshot(course: Document) -> CourseSnapshot:
    return CourseSnapshot.model_validate({**course, "id": course["_id"]})

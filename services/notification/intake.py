"""What arrives from Kafka becomes deliveries in MongoDB before anything is sent.

Consuming an event only writes records (in one transaction with the processed-event marker),
so the offset is committed in milliseconds whatever the mail server is doing: a slow or broken
mail server never holds up a partition, and no retry lives only in a consumer's memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.notification.course_summary import summarise, summary_due
from services.notification.delivery_status import Status
from services.notification.store import FAR_FUTURE, NotificationStore
from shared import correlation, tracing
from shared.consuming import process_once
from shared.events import (
    CertificateIssuedV1,
    CourseClosedV1,
    CourseReleasedV1,
    CourseSnapshot,
    EnrolmentRegisteredV1,
    Envelope,
)
from shared.mongo import Document, Session

CONSUMER = "notification"


def certificate_delivery_id(number: str) -> str:
    return f"certificate:{number}"


def closure_id(course_id: str, partner_id: str) -> str:
    return f"{course_id}:{partner_id}"


def new_delivery(
    delivery_id: str, kind: str, course: CourseSnapshot, now: float, *, held: bool, **fields: Any
) -> Document:
    """A delivery record as it starts: held with its course, or due at once."""
    return {
        "_id": delivery_id,
        "kind": kind,
        "status": Status.HELD if held else Status.PENDING,
        "due": FAR_FUTURE if held else now,
        "queued_epoch": now,
        "course_id": course.id,
        "language": course.language,
        "copy_to": [],
        "attempts": 0,
        "resends": 0,
        "claim": "",
        "data_started": False,
        "last_error": "",
        "created_at": datetime.now(UTC),
        "created_epoch": now,
        **fields,
    }


class Intake:
    def __init__(
        self,
        store: NotificationStore,
        wake: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.database = store.database
        self.wake = wake
        self.clock = clock

    async def certificate_issued(self, event: Envelope[CertificateIssuedV1]) -> None:
        """One email per certificate version: the certificate number is the delivery's key."""
        issued = event.data
        await self._queue(
            event.id,
            certificate_delivery_id(issued.certificate_number),
            "reissue" if issued.replaces else "certificate",
            issued.course,
            issued.model_dump_json(),
            enrolment_id=issued.enrolment_id,
            certificate_number=issued.certificate_number,
            partner_id=issued.partner_id,
            to=issued.holder.email,
            full_name=issued.holder.full_name,
            copy_to=list(issued.course.copy_to),
        )

    async def enrolment_registered(self, event: Envelope[EnrolmentRegisteredV1]) -> None:
        """One confirmation per enrolment."""
        registered = event.data
        await self._queue(
            event.id,
            f"confirmation:{registered.enrolment_id}",
            "confirmation",
            registered.course,
            registered.model_dump_json(),
            enrolment_id=registered.enrolment_id,
            partner_id=registered.partner_id,
            to=registered.holder.email,
            full_name=registered.holder.full_name,
        )

    async def course_closed(self, event: Envelope[CourseClosedV1]) -> None:
        closed = event.data

        async def work(session: Session) -> None:
            await self.store.add_closure(
                session,
                {
                    "_id": closure_id(closed.course_id, closed.partner_id),
                    "expected": closed.expected_certificates,
                    "event": closed.model_dump(mode="json"),
                    "summary": "waiting",
                },
            )

        await process_once(self.database, CONSUMER, event.id, work)
        await self.check_summary(closed.course_id, closed.partner_id)

    async def check_summary(self, course_id: str, partner_id: str) -> None:
        """Queue the coordinator's summary once the partner's certificate emails are all out;
        called after each of them finishes. Once per closure: the summary is a delivery keyed
        by course and partner, queued in the transaction that marks the closure summarised."""
        key = closure_id(course_id, partner_id)
        if not await self.store.awaits_summary(key):
            return  # the usual case, answered without a transaction

        async def work(session: Session) -> bool:
            closure = await self.store.closure(session, key)
            if closure is None or closure.get("summary") != "waiting":
                return False
            deliveries = await self.store.certificate_deliveries(session, course_id, partner_id)
            if not summary_due(int(closure["expected"]), deliveries):
                return False
            closed = CourseClosedV1.model_validate(closure["event"])
            if not closed.contact_email:
                await self.store.mark_summarised(session, key, "no contact email")
                return False
            summary = summarise(
                closed.course, closed.partner_name, closed.contact_email, deliveries
            )
            delivery = new_delivery(
                f"summary:{key}",
                "summary",
                closed.course,
                self.clock(),
                held=False,
                partner_id=partner_id,
                to=closed.contact_email,
                full_name=closed.partner_name,
            )
            await self.store.add(session, delivery, summary.model_dump_json())
            await self.store.mark_summarised(session, key, "queued")
            return True

        if await self.database.in_transaction(work):
            self.wake()

    async def _queue(
        self,
        event_id: str,
        delivery_id: str,
        kind: str,
        course: CourseSnapshot,
        content: str,
        **fields: Any,
    ) -> None:
        """A delivery for `content`, held while its course holds emails and is not released."""

        async def work(session: Session) -> None:
            if await self.store.exists(session, delivery_id):
                return
            held = course.hold_emails and not await self.store.is_released(session, course.id)
            delivery = new_delivery(
                delivery_id,
                kind,
                course,
                self.clock(),
                held=held,
                event_id=event_id,
                # The sender, later and in another task, goes on with this event's trace and id.
                correlation_id=correlation.current(),
                trace=tracing.carrier(),
                **fields,
            )
            await self.store.add(session, delivery, content)

        if await process_once(self.database, CONSUMER, event_id, work):
            self.wake()

    async def course_released(self, event: Envelope[CourseReleasedV1]) -> None:
        released = event.data

        async def work(session: Session) -> None:
            await self.store.release(
                session, released.course_id, released.released_at, self.clock()
            )

        if await process_once(self.database, CONSUMER, event.id, work):
            self.wake()

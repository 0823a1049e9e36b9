"""Delivering a certificate email exactly once per certificate, as far as SMTP allows.

1. Claim: in a transaction, skip if the delivery is already `sent` or `failed`; otherwise
   mark it `sending` and count the attempt.
2. Send over SMTP.
3. Finalise: in a transaction, mark it `sent` (or `failed` for a permanent refusal), record the
   event as processed, and emit `notification.sent` / `notification.failed` through the outbox.

The one window left: a crash after the server accepted the message and before step 3 commits.
The event is then redelivered, finds the delivery `sending`, and sends again — at most one
duplicate, and only in that crash. A temporary failure (4xx, server down) leaves the delivery
`sending` and the event uncommitted, so it is retried later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from services.notification.mailer import (
    CertificateMail,
    PermanentDeliveryFailure,
    SmtpConfig,
    TemporaryDeliveryFailure,
    recipients,
    send,
)
from services.notification.store import NotificationStore
from shared import outbox, topics
from shared.consuming import InfrastructureUnavailable, process_once
from shared.events import (
    CertificateIssuedV1,
    Envelope,
    NotificationFailedV1,
    NotificationSentV1,
    new_event,
)
from shared.mongo import Session

log = logging.getLogger(__name__)
SOURCE = "attesta/notification"
CONSUMER = "notification"
FINISHED = ("sent", "failed")


class Deliverer:
    def __init__(self, store: NotificationStore, mail: CertificateMail, smtp: SmtpConfig) -> None:
        self.store = store
        self.database = store.database
        self.mail = mail
        self.smtp = smtp

    async def deliver(self, event: Envelope[CertificateIssuedV1]) -> None:
        issued = event.data
        number = issued.certificate_number

        async def claim(session: Session) -> bool:
            current = await self.store.delivery(number, session)
            if current is not None and current["status"] in FINISHED:
                return False
            await self.store.save(
                session,
                number,
                {
                    "status": "sending",
                    "attempts": (current or {}).get("attempts", 0) + 1,
                    "claimed_at": datetime.now(UTC),
                },
                first_time={
                    "enrolment_id": issued.enrolment_id,
                    "to": issued.holder.email,
                    "certificate_number": number,
                    "created_at": datetime.now(UTC),
                    "sent_at": None,
                    "last_error": None,
                },
            )
            return True

        if not await self.database.in_transaction(claim):
            await process_once(self.database, CONSUMER, event.id, _nothing)
            return

        message = self.mail.compose(issued)
        try:
            await send(message, self.smtp)
        except TemporaryDeliveryFailure as error:
            reason = str(error)

            async def note(session: Session) -> None:
                await self.store.save(session, number, {"last_error": reason})

            await self.database.in_transaction(note)
            raise InfrastructureUnavailable(f"mail server: {reason}") from error
        except PermanentDeliveryFailure as error:
            await self._finish(event, "failed", error=str(error))
            return
        await self._finish(
            event, "sent", message_id=str(message["Message-ID"]), sent_to=recipients(message)
        )

    async def _finish(
        self,
        event: Envelope[CertificateIssuedV1],
        status: str,
        *,
        error: str | None = None,
        message_id: str | None = None,
        sent_to: list[str] | None = None,
    ) -> None:
        issued = event.data
        at = datetime.now(UTC)

        async def work(session: Session) -> None:
            if status == "sent":
                await self.store.save(
                    session,
                    issued.certificate_number,
                    {
                        "status": "sent",
                        "sent_at": at,
                        "message_id": message_id,
                        "recipients": sent_to,
                        "last_error": None,
                    },
                )
                outgoing = new_event(
                    NotificationSentV1(
                        enrolment_id=issued.enrolment_id,
                        certificate_number=issued.certificate_number,
                        to=issued.holder.email,
                        sent_at=at,
                    ),
                    source=SOURCE,
                    subject=issued.enrolment_id,
                )
                await outbox.add(session, self.database, topics.NOTIFICATION_SENT, outgoing)
            else:
                await self.store.save(
                    session,
                    issued.certificate_number,
                    {"status": "failed", "failed_at": at, "last_error": error},
                )
                failed = new_event(
                    NotificationFailedV1(
                        enrolment_id=issued.enrolment_id,
                        certificate_number=issued.certificate_number,
                        to=issued.holder.email,
                        error=error or "",
                        failed_at=at,
                    ),
                    source=SOURCE,
                    subject=issued.enrolment_id,
                )
                await outbox.add(session, self.database, topics.NOTIFICATION_FAILED, failed)

        await process_once(self.database, CONSUMER, event.id, work)
        log.info("certificate %s email %s", issued.certificate_number, status)


async def _nothing(_: Session) -> None:
    return None

"""Issuing and revoking certificates: number, code, PDF, and the event, in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from typst import TypstError

from services.certification import domain
from services.certification.domain import CertificateStatus
from services.certification.render import CertificateContent, CertificateRenderer
from services.certification.store import CertificationStore
from shared import outbox, topics
from shared.consuming import PoisonEvent
from shared.events import CertificateIssuedV1, CertificateRevokedV1, EnrolmentCompletedV1, new_event
from shared.mongo import Document, Session

SOURCE = "attesta/certification"


class Issuer:
    def __init__(
        self, store: CertificationStore, renderer: CertificateRenderer, public_base_url: str
    ) -> None:
        self.store = store
        self.database = store.database
        self.renderer = renderer
        self.public_base_url = public_base_url.rstrip("/")

    def verification_url(self, code: str) -> str:
        return f"{self.public_base_url}/verify/{code}"

    async def issue(self, session: Session, completed: EnrolmentCompletedV1) -> Document | None:
        """Issue the enrolment's certificate, unless it has one: a replayed or repeated
        completion never makes a second certificate."""
        if await self.store.for_enrolment(session, completed.enrolment_id) is not None:
            return None
        issued_on = completed.completed_on
        prefix = domain.number_prefix(completed.course.code)
        sequence = await self.store.next_sequence(
            session, domain.series_key(prefix, issued_on.year)
        )
        number = domain.format_number(prefix, issued_on.year, sequence)
        code = domain.new_verification_code()
        content = CertificateContent(
            number=number,
            holder=completed.holder.full_name,
            course=completed.course,
            issued_on=issued_on,
            valid_until=domain.valid_until(issued_on, completed.course.validity_months),
            verification_url=self.verification_url(code),
        )
        try:
            pdf = await asyncio.to_thread(self.renderer.render, content)
        except TypstError as error:
            # The course's data cannot be typeset (e.g. a broken logo): retrying cannot help.
            raise PoisonEvent(f"certificate cannot be rendered: {error.message}") from error
        certificate: dict[str, Any] = {
            "_id": number,
            "enrolment_id": completed.enrolment_id,
            "partner_id": completed.partner_id,
            "verification_code": code,
            "holder": completed.holder.model_dump(mode="json"),
            "course": completed.course.model_dump(mode="json"),
            "issued_on": issued_on.isoformat(),
            "valid_until": content.valid_until.isoformat() if content.valid_until else None,
            "status": CertificateStatus.VALID.value,
            "created_at": datetime.now(UTC),
            "pdf": pdf,
        }
        await self.store.insert(session, certificate)
        event = new_event(
            CertificateIssuedV1(
                certificate_number=number,
                verification_code=code,
                verification_url=content.verification_url,
                enrolment_id=completed.enrolment_id,
                partner_id=completed.partner_id,
                holder=completed.holder,
                course=completed.course,
                issued_on=issued_on,
                pdf_base64=CertificateIssuedV1.encode_pdf(pdf),
            ),
            source=SOURCE,
            subject=completed.enrolment_id,
        )
        await outbox.add(session, self.database, topics.CERTIFICATE_ISSUED, event)
        return certificate

    async def revoke(self, number: str, reason: str) -> Document | None:
        async def work(session: Session) -> Document | None:
            certificate = await self.store.by_number(number, session=session)
            if certificate is None or certificate["status"] == CertificateStatus.REVOKED.value:
                return certificate
            at = await self.store.revoke(session, number, reason)
            event = new_event(
                CertificateRevokedV1(
                    certificate_number=number,
                    enrolment_id=certificate["enrolment_id"],
                    reason=reason,
                    revoked_at=at,
                ),
                source=SOURCE,
                subject=certificate["enrolment_id"],
            )
            await outbox.add(session, self.database, topics.CERTIFICATE_REVOKED, event)
            return await self.store.by_number(number, session=session)

        return await self.database.in_transaction(work)

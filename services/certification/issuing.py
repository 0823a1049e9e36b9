"""Issuing and revoking certificates: number, code, PDF, and the event, in one transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from typst import TypstError

from services.certification import domain, status_lists
from services.certification.domain import CertificateStatus
from services.certification.keyring import Keyring
from services.certification.render import CertificateContent, CertificateRenderer
from services.certification.store import STATUS_SERIES, CertificationStore
from shared import outbox, topics
from shared.consuming import PoisonEvent
from shared.events import (
    CertificateIssuedV1,
    CertificateRevokedV1,
    CourseSnapshot,
    EnrolmentCompletedV1,
    EnrolmentCorrectedV1,
    Holder,
    new_event,
)
from shared.mongo import Document, Session

SOURCE = "attesta/certification"


@dataclass(frozen=True)
class Grant:
    """What one certificate version says, and about whom."""

    enrolment_id: str
    partner_id: str
    holder: Holder
    course: CourseSnapshot
    issued_on: date
    version: int = 1
    replaces: str | None = None


class Issuer:
    def __init__(
        self,
        store: CertificationStore,
        renderer: CertificateRenderer,
        keyring: Keyring,
        public_base_url: str,
    ) -> None:
        self.store = store
        self.database = store.database
        self.renderer = renderer
        self.keyring = keyring
        self.public_base_url = public_base_url.rstrip("/")

    def verification_url(self, code: str) -> str:
        return f"{self.public_base_url}/verify/{code}"

    def content(self, certificate: Document) -> CertificateContent:
        """What the PDF of a stored certificate prints. Rendering it again gives the same bytes
        (the renderer is deterministic), which is how a lost PDF would be recovered."""
        valid_until = certificate.get("valid_until")
        return CertificateContent(
            number=certificate["_id"],
            holder=certificate["holder"]["full_name"],
            course=CourseSnapshot.model_validate(certificate["course"]),
            issued_on=date.fromisoformat(certificate["issued_on"]),
            valid_until=date.fromisoformat(valid_until) if valid_until else None,
            verification_url=self.verification_url(certificate["verification_code"]),
            replaces=certificate.get("replaces"),
            signature=certificate.get("signature"),
        )

    async def issue(self, session: Session, completed: EnrolmentCompletedV1) -> Document | None:
        """Issue the enrolment's certificate, unless it has one: a replayed or repeated
        completion never makes a second certificate. A correction that arrived first (it
        travels on another topic) is applied: the certificate carries the corrected name."""
        if await self.store.latest_for(session, completed.enrolment_id) is not None:
            return None
        holder = completed.holder
        correction = await self.store.pending_correction(session, completed.enrolment_id)
        if correction is not None:
            holder = Holder.model_validate(correction["holder"])
        return await self._issue(
            session,
            Grant(
                enrolment_id=completed.enrolment_id,
                partner_id=completed.partner_id,
                holder=holder,
                course=completed.course,
                issued_on=completed.completed_on,
            ),
        )

    async def correct(self, session: Session, corrected: EnrolmentCorrectedV1) -> Document | None:
        """Reissue the enrolment's certificate for a corrected name or email: a new version
        with a new number supersedes the old one, in one transaction, so there are never two
        valid certificates of one enrolment. Returns the new version, if one was issued."""
        current = await self.store.latest_for(session, corrected.enrolment_id)
        if current is None:
            await self._keep_for_later(session, corrected)
            return None
        if not domain.reissue_needed(
            CertificateStatus(current["status"]), current["holder"], corrected.holder
        ):
            return None
        grant = Grant(
            enrolment_id=current["enrolment_id"],
            partner_id=current["partner_id"],
            holder=corrected.holder,
            course=CourseSnapshot.model_validate(current["course"]),
            # The date the training was completed, as the first version says; only the
            # holder's details change.
            issued_on=date.fromisoformat(current["issued_on"]),
            version=int(current.get("version", 1)) + 1,
            replaces=current["_id"],
        )
        reissued = await self._issue(session, grant)
        await self.store.supersede(session, current["_id"], by=reissued["_id"])
        return reissued

    async def _keep_for_later(self, session: Session, corrected: EnrolmentCorrectedV1) -> None:
        kept = await self.store.pending_correction(session, corrected.enrolment_id)
        if kept is None or kept["corrected_at"] <= corrected.corrected_at:
            holder = corrected.holder.model_dump(mode="json")
            await self.store.keep_correction(
                session, corrected.enrolment_id, holder, corrected.corrected_at
            )

    async def _issue(self, session: Session, grant: Grant) -> Document:
        prefix = domain.number_prefix(grant.course.code)
        year = grant.issued_on.year
        sequence = await self.store.next_sequence(session, domain.series_key(prefix, year))
        number = domain.format_number(prefix, year, sequence)
        code = domain.new_verification_code()
        status = status_lists.entry_for(await self.store.next_sequence(session, STATUS_SERIES))
        valid_until = domain.valid_until(grant.issued_on, grant.course.validity_months)
        certificate: dict[str, Any] = {
            "_id": number,
            "enrolment_id": grant.enrolment_id,
            "partner_id": grant.partner_id,
            "version": grant.version,
            "replaces": grant.replaces,
            "verification_code": code,
            "holder": grant.holder.model_dump(mode="json"),
            "course": grant.course.model_dump(mode="json"),
            "issued_on": grant.issued_on.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "status": CertificateStatus.VALID.value,
            # Its bit in the published status lists: set once it is revoked or superseded.
            "status_entry": {"list": status.list_id, "index": status.index},
            "created_at": datetime.now(UTC),
        }
        certificate["signature"] = self.keyring.sign(domain.signed_claims(certificate))
        content = self.content(certificate)
        try:
            pdf = await asyncio.to_thread(self.renderer.render, content)
        except TypstError as error:
            # The course's data cannot be typeset (e.g. a broken logo): retrying cannot help.
            raise PoisonEvent(f"certificate cannot be rendered: {error.message}") from error
        await self.store.insert(session, certificate, pdf)
        event = new_event(
            CertificateIssuedV1(
                certificate_number=number,
                verification_code=code,
                verification_url=content.verification_url,
                enrolment_id=grant.enrolment_id,
                partner_id=grant.partner_id,
                holder=grant.holder,
                course=grant.course,
                issued_on=grant.issued_on,
                pdf_base64=CertificateIssuedV1.encode_pdf(pdf),
                version=grant.version,
                replaces=grant.replaces,
            ),
            source=SOURCE,
            subject=grant.enrolment_id,
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

"""Issuing and reissuing certificates against the real database: a correction makes a new
version that supersedes the old one, never a second valid certificate."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader

from services.certification.domain import signed_claims
from services.certification.issuing import Issuer
from shared import signatures
from shared.events import EnrolmentCompletedV1, EnrolmentCorrectedV1, Holder
from shared.mongo import Document, Session
from tests.unit.samples import course

FIRST = Holder(full_name="Ivan Petorv", email="ivan@example.bg")
FIXED = Holder(full_name="Иван Петров", email="ivan.petrov@example.bg")


def completed(enrolment_id: str, holder: Holder = FIRST) -> EnrolmentCompletedV1:
    return EnrolmentCompletedV1(
        enrolment_id=enrolment_id,
        partner_id="p1",
        external_ref="r1",
        holder=holder,
        course=course(),
        completed_on=date(2002, 9, 11),
    )


def corrected(enrolment_id: str, holder: Holder = FIXED, minutes: int = 0) -> EnrolmentCorrectedV1:
    return EnrolmentCorrectedV1(
        enrolment_id=enrolment_id,
        partner_id="p1",
        holder=holder,
        corrected_fields=["email", "full_name"],
        corrected_at=datetime(2002, 9, 12, 9, tzinfo=UTC) + timedelta(minutes=minutes),
    )


async def issue(issuer: Issuer, enrolment_id: str) -> Document | None:
    async def work(session: Session) -> Document | None:
        return await issuer.issue(session, completed(enrolment_id))

    return await issuer.database.in_transaction(work)


async def correct(issuer: Issuer, enrolment_id: str) -> Document | None:
    async def work(session: Session) -> Document | None:
        return await issuer.correct(session, corrected(enrolment_id))

    return await issuer.database.in_transaction(work)


async def certificates_of(issuer: Issuer, enrolment_id: str) -> list[Document]:
    found = issuer.store.certificates.find({"enrolment_id": enrolment_id}).sort("version", 1)
    return [doc async for doc in found]


async def pdf_text(issuer: Issuer, certificate: Document) -> str:
    pdf = await issuer.store.pdf_of(certificate["_id"])
    assert pdf is not None
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(page.extract_text() for page in reader.pages)


async def test_a_correction_reissues_a_new_version_that_supersedes_the_first(
    issuer: Issuer,
) -> None:
    enrolment_id = uuid.uuid4().hex

    first = await issue(issuer, enrolment_id)
    second = await correct(issuer, enrolment_id)

    assert first is not None and second is not None
    old, new = await certificates_of(issuer, enrolment_id)
    assert (old["_id"], new["_id"]) == (first["_id"], second["_id"])
    assert old["status"] == "superseded" and old["superseded"]["by"] == new["_id"]
    assert (new["status"], new["version"], new["replaces"]) == ("valid", 2, old["_id"])
    assert new["_id"] != old["_id"] and new["verification_code"] != old["verification_code"]
    assert new["holder"]["full_name"] == "Иван Петров"
    assert new["issued_on"] == old["issued_on"]  # the training was completed when it was
    text = await pdf_text(issuer, new)
    assert "Иван Петров" in text and old["_id"] in text
    keys = await issuer.keyring.public_keys()
    assert signatures.verify(new["signature"], keys).claims == signed_claims(new)
    assert signatures.verify(old["signature"], keys).claims["holder"] == "Ivan Petorv"


async def test_a_replayed_correction_or_completion_issues_nothing_more(issuer: Issuer) -> None:
    enrolment_id = uuid.uuid4().hex

    await issue(issuer, enrolment_id)
    await correct(issuer, enrolment_id)
    assert await correct(issuer, enrolment_id) is None
    assert await issue(issuer, enrolment_id) is None

    statuses = [doc["status"] for doc in await certificates_of(issuer, enrolment_id)]
    assert statuses == ["superseded", "valid"]


async def test_a_revoked_certificate_is_not_reissued_by_a_correction(issuer: Issuer) -> None:
    enrolment_id = uuid.uuid4().hex

    first = await issue(issuer, enrolment_id)
    assert first is not None
    await issuer.revoke(first["_id"], "issued by mistake")

    assert await correct(issuer, enrolment_id) is None
    [only] = await certificates_of(issuer, enrolment_id)
    assert only["status"] == "revoked"


async def test_a_correction_that_arrives_before_the_completion_is_printed_on_the_first_version(
    issuer: Issuer,
) -> None:
    enrolment_id = uuid.uuid4().hex
    older = Holder(full_name="Ivan Petrow", email="ivan@example.bg")

    async def correct_twice_out_of_order(session: Session) -> None:
        await issuer.correct(session, corrected(enrolment_id, FIXED, minutes=5))
        await issuer.correct(session, corrected(enrolment_id, older, minutes=1))

    await issuer.database.in_transaction(correct_twice_out_of_order)
    await issue(issuer, enrolment_id)

    [only] = await certificates_of(issuer, enrolment_id)
    assert (only["version"], only["status"]) == (1, "valid")
    assert only["holder"] == FIXED.model_dump(mode="json")
    assert "Иван Петров" in await pdf_text(issuer, only)

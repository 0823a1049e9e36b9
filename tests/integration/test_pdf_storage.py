"""The PDF as issued is kept byte for byte, apart from the certificate's data, and the stored
data alone draws the very same PDF again."""

from __future__ import annotations

import json

from services.certification.issuing import Issuer
from shared import outbox
from shared.events import CertificateIssuedV1
from tests.integration.test_signing_keys import issue_one


async def test_the_issued_pdf_is_kept_as_emailed_outside_the_certificate_document(
    issuer: Issuer,
) -> None:
    certificate = await issue_one(issuer)

    stored = await issuer.store.certificates.find_one({"_id": certificate["_id"]})
    pdf = await issuer.store.pdf_of(certificate["_id"])

    assert stored is not None and "pdf" not in stored
    assert pdf is not None and pdf.startswith(b"%PDF-")
    [event] = [e async for e in issuer.database.db[outbox.COLLECTION].find({})]
    emailed = CertificateIssuedV1.model_validate(json.loads(event["value"])["data"])
    assert emailed.pdf() == pdf


async def test_the_stored_data_redraws_the_stored_pdf_byte_for_byte(issuer: Issuer) -> None:
    certificate = await issue_one(issuer)
    stored = await issuer.store.by_number(certificate["_id"])
    assert stored is not None

    redrawn = issuer.renderer.render(issuer.content(stored))

    assert redrawn == await issuer.store.pdf_of(certificate["_id"])


async def test_a_certificate_without_a_pdf_on_record_has_none(issuer: Issuer) -> None:
    assert await issuer.store.pdf_of("FRMS-2002-999999") is None


async def test_a_certificate_issued_before_pdfs_had_their_own_collection_keeps_its_pdf(
    issuer: Issuer,
) -> None:
    legacy = {"_id": "FRMS-2002-000007", "status": "valid", "pdf": b"%PDF-1.7 legacy"}
    await issuer.store.certificates.insert_one(legacy)

    assert await issuer.store.pdf_of("FRMS-2002-000007") == b"%PDF-1.7 legacy"

"""Signing keys in the real database: made once, rotated without orphaning old certificates."""

from __future__ import annotations

import io
import uuid
from datetime import date

from pypdf import PdfReader

from services.certification.api import signature_check
from services.certification.domain import signed_claims
from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from shared import signatures
from shared.events import EnrolmentCompletedV1, Holder
from shared.mongo import Database, Document, Session
from tests.unit.samples import course


async def issue_one(issuer: Issuer) -> Document:
    event = EnrolmentCompletedV1(
        enrolment_id=uuid.uuid4().hex,
        partner_id="p1",
        external_ref="k1",
        holder=Holder(full_name="Zofia Wiśniewska", email="zofia@example.pl"),
        course=course(),
        completed_on=date(2002, 9, 11),
    )

    async def work(session: Session) -> Document | None:
        return await issuer.issue(session, event)

    issued = await issuer.database.in_transaction(work)
    assert issued is not None
    return issued


async def test_a_fresh_database_gets_one_key_that_every_instance_then_shares(
    database: Database,
) -> None:
    first, second = Keyring(database), Keyring(database)
    await first.load()
    await second.load()

    assert first.active.kid == second.active.kid
    assert [key["kid"] for key in second.published()["keys"]] == [first.active.kid]


async def test_after_a_rotation_old_certificates_still_verify_and_new_ones_use_the_new_key(
    database: Database, issuer: Issuer
) -> None:
    keyring = issuer.keyring
    before = await issue_one(issuer)
    old_kid = keyring.active.kid

    fresh = await keyring.rotate()
    after = await issue_one(issuer)

    published = signatures.keys_from_jwks(keyring.published())
    assert set(published) == {old_kid, fresh.kid}
    assert signatures.verify(before["signature"], published).kid == old_kid
    assert signatures.verify(after["signature"], published).kid == fresh.kid
    [retired] = [key for key in keyring.published()["keys"] if key["retired"]]
    assert retired["kid"] == old_kid
    # Another instance, started after the rotation, signs with the new key too.
    elsewhere = Keyring(database)
    await elsewhere.load()
    assert elsewhere.active.kid == fresh.kid


async def test_the_pdf_carries_the_signed_data_of_what_it_prints(issuer: Issuer) -> None:
    keyring = issuer.keyring

    certificate = await issue_one(issuer)

    pdf = await issuer.store.pdf_of(certificate["_id"])
    assert pdf is not None
    reader = PdfReader(io.BytesIO(pdf))
    [attached] = reader.attachments[signatures.PDF_ATTACHMENT]
    verified = signatures.verify(attached.decode(), await keyring.public_keys())
    assert verified.claims == signed_claims(certificate)
    assert verified.claims["holder"] == "Zofia Wiśniewska"


async def test_a_certificate_edited_in_the_database_behind_its_signature_fails_verification(
    issuer: Issuer,
) -> None:
    store, keyring = issuer.store, issuer.keyring
    certificate = await issue_one(issuer)
    assert (await signature_check(certificate, keyring)).valid  # type: ignore[union-attr]

    await store.certificates.update_one(
        {"_id": certificate["_id"]}, {"$set": {"holder.full_name": "Someone Else"}}
    )
    edited = await store.by_number(certificate["_id"])
    assert edited is not None

    check = await signature_check(edited, keyring)
    assert check is not None and check.valid is False
    assert "no longer matches" in str(check.problem)

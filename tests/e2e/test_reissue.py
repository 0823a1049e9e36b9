"""A name misspelt on a certificate already emailed: the partner corrects it, and the trainee
gets a new version by email; the old one verifies as superseded, pointing to the new one."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from tests.conftest import eventually
from tests.e2e.conftest import Training


def pdf_text_of(message: Any) -> str:
    [attachment] = list(message.iter_attachments())
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    return " ".join(page.extract_text() for page in reader.pages)


async def test_a_corrected_name_after_the_email_reissues_the_certificate_and_emails_it_again(
    training: Training,
) -> None:
    partner = training.partner
    enrolment_id = await training.complete("r1", "Ivan Petorv")

    async def notified() -> dict[str, Any] | None:
        found = await partner.enrolment(enrolment_id)
        return found if found["status"] == "notified" else None

    first = await eventually(notified, what="the first certificate to be emailed")
    old_number = first["certificate_number"]
    old = await partner.certificate(old_number)

    await partner.ok(
        "registration",
        "PATCH",
        f"/v1/enrolments/{enrolment_id}",
        json={"full_name": "Иван Петров", "email": training.address("r1-new")},
    )

    async def notified_again() -> dict[str, Any] | None:
        found = await partner.enrolment(enrolment_id)
        fresh = found["certificate_number"] != old_number and found["status"] == "notified"
        return found if fresh else None

    after = await eventually(notified_again, what="the reissued certificate to be emailed")
    new_number = after["certificate_number"]
    assert [step["status"] for step in after["history"]] == [
        "enrolled", "completed", "certified", "notified", "certified", "notified",
    ]  # fmt: skip
    assert f"replacing {old_number}" in after["history"][4]["cause"]

    new = await partner.certificate(new_number)
    assert (new["status"], new["version"], new["replaces"]) == ("valid", 2, old_number)
    assert new["holder"]["full_name"] == "Иван Петров"
    superseded = await partner.certificate(old_number)
    assert (superseded["status"], superseded["superseded_by"]) == ("superseded", new_number)

    old_code = old["verification_url"].rsplit("/", 1)[1]
    verdict = await partner.verify(old_code)
    assert (verdict["valid"], verdict["status"]) == (False, "superseded")
    assert verdict["superseded_by"] == new_number
    assert verdict["superseded_by_url"] == new["verification_url"]
    page = await partner.http.get(old["verification_url"])
    assert page.status_code == 200
    assert new_number in page.text and new["verification_url"] in page.text

    [first_email] = training.emails_to("r1")
    [second_email] = training.emails_to("r1-new")
    assert "Ivan Petorv" in pdf_text_of(first_email)
    reissued_text = pdf_text_of(second_email)
    assert "Иван Петров" in reissued_text and old_number in reissued_text
    body = second_email.get_body(("plain",))
    assert body is not None and old_number in body.get_content()

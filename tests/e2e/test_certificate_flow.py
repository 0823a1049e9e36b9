"""The whole flow through the real broker, database and SMTP sink: partners enrol and record
attendance; certificates are issued, emailed, and verifiable by anyone."""

from __future__ import annotations

import io
import time
from email.message import EmailMessage

from pypdf import PdfReader

from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training

TRAINEES = 20


def pdf_attachment(message: EmailMessage) -> tuple[str, bytes]:
    attachments = [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
    assert len(attachments) == 1, "a certificate email carries exactly one PDF"
    payload = attachments[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(attachments[0].get_filename()), payload


def pdf_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_twenty_trainees_of_a_two_day_module_each_get_one_verifiable_certificate_email(
    training: Training, admin: Api
) -> None:
    partner, course_id = training.partner, training.course["id"]
    names = {f"clerk-{i:02d}": f"Служител Номер {i:02d} Петров" for i in range(TRAINEES)}
    ids = {
        ref: await partner.enrol(course_id, ref, name, training.address(ref))
        for ref, name in names.items()
    }

    first_day = await partner.attend(course_id, "2002-09-10", list(names))
    assert first_day == {"recorded": TRAINEES, "completed": 0, "unknown": [], "withdrawn": []}
    second_day = await partner.attend(course_id, "2002-09-11", list(names))
    assert second_day == {
        "recorded": TRAINEES,
        "completed": TRAINEES,
        "unknown": [],
        "withdrawn": [],
    }
    last_attendance = time.monotonic()

    emails = await eventually(
        lambda: _at_least(training.emails(), TRAINEES), timeout=90, what="20 certificate emails"
    )
    seconds = time.monotonic() - last_attendance
    print(f"\nlast attendance call -> {TRAINEES}th email: {seconds:.2f}s")
    assert len(emails) == TRAINEES

    numbers = set()
    for ref, name in names.items():
        [message] = training.emails_to(ref)
        filename, pdf = pdf_attachment(message)
        number = filename.removesuffix(".pdf")
        numbers.add(number)
        text = pdf_text(pdf)
        assert name in text
        assert "Фондация за реформа в местното самоуправление" in text
        assert "Американска агенция за международно развитие" in text
        assert number in text
        assert "Вашият сертификат" in str(message["Subject"]), "subject in the course language"
        assert name in body_text(message)

        certificate = await admin.certificate(number)
        assert certificate["enrolment_id"] == ids[ref]
        assert certificate["verification_url"] in body_text(message)
        code = certificate["verification_url"].rsplit("/", 1)[1]
        verified = await admin.verify(code)
        assert verified["valid"] is True
        assert verified["holder"] == name
        assert "email" not in verified
    assert len(numbers) == TRAINEES, "every trainee has a certificate number of their own"

    async def all_notified() -> bool:
        states = [(await partner.enrolment(i))["status"] for i in ids.values()]
        return all(state == "notified" for state in states)

    await eventually(all_notified, what="every enrolment to reach 'notified'")
    enrolment = await partner.enrolment(ids["clerk-00"])
    assert [h["status"] for h in enrolment["history"]] == [
        "enrolled",
        "completed",
        "certified",
        "notified",
    ]
    assert enrolment["certificate_number"] in numbers


async def test_explicit_completion_of_an_online_course_issues_the_certificate(
    training: Training,
) -> None:
    partner = training.partner
    enrolment_id = await partner.enrol(
        training.course["id"], "online-1", "Anna Nowak", training.address("online-1")
    )
    completed = await partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")
    assert completed["status"] == "completed"

    async def certified() -> str | None:
        number = (await partner.enrolment(enrolment_id))["certificate_number"]
        return str(number) if number else None

    number = await eventually(certified, what="a certificate number")
    pdf = await partner.call("certification", "GET", f"/v1/certificates/{number}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "Anna Nowak" in pdf_text(pdf.content)


def _at_least(items: list[EmailMessage], n: int) -> list[EmailMessage] | None:
    return items if len(items) >= n else None

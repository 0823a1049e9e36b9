"""Sample event data for unit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events import CertificateIssuedV1, CourseSnapshot, Holder
from tests.samples import course_fields


def course(**overrides: Any) -> CourseSnapshot:
    return CourseSnapshot.model_validate(course_fields(id="c1", **overrides))


def issued(pdf: bytes = b"%PDF-1.7 test", **holder: str) -> CertificateIssuedV1:
    return CertificateIssuedV1(
        certificate_number="FRMS-2002-000001",
        verification_code="abc",
        verification_url="https://verify.example/verify/abc",
        enrolment_id="e1",
        partner_id="p1",
        holder=Holder(**({"full_name": "Иванка Петрова", "email": "ivanka@example.bg"} | holder)),
        course=course(),
        issued_on=date(2002, 9, 11),
        pdf_base64=CertificateIssuedV1.encode_pdf(pdf),
    )

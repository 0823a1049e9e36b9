"""Sample event data for unit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events import CertificateIssuedV1, CourseSnapshot, Holder

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40">'
    '<rect width="80" height="40"/></svg>'
)


def course(**overrides: Any) -> CourseSnapshot:
    data: dict[str, Any] = {
        "id": "c1",
        "code": "FRMS-2002-DMT",
        "title": "Дружелюбно обслужване на гражданите",
        "language": "bg",
        "issuer": {"name": "Фондация за реформа в местното самоуправление", "logo_svg": LOGO},
        "funder": {
            "name": "Американска агенция за международно развитие",
            "logo_svg": LOGO,
            "programme": "Подобряване обслужването на гражданите",
        },
        "sessions": ["2002-09-10", "2002-09-11"],
        "location": "Димитровград",
        "signatories": [{"name": "Таня Рангелова", "role": "Лектор"}],
    }
    data.update(overrides)
    return CourseSnapshot.model_validate(data)


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

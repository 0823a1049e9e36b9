"""Certificate PDF rendering with Typst. The template reads all values from one JSON input,
so a holder's name can never be interpreted as markup. Fonts ship in `fonts/`: the PDF looks
the same on every machine."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import typst
import zxingcpp
from babel.dates import format_date, format_interval

from shared.events import CourseSnapshot
from shared.signatures import PDF_ATTACHMENT

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
# A course chooses its design; each is one Typst file importing `common.typ`.
DESIGNS = ("classic", "modern")
DEFAULT_DESIGN = "classic"
FONTS = HERE / "fonts"

LABELS: dict[str, dict[str, str]] = {
    "bg": {
        "title": "Сертификат",
        "awarded_to": "Удостоверява се, че",
        "for_completing": "успешно завърши обучението",
        "programme": "Програма",
        "issued_by": "Издаден от",
        "and_funder": "с подкрепата на",
        "number": "Номер",
        "issued_on": "Дата на издаване",
        "valid_until": "Валиден до",
        "verify": "Проверка",
        "replaces": "Заменя",
    },
    "ru": {
        "title": "Сертификат",
        "awarded_to": "Настоящим удостоверяется, что",
        "for_completing": "успешно прошёл(а) обучение",
        "programme": "Программа",
        "issued_by": "Выдан",
        "and_funder": "при поддержке",
        "number": "Номер",
        "issued_on": "Дата выдачи",
        "valid_until": "Действителен до",
        "verify": "Проверка",
        "replaces": "Заменяет",
    },
    "pl": {
        "title": "Certyfikat",
        "awarded_to": "Zaświadcza się, że",
        "for_completing": "ukończył(a) z powodzeniem szkolenie",
        "programme": "Program",
        "issued_by": "Wydany przez",
        "and_funder": "przy wsparciu",
        "number": "Numer",
        "issued_on": "Data wydania",
        "valid_until": "Ważny do",
        "verify": "Weryfikacja",
        "replaces": "Zastępuje",
    },
    "en": {
        "title": "Certificate",
        "awarded_to": "This is to certify that",
        "for_completing": "has successfully completed the training",
        "programme": "Programme",
        "issued_by": "Issued by",
        "and_funder": "with the support of",
        "number": "Number",
        "issued_on": "Issued on",
        "valid_until": "Valid until",
        "verify": "Verify at",
        "replaces": "Replaces",
    },
}


@dataclass(frozen=True)
class CertificateContent:
    number: str
    holder: str
    course: CourseSnapshot
    issued_on: date
    valid_until: date | None
    verification_url: str
    replaces: str | None = None  # the number of the version this one supersedes
    signature: str | None = None  # the signed data (JWS), attached to the PDF


def _plain_spaces(text: str) -> str:
    # CLDR patterns use thin and narrow no-break spaces; plain ones read (and search) alike.
    return text.replace("\u2009", " ").replace("\u202f", " ").replace("\xa0", " ")


def long_date(day: date, language: str) -> str:
    return _plain_spaces(format_date(day, format="long", locale=language))


def session_dates(sessions: list[date], language: str) -> str:
    """One day, a day range within a month (`10 – 11 септември 2002 г.`), or two full dates."""
    first, last = min(sessions), max(sessions)
    if first == last:
        return long_date(first, language)
    both = f"{long_date(first, language)} – {long_date(last, language)}"
    if (first.year, first.month) != (last.year, last.month):
        return both
    compact = _plain_spaces(format_interval(first, last, skeleton="yMMMMd", locale=language))
    # Some locales abbreviate the month in ranges; a certificate writes it out.
    month = format_date(last, format="MMMM", locale=language)
    return compact if month in compact else both


def qr_svg(url: str) -> str:
    """The verification address as a QR code (error correction M, one module of quiet zone:
    the template frames it in white). zxing-cpp encodes in C++, masks included: the
    pure-Python encoder we used took 4 of a certificate's 13 ms."""
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    svg: str = code.to_svg(add_quiet_zones=False)
    return svg


class CertificateRenderer:
    """Keeps one Typst compiler per design (fonts loaded once); compiles one certificate at a
    time."""

    def __init__(self) -> None:
        self._compilers = {
            design: typst.Compiler(
                TEMPLATES / f"{design}.typ", root=HERE, font_paths=[FONTS], ignore_system_fonts=True
            )
            for design in DESIGNS
        }
        self._lock = threading.Lock()

    def data(self, content: CertificateContent) -> dict[str, object]:
        course = content.course
        language = course.language
        return {
            "language": language,
            "labels": LABELS[language],
            "holder": content.holder,
            "course_title": course.title,
            "dates": session_dates(course.sessions, language),
            "location": course.location,
            "programme": course.funder.programme,
            "grant_id": course.funder.grant_id,
            "acknowledgement": course.funder.acknowledgement,
            "issuer": {"name": course.issuer.name, "logo_svg": course.issuer.logo_svg},
            "funder": {"name": course.funder.name, "logo_svg": course.funder.logo_svg},
            "signatories": [{"name": s.name, "role": s.role} for s in course.signatories],
            "number": content.number,
            "issued_on": long_date(content.issued_on, language),
            "valid_until": (
                long_date(content.valid_until, language) if content.valid_until else None
            ),
            "verification_url": content.verification_url,
            "replaces": content.replaces,
            "signature": content.signature,
            "signature_file": PDF_ATTACHMENT,
            "qr_svg": qr_svg(content.verification_url),
        }

    def render(self, content: CertificateContent) -> bytes:
        inputs = {"data": json.dumps(self.data(content), ensure_ascii=False)}
        design = content.course.design if content.course.design in DESIGNS else DEFAULT_DESIGN
        with self._lock:
            pdf = self._compilers[design].compile(format="pdf", sys_inputs=inputs, timestamp=0)
        assert isinstance(pdf, bytes)
        return pdf

"""The Typst renderer is an adapter, but a pure one (no server): tested directly."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from services.certification.render import (
    CertificateContent,
    CertificateRenderer,
    session_dates,
)
from tests.unit.samples import course


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def content(**overrides: object) -> CertificateContent:
    base: dict[str, object] = {
        "number": "FRMS-2002-000123",
        "holder": "Иванка Петрова Димитрова",
        "course": course(),
        "issued_on": date(2002, 9, 11),
        "valid_until": None,
        "verification_url": "https://verify.example/verify/abc",
    }
    base.update(overrides)
    return CertificateContent(**base)  # type: ignore[arg-type]


def test_certificate_shows_holder_course_issuer_funder_and_number(
    renderer: CertificateRenderer,
) -> None:
    pdf = renderer.render(content())
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert width > height, "A4 landscape"
    text = text_of(pdf)
    for expected in (
        "Иванка Петрова Димитрова",
        "Дружелюбно обслужване на гражданите",
        "Фондация за реформа в местното самоуправление",
        "Американска агенция за международно развитие",
        "FRMS-2002-000123",
        "Таня Рангелова",
        "Димитровград",
        "СЕРТИФИКАТ",
    ):
        assert expected in text


@pytest.mark.parametrize(
    ("language", "title", "holder"),
    [
        ("pl", "CERTYFIKAT", "Zażółć Gęślą Jaźń"),
        ("ru", "СЕРТИФИКАТ", "Пётр Ильич Чайковский"),
        ("en", "CERTIFICATE", "Mary O'Brien"),
    ],
)
def test_each_language_renders_its_own_wording_and_letters(
    renderer: CertificateRenderer, language: str, title: str, holder: str
) -> None:
    text = text_of(renderer.render(content(holder=holder, course=course(language=language))))
    assert title in text
    assert holder in text


def test_typst_markup_in_a_name_is_printed_not_interpreted(
    renderer: CertificateRenderer,
) -> None:
    holder = '#panic("boom") *bold* $x$ ]'
    assert holder in text_of(renderer.render(content(holder=holder)))


def test_a_very_long_name_still_fits_on_one_page(renderer: CertificateRenderer) -> None:
    holder = "Анна-Мария " * 12
    assert len(PdfReader(io.BytesIO(renderer.render(content(holder=holder)))).pages) == 1


def test_rendering_is_deterministic(renderer: CertificateRenderer) -> None:
    assert renderer.render(content()) == renderer.render(content())


def test_two_day_course_dates_read_as_a_range() -> None:
    days = [date(2002, 9, 10), date(2002, 9, 11)]
    assert session_dates(days, "en") == "September 10, 2002 – September 11, 2002"
    assert session_dates(days, "bg") == "10 – 11 септември 2002 г."
    assert session_dates([date(2002, 9, 30), date(2002, 10, 1)], "ru") == (
        "30 сентября 2002 г. – 1 октября 2002 г."
    )
    assert session_dates(days[:1], "pl") == "10 września 2002"


def test_the_funders_acknowledgement_and_grant_are_printed_verbatim(
    renderer: CertificateRenderer,
) -> None:
    wording = "Made possible by the support of the American people through USAID (#1 [x])."
    funder = course().funder.model_copy(
        update={"acknowledgement": wording, "grant_id": "AID-183-A-00-00001"}
    )
    pdf = renderer.render(content(course=course().model_copy(update={"funder": funder})))
    text = " ".join(text_of(pdf).split())
    assert wording in text
    assert "AID-183-A-00-00001" in text

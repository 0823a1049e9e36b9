"""Every language in every design, drawn to pixels (pypdfium2, as a viewer would): one A4
landscape page, names with diacritics and Cyrillic extractable as text, nothing off the page,
and a QR code that a reader (zxing-cpp) scans to the verification address."""

from __future__ import annotations

from collections.abc import Iterator

import pypdfium2
import pytest
import zxingcpp

from services.certification.domain import new_verification_code
from services.certification.render import DESIGNS, CertificateRenderer
from services.certification.samples import SAMPLES, sample_content

A4_LANDSCAPE = (841.89, 595.28)  # points


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


def page_of(pdf: bytes) -> Iterator[pypdfium2.PdfPage]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == 1
        yield document[0]
    finally:
        document.close()


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_each_language_renders_in_each_design_with_its_text_readable(
    renderer: CertificateRenderer, design: str, language: str
) -> None:
    content = sample_content(language, design)

    for page in page_of(renderer.render(content)):
        assert page.get_size() == pytest.approx(A4_LANDSCAPE, abs=0.5)
        text = " ".join(page.get_textpage().get_text_range().split())
        for expected in (content.holder, content.course.title, content.number):
            assert expected in text, f"{expected!r} not in the {design} {language} page"
        image = page.render(scale=0.5).to_pil().convert("L")
        inked = sum(image.histogram()[:200])  # pixels darker than light grey
        assert inked > image.width * image.height * 0.02, "the page is (nearly) blank"
        # At 150 dpi, about what a phone camera resolves from a printed page.
        scanned = zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())
        assert [code.text for code in scanned] == [content.verification_url]


@pytest.mark.parametrize("design", DESIGNS)
def test_a_very_long_name_and_title_shrink_to_stay_on_the_page(
    renderer: CertificateRenderer, design: str
) -> None:
    holder = "Мария-Магдалена Константинова Христова-Червенкова-Петрова"
    title = "Стандарти за обслужване в контактни центрове и приемни на общинските администрации"
    base = sample_content("bg", design)
    course = base.course.model_copy(update={"title": title})
    content = sample_content("bg", design, holder=holder, course=course)

    for page in page_of(renderer.render(content)):
        width, height = page.get_size()
        textpage = page.get_textpage()
        assert holder in " ".join(textpage.get_text_range().split())
        for index in range(textpage.count_chars()):
            left, bottom, right, top = textpage.get_charbox(index)
            assert left >= 0 and bottom >= 0 and right <= width and top <= height


def test_the_printed_qr_code_of_any_verification_address_scans(
    renderer: CertificateRenderer,
) -> None:
    for attempt in range(20):
        url = f"https://certificates.frmb.bg/verify/{new_verification_code()}"
        content = sample_content("ru", DESIGNS[attempt % 2], verification_url=url)
        for page in page_of(renderer.render(content)):
            scanned = zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())
            assert [code.text for code in scanned] == [url]

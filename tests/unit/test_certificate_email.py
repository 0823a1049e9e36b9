import email
import email.policy
from email.message import EmailMessage

from services.notification.composing import Composer, MailIdentity, recipients
from tests.unit.samples import course, issued

COMPOSER = Composer(
    MailIdentity(
        "Attesta <certificates@attesta.example>", "help@attesta.example", "attesta.example"
    )
)


def reparsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_certificate_email_is_text_and_html_with_the_pdf_named_after_the_number() -> None:
    message = reparsed(COMPOSER.certificate(issued(pdf=b"%PDF-1.7 body")))
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(preferencelist=("plain",)) is not None
    assert message.get_body(preferencelist=("html",)) is not None
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "FRMS-2002-000001.pdf"
    assert attachment.get_content() == b"%PDF-1.7 body"


def test_cyrillic_names_and_subjects_survive_encoding() -> None:
    message = reparsed(COMPOSER.certificate(issued()))
    assert str(message["Subject"]) == "Вашият сертификат: Дружелюбно обслужване на гражданите"
    assert message["To"].addresses[0].display_name == "Иванка Петрова"
    assert message["To"].addresses[0].addr_spec == "ivanka@example.bg"
    assert message["Message-ID"] == "<certificate.FRMS-2002-000001@attesta.example>"
    assert message["Date"] is not None


def test_the_body_links_to_verification_and_names_issuer_and_funder() -> None:
    message = reparsed(COMPOSER.certificate(issued()))
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://verify.example/verify/abc" in text
    assert "Фондация за реформа в местното самоуправление" in text
    assert "Американска агенция за международно развитие" in text


def test_a_name_with_line_breaks_cannot_inject_headers() -> None:
    message = reparsed(COMPOSER.certificate(issued(full_name="Eve\r\nBcc: victim@example.com")))
    assert message["Bcc"] is None
    assert recipients(message) == ["ivanka@example.bg"]


def test_markup_in_a_name_is_escaped_in_html() -> None:
    message = reparsed(COMPOSER.certificate(issued(full_name="<script>alert(1)</script>")))
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_copies_go_to_the_addresses_the_course_names() -> None:
    event = issued().model_copy(update={"course": course(copy_to=["hr@town.example"])})
    assert recipients(COMPOSER.certificate(event)) == ["ivanka@example.bg", "hr@town.example"]


def test_each_language_has_its_own_subject() -> None:
    subjects = {
        lang: str(
            COMPOSER.certificate(issued().model_copy(update={"course": course(language=lang)}))[
                "Subject"
            ]
        )
        for lang in ("bg", "ru", "pl", "en")
    }
    assert subjects["en"].startswith("Your certificate")
    assert subjects["pl"].startswith("Twój certyfikat")
    assert subjects["ru"].startswith("Ваш сертификат")
    assert len(set(subjects.values())) == 4

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import jinja2.exceptions
import pytest

from services.notification.composing import Composer, MailIdentity, recipients
from services.notification.smtp import WIRE
from shared.events import Issuer
from tests.unit.samples import course, issued

COMPOSER = Composer(
    MailIdentity(
        "Attesta <certificates@attesta.example>", "help@attesta.example", "attesta.example"
    )
)


def reparsed(message: EmailMessage) -> EmailMessage:
    # As it goes on the wire, read back as a receiving Python program would.
    parsed = email.message_from_bytes(message.as_bytes(policy=WIRE), policy=email.policy.default)
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


def test_an_issuer_with_its_own_address_sends_from_it_and_takes_the_replies() -> None:
    issuer = Issuer(
        name="Фондация",
        email_from="Фондация <certificates@flgr.bg>",
        email_reply_to="office@flgr.bg",
    )
    message = reparsed(
        COMPOSER.certificate(issued().model_copy(update={"course": course(issuer=issuer)}))
    )
    assert message["From"].addresses[0].addr_spec == "certificates@flgr.bg"
    assert message["From"].addresses[0].display_name == "Фондация"
    assert message["Reply-To"].addresses[0].addr_spec == "office@flgr.bg"


def test_without_an_address_of_its_own_the_issuer_names_the_services_address() -> None:
    message = reparsed(COMPOSER.certificate(issued()))
    sender = message["From"].addresses[0]
    assert sender.addr_spec == "certificates@attesta.example"
    assert sender.display_name == "Фондация за реформа в местното самоуправление"
    assert message["Reply-To"].addresses[0].addr_spec == "help@attesta.example"


def test_a_stored_from_with_a_line_break_cannot_add_a_header() -> None:
    issuer = Issuer(name="X", email_from="X <a@flgr.bg>\r\nBcc: victim@example.com")
    message = reparsed(
        COMPOSER.certificate(issued().model_copy(update={"course": course(issuer=issuer)}))
    )
    assert message["Bcc"] is None
    assert len(message["From"].addresses) == 1


def test_templates_can_be_overridden_for_everyone_and_for_one_issuer(tmp_path: Path) -> None:
    (tmp_path / "certificate").mkdir()
    (tmp_path / "certificate" / "en.txt").write_text("Everyone's text for {{ holder.full_name }}")
    own = tmp_path / "issuers" / "iss-1" / "certificate"
    own.mkdir(parents=True)
    (own / "en.subject.txt").write_text("From our foundation: {{ course.title }}")
    composer = Composer(MailIdentity("a@attesta.example", None, "attesta.example"), tmp_path)

    def compose(issuer_id: str | None) -> EmailMessage:
        event = issued().model_copy(
            update={"course": course(language="en", title="Plain language", issuer_id=issuer_id)}
        )
        return reparsed(composer.certificate(event))

    mine, theirs = compose("iss-1"), compose("iss-2")
    assert str(mine["Subject"]) == "From our foundation: Plain language"
    assert str(theirs["Subject"]).startswith("Your certificate")
    for message in (mine, theirs):
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert text.startswith("Everyone's text for Иванка Петрова")


def test_a_template_cannot_reach_python_internals() -> None:
    with pytest.raises(jinja2.exceptions.SecurityError):
        COMPOSER._env.from_string("{{ holder.__class__.__mro__ }}").render(holder={})

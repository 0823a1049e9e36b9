"""Certificate emails: composed from jinja2 templates in the course language, sent over SMTP.

Templates live in `templates/certificate/<language>.{subject.txt,txt,html}` and render in a
sandbox with autoescaping for HTML: a holder's name or a course title can never inject markup
or headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from pathlib import Path

import aiosmtplib
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from shared.events import CertificateIssuedV1

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 30.0


class PermanentDeliveryFailure(Exception):
    """The mail server refused the message for good (5xx): do not retry."""


class TemporaryDeliveryFailure(Exception):
    """The mail server is down or asked us to come back later (4xx, timeouts)."""


def _single_line(value: str) -> str:
    # Header values never carry line breaks, whatever a field contains.
    return " ".join(value.split())


class CertificateMail:
    def __init__(self, mail_from: str, reply_to: str | None, message_id_domain: str) -> None:
        self.mail_from = mail_from
        self.reply_to = reply_to
        self.message_id_domain = message_id_domain
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )

    def message_id(self, certificate_number: str) -> str:
        # Deterministic: a resend of the same certificate carries the same Message-ID, so
        # mail systems (and people) can tell it is the same message.
        return f"<certificate.{certificate_number}@{self.message_id_domain}>"

    def compose(self, issued: CertificateIssuedV1) -> EmailMessage:
        language = issued.course.language
        context = {
            "holder": issued.holder.model_dump(),
            "course": issued.course.model_dump(mode="json"),
            "number": issued.certificate_number,
            "verification_url": issued.verification_url,
            "replaces": issued.replaces,
        }
        subject = _single_line(
            self._env.get_template(f"certificate/{language}.subject.txt").render(context)
        )
        text = self._env.get_template(f"certificate/{language}.txt").render(context)
        html = self._env.get_template(f"certificate/{language}.html").render(
            context, subject=subject
        )

        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.mail_from
        message["To"] = Address(
            display_name=_single_line(issued.holder.full_name), addr_spec=issued.holder.email
        )
        if issued.course.copy_to:
            message["Cc"] = ", ".join(issued.course.copy_to)
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = self.message_id(issued.certificate_number)
        message["Content-Language"] = language
        message.set_content(text, subtype="plain", charset="utf-8")
        message.add_alternative(html, subtype="html", charset="utf-8")
        message.add_attachment(
            issued.pdf(),
            maintype="application",
            subtype="pdf",
            filename=f"{issued.certificate_number}.pdf",
        )
        return message


def recipients(message: EmailMessage) -> list[str]:
    fields = [str(v) for k in ("To", "Cc") for v in message.get_all(k, [])]
    return [addr for _, addr in getaddresses(fields) if addr]


async def send(message: EmailMessage, smtp: SmtpConfig) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            start_tls=smtp.starttls,
            use_tls=smtp.tls,
            timeout=smtp.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [r.code for r in error.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
        if all(code >= 500 for code in codes):
            raise PermanentDeliveryFailure(detail) from error
        raise TemporaryDeliveryFailure(detail) from error
    except aiosmtplib.SMTPResponseException as error:
        detail = f"{error.code} {error.message}"
        if error.code >= 500:
            raise PermanentDeliveryFailure(detail) from error
        raise TemporaryDeliveryFailure(detail) from error
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        raise TemporaryDeliveryFailure(f"{type(error).__name__}: {error}") from error

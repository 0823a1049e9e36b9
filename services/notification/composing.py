"""Emails composed from jinja2 templates in the course language: HTML and plain text, the PDF
attached, headers that survive any field.

Templates are `<kind>/<language>.{subject.txt,txt,html}` (kinds: `certificate`, `reissue`,
`confirmation`, `summary`). They render in a sandbox, with autoescaping for HTML, so a holder's
name or a course title can never inject markup; header values are built from single-line text
and parsed addresses, so no field can inject a header. A templates folder given in the settings
overrides the built-in ones file by file, for everyone (`<dir>/<kind>/…`) or for one issuer
(`<dir>/issuers/<issuer id>/<kind>/…`), without code changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from services.notification.course_summary import CourseSummary
from shared.events import CertificateIssuedV1, CourseSnapshot, EnrolmentRegisteredV1, Issuer

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class MailIdentity:
    """Who the emails come from when the issuer does not say: `mail_from` gives the address
    (the issuer's name becomes the display name), `reply_to` the default Reply-To."""

    mail_from: str
    reply_to: str | None
    message_id_domain: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def single_line(value: str) -> str:
    # Header values never carry line breaks, whatever a field contains.
    return " ".join(value.split())


def address(value: str, display_name: str | None = None) -> Address | None:
    """`value` ("Name <a@b>" or "a@b") as one header-safe address, or None if it is not one."""
    name, addr = parseaddr(single_line(value))
    if "@" not in addr or any(c in addr for c in '<>,;"\\ '):
        return None
    local, _, domain = addr.rpartition("@")
    return Address(display_name=single_line(display_name or name), username=local, domain=domain)


def course_context(course: CourseSnapshot) -> dict[str, Any]:
    """What templates see of a course: everything but the logos (large, and not for email)."""
    return course.model_dump(mode="json", exclude={"issuer", "funder"}) | {
        "issuer": course.issuer.model_dump(exclude={"logo_svg"}),
        "funder": course.funder.model_dump(exclude={"logo_svg"}),
    }


def recipients(message: EmailMessage) -> list[str]:
    fields = [str(v) for k in ("To", "Cc") for v in message.get_all(k, [])]
    return [addr for _, addr in getaddresses(fields) if addr]


class Composer:
    def __init__(self, identity: MailIdentity, templates_dir: Path | None = None) -> None:
        self.identity = identity
        self.templates_dir = templates_dir
        loaders = [FileSystemLoader(TEMPLATES)]
        if templates_dir is not None:
            loaders.insert(0, FileSystemLoader(templates_dir))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )

    def message_id(self, delivery_id: str, resends: int = 0) -> str:
        # Deterministic, so a retry of the same email carries the same Message-ID and mail
        # systems can drop a duplicate. An admin's resend gets a new one: it must arrive even
        # where the first was filtered out.
        local = delivery_id.replace(":", ".")
        if resends:
            local += f".resend-{resends}"
        return f"<{local}@{self.identity.message_id_domain}>"

    def render(
        self, kind: str, language: str, issuer_id: str | None, context: Mapping[str, Any]
    ) -> Rendered:
        def template(suffix: str) -> Any:
            names = [f"{kind}/{language}.{suffix}"]
            if issuer_id:
                names.insert(0, f"issuers/{issuer_id}/{kind}/{language}.{suffix}")
            return self._env.select_template(names)

        subject = single_line(template("subject.txt").render(context))
        return Rendered(
            subject=subject,
            text=template("txt").render(context),
            html=template("html").render(context, subject=subject),
        )

    def certificate(
        self, issued: CertificateIssuedV1, *, message_id: str | None = None
    ) -> EmailMessage:
        course = issued.course
        context = {
            "holder": issued.holder.model_dump(),
            "course": course_context(course),
            "number": issued.certificate_number,
            "verification_url": issued.verification_url,
            "replaces": issued.replaces,
        }
        kind = "reissue" if issued.replaces else "certificate"
        message = self.message(
            self.render(kind, course.language, course.issuer_id, context),
            to=[(issued.holder.full_name, issued.holder.email)],
            cc=course.copy_to,
            issuer=course.issuer,
            language=course.language,
            message_id=message_id or self.message_id(f"certificate:{issued.certificate_number}"),
        )
        message.add_attachment(
            issued.pdf(),
            maintype="application",
            subtype="pdf",
            filename=f"{issued.certificate_number}.pdf",
        )
        return message

    def confirmation(self, registered: EnrolmentRegisteredV1, *, message_id: str) -> EmailMessage:
        course = registered.course
        context = {
            "holder": registered.holder.model_dump(),
            "course": course_context(course),
            "sessions": [
                format_date(day, format="long", locale=course.language) for day in course.sessions
            ],
            "organisation_name": registered.partner_name,
        }
        return self.message(
            self.render("confirmation", course.language, course.issuer_id, context),
            to=[(registered.holder.full_name, registered.holder.email)],
            issuer=course.issuer,
            language=course.language,
            message_id=message_id,
        )

    def summary(self, summary: CourseSummary, *, message_id: str) -> EmailMessage:
        course = summary.course
        context = {
            "course": course_context(course),
            "partner_name": summary.partner_name,
            "total": summary.total,
            "sent": summary.sent,
            "failed": summary.failed,
            "failures": [f.model_dump() for f in summary.failures],
            "held": 0,
        }
        return self.message(
            self.render("summary", course.language, course.issuer_id, context),
            to=[(summary.partner_name, summary.contact_email)],
            issuer=course.issuer,
            language=course.language,
            message_id=message_id,
        )

    def message(
        self,
        rendered: Rendered,
        *,
        to: Iterable[tuple[str, str]],
        cc: Iterable[str] = (),
        issuer: Issuer,
        language: str,
        message_id: str,
    ) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = self.sender(issuer)
        message["To"] = [a for name, addr in to if (a := address(addr, name)) is not None]
        copies = [a for addr in cc if (a := address(addr)) is not None]
        if copies:
            message["Cc"] = copies
        reply_to = issuer.email_reply_to or self.identity.reply_to
        if reply_to and (replies := address(reply_to)) is not None:
            message["Reply-To"] = replies
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Content-Language"] = language
        # Quoted-printable keeps the text 7-bit: it passes relays that do not speak 8BITMIME.
        message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        message.add_alternative(
            rendered.html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
        return message

    def sender(self, issuer: Issuer) -> Address:
        """The issuer's own From when it has one, else the service's address under the
        issuer's name: trainees see who trained them, and the relay sends only from its domain."""
        if issuer.email_from and (own := address(issuer.email_from)) is not None:
            return own
        default = address(self.identity.mail_from)
        if default is None:
            raise ValueError(f"mail_from {self.identity.mail_from!r} is not an email address")
        return address(str(default.addr_spec), issuer.name) or default

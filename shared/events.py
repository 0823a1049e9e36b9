"""The event contract: one CloudEvents 1.0 envelope and every event payload, versioned by name.

A breaking change to a payload is a new class with a new `.vN` type; consumers keep reading the
old one until every producer has moved. Each payload carries a snapshot of what its consumers
need, so no service has to call another to act on an event.
"""

from __future__ import annotations

import base64
import inspect
import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import correlation


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    EVENT_TYPE: ClassVar[str]


class Issuer(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    name: str
    logo_svg: str | None = None
    email_from: str | None = Field(
        default=None,
        description="The From of this issuer's emails, when its domain is set up on the relay.",
    )
    email_reply_to: str | None = None


class Funder(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    name: str
    logo_svg: str | None = None
    programme: str | None = None
    grant_id: str | None = None
    acknowledgement: str | None = None  # the wording the donor requires on the certificate


class Signatory(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    name: str
    role: str | None = None


class CourseSnapshot(BaseModel):
    """What a certificate and its email need to know about a course, as it was at completion."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    id: str
    code: str
    title: str
    language: Literal["bg", "ru", "pl", "en"]
    issuer: Issuer
    funder: Funder
    sessions: list[date]
    location: str | None = None
    signatories: list[Signatory] = Field(default_factory=list)
    validity_months: int | None = None
    design: str | None = None
    hold_emails: bool = False
    copy_to: list[str] = Field(default_factory=list)
    issuer_id: str | None = None
    confirm_enrolments: bool = False


class Holder(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    full_name: str
    email: str
    position: str | None = None
    organisation: str | None = None


class EnrolmentRegisteredV1(Payload):
    """A trainee was enrolled on a course that confirms enrolments by email."""

    EVENT_TYPE: ClassVar[str] = "attesta.enrolment.registered.v1"
    enrolment_id: str
    partner_id: str
    partner_name: str | None = None
    external_ref: str
    holder: Holder
    course: CourseSnapshot


class EnrolmentCompletedV1(Payload):
    EVENT_TYPE: ClassVar[str] = "attesta.enrolment.completed.v1"
    enrolment_id: str
    partner_id: str
    external_ref: str
    holder: Holder
    course: CourseSnapshot
    completed_on: date
    attended_sessions: list[date] = Field(default_factory=list)


class CertificateIssuedV1(Payload):
    EVENT_TYPE: ClassVar[str] = "attesta.certificate.issued.v1"
    certificate_number: str
    verification_code: str
    verification_url: str
    enrolment_id: str
    partner_id: str
    holder: Holder
    course: CourseSnapshot
    issued_on: date
    pdf_base64: str = Field(
        description="The certificate PDF, base64: notification never has to call back for it."
    )
    version: int = Field(
        default=1, ge=1, description="1 for the first certificate of an enrolment, then 2, 3…"
    )
    replaces: str | None = Field(
        default=None,
        description="The number of the certificate this one supersedes (a reissue after the "
        "holder's name or email was corrected); that one now verifies as superseded.",
    )

    @classmethod
    def encode_pdf(cls, pdf: bytes) -> str:
        return base64.b64encode(pdf).decode("ascii")

    def pdf(self) -> bytes:
        return base64.b64decode(self.pdf_base64)


class CertificateRevokedV1(Payload):
    EVENT_TYPE: ClassVar[str] = "attesta.certificate.revoked.v1"
    certificate_number: str
    enrolment_id: str
    reason: str
    revoked_at: datetime


class NotificationSentV1(Payload):
    EVENT_TYPE: ClassVar[str] = "attesta.notification.sent.v1"
    enrolment_id: str
    certificate_number: str
    to: str
    sent_at: datetime


class NotificationFailedV1(Payload):
    EVENT_TYPE: ClassVar[str] = "attesta.notification.failed.v1"
    enrolment_id: str
    certificate_number: str
    to: str
    error: str
    failed_at: datetime


class CourseReleasedV1(Payload):
    """The admin released a course's held emails: they may go out now, and later ones at once."""

    EVENT_TYPE: ClassVar[str] = "attesta.course.released.v1"
    course_id: str
    released_at: datetime
    released_by: str


class CourseClosedV1(Payload):
    """A partner's attendance on a course is final: `expected_certificates` of its trainees
    completed. Once as many certificate emails have gone out (or failed), the partner's
    coordinator gets a summary."""

    EVENT_TYPE: ClassVar[str] = "attesta.course.closed.v1"
    course_id: str
    partner_id: str
    partner_name: str
    contact_email: str | None
    expected_certificates: int
    course: CourseSnapshot
    closed_at: datetime


class EnrolmentCorrectedV1(Payload):
    """The holder's details were corrected after completion: the certificate must follow."""

    EVENT_TYPE: ClassVar[str] = "attesta.enrolment.corrected.v1"
    enrolment_id: str
    partner_id: str
    holder: Holder
    corrected_fields: list[str]
    corrected_at: datetime


class PartnerKeyIssuedV1(Payload):
    """A partner's API key, as a hash only, so every service can authenticate that partner."""

    EVENT_TYPE: ClassVar[str] = "attesta.partner.key_issued.v1"
    partner_id: str
    key_id: str
    key_hash: str


class PartnerKeyRevokedV1(Payload):
    """A partner's key stops working in every service."""

    EVENT_TYPE: ClassVar[str] = "attesta.partner.key_revoked.v1"
    partner_id: str
    key_id: str
    revoked_at: datetime


EVENT_TYPES: dict[str, type[Payload]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        EnrolmentRegisteredV1,
        EnrolmentCompletedV1,
        CertificateIssuedV1,
        CertificateRevokedV1,
        NotificationSentV1,
        NotificationFailedV1,
        EnrolmentCorrectedV1,
        CourseReleasedV1,
        CourseClosedV1,
        PartnerKeyIssuedV1,
        PartnerKeyRevokedV1,
    )
}

D = TypeVar("D", bound=Payload)


class Envelope(BaseModel, Generic[D]):
    """CloudEvents 1.0, structured mode: the whole envelope is the Kafka message value."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="Unique per event (a UUID): consumers are idempotent on it.")
    source: str = Field(description="The service that emitted it (`attesta/<service>`).")
    type: str = Field(description="The versioned event type: the `EVENT_TYPE` of `data`.")
    time: datetime = Field(description="When the event happened (UTC).")
    subject: str = Field(
        description="What it is about, and the Kafka key: the enrolment id for most events."
    )
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str | None = Field(
        default=None, description="The correlation id of the request that caused it."
    )
    data: D = Field(description="The event: one of the payloads below, as named by `type`.")

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`CertificateIssuedV1Envelope` rather than `Envelope[CertificateIssuedV1]`: the name
        of its schema in the AsyncAPI documents, whose component keys cannot hold brackets."""
        if all(inspect.isclass(p) for p in params):
            return "".join(p.__name__ for p in params) + cls.__name__
        return super().model_parametrized_name(params)

    @model_validator(mode="after")
    def _type_matches_data(self) -> Envelope[D]:
        expected = getattr(type(self.data), "EVENT_TYPE", None)
        if expected is not None and self.type != expected:
            raise ValueError(f"event type {self.type!r} does not match payload {expected!r}")
        return self


def new_event(
    data: D, *, source: str, subject: str, correlation_id: str | None = None
) -> Envelope[D]:
    return Envelope[D](
        id=str(uuid.uuid4()),
        source=source,
        type=data.EVENT_TYPE,
        time=datetime.now(UTC),
        subject=subject,
        # Written while handling a request or an event: that one's id, so one trainee's path
        # can be followed across services.
        correlationid=correlation_id or correlation.current(),
        data=data,
    )


def to_json(event: Envelope[Any]) -> bytes:
    return event.model_dump_json().encode()

"""Request and response bodies of the registration API (CONTRACT.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.registration.domain import Status, schedule_problem
from services.registration.logos import sanitise_svg

Language = Literal["bg", "ru", "pl", "en"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
LogoSvg = Annotated[str, StringConstraints(strip_whitespace=True, max_length=512_000)]
# "Name <address>" or a bare address; one line, so it can only ever be one header.
MailFrom = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=300,
        pattern=r"^[^\r\n<>]*<[^\s<>@]+@[^\s<>@]+>$|^[^\s<>@]+@[^\s<>@]+$",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyIn(Strict):
    name: Name
    logo_svg: LogoSvg | None = None

    @field_validator("logo_svg")
    @classmethod
    def _logo_is_safe_svg(cls, value: str | None) -> str | None:
        # Logos end up in a PDF and on the public verification page: no scripts, no links out.
        return None if value is None else sanitise_svg(value)


class IssuerIn(PartyIn):
    email_reply_to: EmailStr | None = Field(
        default=None, description="Where trainees' replies to the certificate email go."
    )
    email_from: MailFrom | None = Field(
        default=None,
        description="From of this issuer's emails, e.g. `Foundation <certificates@found.org>`, "
        "once its domain lets the mail relay send for it (SPF/DKIM). Default: the service's "
        "address under the issuer's name.",
    )


class FunderIn(PartyIn):
    programme: Text | None = None
    grant_id: Text | None = Field(
        default=None, description="The grant, award or programme number, e.g. AID-183-A-00-00001"
    )
    acknowledgement: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = Field(
        default=None,
        description="The funding acknowledgement the donor requires on every certificate.",
    )


class IssuerOut(IssuerIn):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: datetime


class FunderOut(FunderIn):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: datetime


class SignatoryIn(Strict):
    name: Name
    role: Text | None = None


class CourseFields(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    title: Name
    language: Language
    sessions: list[date] = Field(min_length=1, max_length=366)
    min_sessions: int = Field(ge=1)
    signatories: list[SignatoryIn] = Field(default_factory=list, max_length=4)
    location: Text | None = None
    partner_ids: list[str] = Field(default_factory=list)
    hold_emails: bool = Field(
        default=False,
        description="Hold every email of the course until the admin releases it "
        "(`POST /v1/courses/{id}/release`): a course set up by mistake mails no one.",
    )
    validity_months: int | None = Field(default=None, ge=1, le=600)
    design: Literal["classic", "modern"] = Field(
        default="classic",
        description="The certificate's look: `classic` (framed, centred) or `modern` (a band "
        "with both logos on the left).",
    )
    copy_to: list[EmailStr] = Field(
        default_factory=list,
        max_length=10,
        description="Addresses copied on every certificate email (the partner's HR contact, the "
        "trainer).",
    )
    confirm_enrolments: bool = Field(
        default=False,
        description="Email each trainee a confirmation (dates, venue) when they are enrolled.",
    )

    @model_validator(mode="after")
    def _schedule(self) -> Self:
        problem = schedule_problem(self.sessions, self.min_sessions)
        if problem:
            raise ValueError(problem)
        return self


class CourseIn(CourseFields):
    """A course names its issuer and funder inline (CONTRACT.md) or by id (`/v1/issuers`,
    `/v1/funders`), so one funder's logo and acknowledgement are kept once for many courses."""

    issuer: IssuerIn | None = None
    issuer_id: str | None = None
    funder: FunderIn | None = None
    funder_id: str | None = None

    def party_errors(self) -> list[dict[str, str]]:
        """Each of issuer and funder must be given exactly one way. Checked by the route rather
        than a model validator, so that the error can name the field."""
        errors = []
        for party in ("issuer", "funder"):
            if (getattr(self, party) is None) == (getattr(self, f"{party}_id") is None):
                errors.append(
                    {"field": party, "message": f"give either {party} or {party}_id, not both"}
                )
        return errors


class CourseOut(CourseFields):
    model_config = ConfigDict(extra="ignore")
    id: str
    issuer: IssuerIn
    issuer_id: str | None = None
    funder: FunderIn
    funder_id: str | None = None
    created_at: datetime
    released_at: datetime | None = Field(
        default=None, description="When the admin released the course's held emails."
    )


class CourseRelease(BaseModel):
    course_id: str
    released_at: datetime


class CourseClosure(BaseModel):
    partner_id: str
    expected_certificates: int = Field(description="Trainees of this partner who completed.")
    summary_to: str | None = Field(
        description="The partner's contact email, which gets the summary; null: no summary."
    )
    closed_at: datetime


class CoursePage(BaseModel):
    items: list[CourseOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class IssuerPage(BaseModel):
    items: list[IssuerOut]
    next_cursor: str | None


class FunderPage(BaseModel):
    items: list[FunderOut]
    next_cursor: str | None


class PartnerIn(Strict):
    name: Name
    contact_email: EmailStr | None = None


class PartnerCreated(BaseModel):
    id: str
    name: str
    api_key: str = Field(description="Shown once: only a hash is stored.")
    key_id: str


class KeyCreated(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once: only a hash is stored.")


class KeyOut(BaseModel):
    key_id: str
    created_at: datetime
    revoked_at: datetime | None = None


class PartnerOut(BaseModel):
    id: str
    name: str
    contact_email: str | None = None
    created_at: datetime
    keys: list[KeyOut]


class PartnerPage(BaseModel):
    items: list[PartnerOut]
    next_cursor: str | None


class EnrolmentIn(Strict):
    external_ref: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    full_name: Name
    email: EmailStr
    position: Text | None = None
    organisation: Text | None = None


class EnrolmentCreated(BaseModel):
    id: str
    status: Status


class BulkIn(BaseModel):
    enrolments: list[dict[str, object]] = Field(max_length=100_000)


class RowError(BaseModel):
    row: int = Field(description="1-based: the data row number (a CSV header is not counted).")
    external_ref: str | None = None
    errors: list[dict[str, str]]


MAX_REPORTED_ROWS = 1000


class BulkResult(BaseModel):
    rows: int = Field(description="Data rows read (blank lines are skipped but numbered).")
    accepted: int
    duplicates: int = Field(description="Rows whose external_ref was already enrolled.")
    rejected_total: int
    rejected: list[RowError] = Field(
        description=f"The first {MAX_REPORTED_ROWS} rejected rows with their field errors."
    )


class AttendanceIn(Strict):
    session: date
    present: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        max_length=100_000
    )


class AttendanceResult(BaseModel):
    recorded: int = Field(description="New attendance records (repeats are not counted).")
    completed: int = Field(description="Enrolments that completed with this upload.")
    unknown: list[str] = Field(description="external_refs with no enrolment of yours here.")
    withdrawn: list[str] = Field(
        default_factory=list, description="external_refs of withdrawn enrolments: not recorded."
    )


class HistoryEntry(BaseModel):
    status: Status
    at: datetime
    cause: str | None = Field(default=None, description="What moved the enrolment to this step.")
    event_id: str | None = Field(
        default=None, description="The event that caused this step, or that it caused."
    )
    event_type: str | None = None


class FieldChange(BaseModel):
    before: str | None
    after: str | None


class CorrectionOut(BaseModel):
    at: datetime
    changes: dict[str, FieldChange]
    event_id: str | None = Field(
        default=None, description="The enrolment.corrected event, when a certificate is affected."
    )


class EnrolmentPatch(Strict):
    full_name: Name | None = None
    email: EmailStr | None = None
    position: Text | None = None
    organisation: Text | None = None

    @model_validator(mode="after")
    def _something_to_correct(self) -> EnrolmentPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one of full_name, email, position, organisation")
        for required in ("full_name", "email"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be removed, only corrected")
        return self


class EnrolmentOut(BaseModel):
    id: str
    course_id: str
    partner_id: str
    external_ref: str
    full_name: str
    email: str
    position: str | None = None
    organisation: str | None = None
    status: Status
    certificate_number: str | None = None
    attended_sessions: list[date] = Field(default_factory=list)
    history: list[HistoryEntry]
    corrections: list[CorrectionOut] = Field(default_factory=list)


class EnrolmentPage(BaseModel):
    items: list[EnrolmentOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class Funnel(BaseModel):
    enrolled: int
    withdrawn: int
    completed: int
    certified: int
    notified: int
    revoked: int


class PartnerFunnel(Funnel):
    partner_id: str
    partner: str


class CourseReport(Funnel):
    course_id: str
    code: str
    title: str
    by_partner: list[PartnerFunnel]


class FunderReportLine(Funnel):
    funder: str
    programme: str
    issuer: str
    partner: str
    courses: int


class FunderReportOut(BaseModel):
    funder: str | None
    period_from: date | None = Field(serialization_alias="from")
    period_to: date | None = Field(serialization_alias="to")
    lines: list[FunderReportLine]

"""Request and response bodies of the registration API (CONTRACT.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from services.registration.domain import Status, schedule_problem

Language = Literal["bg", "ru", "pl", "en"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
LogoSvg = Annotated[str, StringConstraints(strip_whitespace=True, max_length=512_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssuerIn(Strict):
    name: Name
    logo_svg: LogoSvg | None = None

    @model_validator(mode="after")
    def _logo_is_svg(self) -> IssuerIn:
        if self.logo_svg is not None and "<svg" not in self.logo_svg[:2000]:
            raise ValueError("logo_svg must be an SVG document (<svg …>)")
        return self


class FunderIn(IssuerIn):
    programme: Text | None = None


class SignatoryIn(Strict):
    name: Name
    role: Text | None = None


class CourseIn(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    title: Name
    language: Language
    issuer: IssuerIn
    funder: FunderIn
    sessions: list[date] = Field(min_length=1, max_length=366)
    min_sessions: int = Field(ge=1)
    signatories: list[SignatoryIn] = Field(default_factory=list, max_length=4)
    location: Text | None = None
    partner_ids: list[str] = Field(default_factory=list)
    hold_emails: bool = False
    validity_months: int | None = Field(default=None, ge=1, le=600)
    design: Literal["classic"] = "classic"
    copy_to: list[EmailStr] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _schedule(self) -> CourseIn:
        problem = schedule_problem(self.sessions, self.min_sessions)
        if problem:
            raise ValueError(problem)
        if self.hold_emails:
            raise ValueError("hold_emails is not available yet: certificate emails go out at once")
        return self


class CourseOut(CourseIn):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: datetime


class PartnerIn(Strict):
    name: Name
    contact_email: EmailStr | None = None


class PartnerCreated(BaseModel):
    id: str
    name: str
    api_key: str = Field(description="Shown once: only a hash is stored.")
    key_id: str


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


class BulkResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RowError]


class AttendanceIn(Strict):
    session: date
    present: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        max_length=100_000
    )


class AttendanceResult(BaseModel):
    recorded: int = Field(description="New attendance records (repeats are not counted).")
    completed: int = Field(description="Enrolments that completed with this upload.")
    unknown: list[str] = Field(description="external_refs with no enrolment of yours here.")


class HistoryEntry(BaseModel):
    status: Status
    at: datetime


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


class EnrolmentPage(BaseModel):
    items: list[EnrolmentOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")

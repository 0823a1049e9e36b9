"""The coordinator's summary of one partner's certificate emails on one course: plain rules."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from services.notification.delivery_status import FINISHED, Status
from shared.events import CourseSnapshot
from shared.mongo import Document


class Failure(BaseModel):
    full_name: str
    to: str
    error: str


class CourseSummary(BaseModel):
    course: CourseSnapshot
    partner_name: str
    contact_email: str
    total: int
    sent: int
    failed: int
    failures: list[Failure] = Field(default_factory=list)


def summary_due(expected: int, deliveries: Iterable[Document]) -> bool:
    """Whether every certificate email the partner's closure expects has finished: at least
    `expected` of them exist and none is still held, queued or being sent."""
    statuses = [d["status"] for d in deliveries]
    return len(statuses) >= expected and all(s in FINISHED for s in statuses)


def summarise(
    course: CourseSnapshot, partner_name: str, contact_email: str, deliveries: Iterable[Document]
) -> CourseSummary:
    """Counts and failures. An email of unknown fate (`unconfirmed`) is listed as a failure:
    the coordinator should check with that trainee."""
    done = list(deliveries)
    failures = [
        Failure(
            full_name=str(d.get("full_name", "")),
            to=str(d["to"]),
            error=str(d.get("reply") or d.get("last_error") or d["status"]),
        )
        for d in done
        if d["status"] != Status.SENT
    ]
    return CourseSummary(
        course=course,
        partner_name=partner_name,
        contact_email=contact_email,
        total=len(done),
        sent=len(done) - len(failures),
        failed=len(failures),
        failures=failures,
    )

"""Report arithmetic as plain code: how many trainees reached each step, grouped as funders ask.

An enrolment counts at every step it has passed, not only at its current one: a trainee whose
certificate was later revoked was still enrolled, completed and certified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from services.registration.domain import Status


@dataclass
class Funnel:
    enrolled: int = 0
    withdrawn: int = 0
    completed: int = 0
    certified: int = 0
    notified: int = 0
    revoked: int = 0

    def add(self, enrolment: Mapping[str, Any]) -> None:
        reached = steps_reached(enrolment)
        self.enrolled += 1
        for status in (
            Status.WITHDRAWN,
            Status.COMPLETED,
            Status.CERTIFIED,
            Status.NOTIFIED,
            Status.REVOKED,
        ):
            if status in reached:
                setattr(self, status.value, getattr(self, status.value) + 1)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def steps_reached(enrolment: Mapping[str, Any]) -> set[Status]:
    statuses = {Status(step["status"]) for step in enrolment.get("history", [])}
    statuses.add(Status(enrolment["status"]))
    return statuses


@dataclass(frozen=True, order=True)
class FunderRowKey:
    funder: str
    programme: str
    issuer: str
    partner: str


@dataclass
class FunderReport:
    """Trainees and certificates per funder programme, issuer and partner."""

    rows: dict[FunderRowKey, Funnel] = field(default_factory=dict)
    courses: dict[FunderRowKey, set[str]] = field(default_factory=dict)

    def add(
        self, course: Mapping[str, Any], partner_name: str, enrolments: Iterable[Mapping[str, Any]]
    ) -> None:
        key = FunderRowKey(
            funder=course["funder"]["name"],
            programme=course["funder"].get("programme") or "",
            issuer=course["issuer"]["name"],
            partner=partner_name,
        )
        funnel = self.rows.setdefault(key, Funnel())
        for enrolment in enrolments:
            funnel.add(enrolment)
        self.courses.setdefault(key, set()).add(str(course["_id"]))

    def lines(self) -> list[dict[str, Any]]:
        return [
            {**asdict(key), "courses": len(self.courses[key]), **self.rows[key].as_dict()}
            for key in sorted(self.rows)
        ]


REPORT_COLUMNS = (
    "funder",
    "programme",
    "issuer",
    "partner",
    "courses",
    "enrolled",
    "withdrawn",
    "completed",
    "certified",
    "notified",
    "revoked",
)

"""Registration rules as plain code: no database, no broker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    CERTIFIED = "certified"
    NOTIFIED = "notified"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


# The main line of an enrolment's life; later services report the last two steps.
_PROGRESS = (Status.ENROLLED, Status.COMPLETED, Status.CERTIFIED, Status.NOTIFIED)


def can_move(current: Status, new: Status) -> bool:
    """Whether an enrolment in `current` may move to `new`.

    Events from other services may arrive late or out of order (an email can be reported sent
    before the certificate's issue is), so the main line only ever moves forward.
    """
    if current in (Status.WITHDRAWN, Status.REVOKED):
        return False
    if new is Status.WITHDRAWN:
        return current is Status.ENROLLED
    if new is Status.REVOKED:
        return current in (Status.CERTIFIED, Status.NOTIFIED)
    return _PROGRESS.index(new) > _PROGRESS.index(current)


def schedule_problem(sessions: Sequence[date], min_sessions: int) -> str | None:
    """What is wrong with a course's schedule, or None."""
    if not sessions:
        return "a course needs at least one session date"
    if len(set(sessions)) != len(sessions):
        return "session dates must not repeat"
    if not 1 <= min_sessions <= len(sessions):
        return f"min_sessions must be between 1 and the number of sessions ({len(sessions)})"
    return None


def meets_completion_rule(
    attended: Iterable[date], sessions: Sequence[date], min_sessions: int
) -> bool:
    """An enrolment completes once it attended `min_sessions` distinct sessions of its course."""
    return len(set(attended) & set(sessions)) >= min_sessions


def completion_date(attended: Iterable[date]) -> date:
    """The day the rule was met: the last session attended."""
    return max(attended)


# Fields a partner may correct after enrolment: a misspelt name, a mistyped email.
CORRECTABLE = ("full_name", "email", "position", "organisation")


def changed_fields(current: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    """The requested corrections that actually change something."""
    return {
        name: value
        for name, value in requested.items()
        if name in CORRECTABLE and current.get(name) != value
    }


def correction_needs_reissue(status: Status) -> bool:
    """Whether a correction must reach the certificate: once completed, the holder's details
    are on (or on their way to) a certificate, which then has to be issued again."""
    return status in (Status.COMPLETED, Status.CERTIFIED, Status.NOTIFIED)


def takes_reissue(status: Status) -> bool:
    """Whether a reissued certificate replaces the enrolment's current one (a revoked
    certificate is never reissued, and an enrolment must have been certified first)."""
    return status in (Status.CERTIFIED, Status.NOTIFIED)


def withdrawal_problem(status: Status) -> str | None:
    """Why an enrolment in `status` cannot be withdrawn, or None when it can."""
    if status is Status.WITHDRAWN or can_move(status, Status.WITHDRAWN):
        return None
    return (
        f"An enrolment that is {status.value} cannot be withdrawn: its completion is recorded "
        "and a certificate is issued or on its way (the admin can revoke a certificate)."
    )

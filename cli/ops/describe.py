"""What an event is, in a few words, for the `ops` tables: its short type, the service that
produced it, and a summary that leaves out personal data (names, email addresses)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_VERSIONED = re.compile(r"^attesta\.(?P<name>.+)\.v\d+$")
SUMMARY_WIDTH = 60


def short_type(event_type: str | None) -> str | None:
    """`attesta.enrolment.completed.v1` -> `enrolment.completed`; others unchanged."""
    if event_type is None:
        return None
    match = _VERSIONED.match(event_type)
    return match["name"] if match else event_type


def type_matches(event_type: str | None, wanted: str) -> bool:
    """`--type` takes the whole type or its short form (`certificate.issued`)."""
    return event_type is not None and wanted in (event_type, short_type(event_type))


def service_of(source: str | None) -> str | None:
    """The producing service from a CloudEvents source (`attesta/registration`)."""
    if not source:
        return None
    return source.rstrip("/").rsplit("/", 1)[-1]


def _course(data: Mapping[str, Any]) -> str | None:
    course = data.get("course")
    return str(course.get("code")) if isinstance(course, Mapping) and course.get("code") else None


def _join(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


def _labelled(label: str, value: Any) -> str | None:
    return None if value in (None, "", []) else f"{label} {value}"


# Per short type: what a person tracing a trainee wants to see. Never `holder`, `to`, `email`.
_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "enrolment.registered": lambda d: _join(
        _labelled("course", _course(d)), _labelled("ref", d.get("external_ref"))
    ),
    "enrolment.completed": lambda d: _join(
        _labelled("course", _course(d)), _labelled("completed on", d.get("completed_on"))
    ),
    "enrolment.corrected": lambda d: (
        _labelled("corrected", ", ".join(map(str, d.get("corrected_fields") or []))) or ""
    ),
    "certificate.issued": lambda d: _join(
        _labelled("certificate", d.get("certificate_number")),
        _labelled("version", d.get("version")),
        _labelled("replaces", d.get("replaces")),
    ),
    "certificate.revoked": lambda d: _join(
        _labelled("certificate", d.get("certificate_number")),
        _labelled("reason:", d.get("reason")),
    ),
    "notification.sent": lambda d: _join(
        _labelled("emailed certificate", d.get("certificate_number"))
    ),
    "notification.failed": lambda d: _join(
        _labelled("certificate", d.get("certificate_number")),
        # The server's answer may quote the address; the first words say why.
        _labelled("failed:", _first_words(d.get("error"))),
    ),
}


def _first_words(text: Any, words: int = 6) -> str | None:
    if not text:
        return None
    kept = [w for w in str(text).split() if "@" not in w][:words]
    return " ".join(kept)


def summary(event: Mapping[str, Any] | None) -> str:
    """One short line about an envelope's data; empty for a type it does not know."""
    if event is None:
        return "(not an event)"
    data = event.get("data")
    describe = _SUMMARIES.get(short_type(str(event.get("type"))) or "")
    if describe is None or not isinstance(data, Mapping):
        return ""
    return shorten(describe(data))


def shorten(text: str, width: int = SUMMARY_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"

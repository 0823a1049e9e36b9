"""Certification rules as plain code: numbering, verification codes, validity."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from shared.events import Holder


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # reissued after a correction: the newer version is the valid one


def number_prefix(course_code: str) -> str:
    """The issuer's series, from the first part of the course code (`FRMS-2002-DMT` → `FRMS`)."""
    head = re.split(r"[^A-Za-z0-9]", course_code, maxsplit=1)[0]
    return (head or "ATT")[:12].upper()


def series_key(prefix: str, year: int) -> str:
    """Numbers run per issuer series and year, so each series' counter is one document."""
    return f"{prefix}-{year}"


def format_number(prefix: str, year: int, sequence: int) -> str:
    """`FRMS-2002-000123`: readable over the phone, sortable, unique per series and year."""
    if sequence < 1:
        raise ValueError("certificate sequence numbers start at 1")
    return f"{series_key(prefix, year)}-{sequence:06d}"


def new_verification_code() -> str:
    """120 random bits in base32 (a–z, 2–7): unguessable, case-insensitive,
    and free of characters that URLs or QR readers mangle."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


def valid_until(issued_on: date, validity_months: int | None) -> date | None:
    if validity_months is None:
        return None
    months = issued_on.month - 1 + validity_months
    year, month = issued_on.year + months // 12, months % 12 + 1
    # The same day of the month, or the month's last day when it has no such day.
    for day in (issued_on.day, 30, 29, 28):
        try:
            return date(year, month, min(day, issued_on.day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def standing(status: CertificateStatus, valid_until: date | None, today: date) -> str:
    """What a verifier is told: `valid`, `revoked`, `superseded` or `expired`."""
    if status is not CertificateStatus.VALID:
        return status.value
    if valid_until is not None and today > valid_until:
        return "expired"
    return "valid"


def reissue_needed(
    status: CertificateStatus, printed: Mapping[str, str], corrected: Holder
) -> bool:
    """Whether a correction calls for a new version of the certificate: only a valid one is
    reissued (a revoked certificate stays revoked), and only when the name it prints or the
    address it was sent to changed (a replayed correction changes nothing)."""
    if status is not CertificateStatus.VALID:
        return False
    return (printed["full_name"], printed["email"]) != (corrected.full_name, corrected.email)


def signed_claims(certificate: Mapping[str, Any]) -> dict[str, Any]:
    """What the signature vouches for: everything the certificate prints, and nothing private
    beyond the holder's name (no email), so the signed data can travel inside the PDF."""
    course = certificate["course"]
    funder = course["funder"]
    return {
        "number": certificate["_id"],
        "version": certificate.get("version", 1),
        "replaces": certificate.get("replaces"),
        "verification_code": certificate["verification_code"],
        "holder": certificate["holder"]["full_name"],
        "course": {
            "code": course["code"],
            "title": course["title"],
            "language": course["language"],
            "sessions": list(course["sessions"]),
            "location": course.get("location"),
        },
        "issuer": course["issuer"]["name"],
        "funder": {
            "name": funder["name"],
            "programme": funder.get("programme"),
            "grant_id": funder.get("grant_id"),
        },
        "issued_on": certificate["issued_on"],
        "valid_until": certificate.get("valid_until"),
    }

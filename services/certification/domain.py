"""Certification rules as plain code: numbering, verification codes, validity."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from datetime import date
from enum import StrEnum

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

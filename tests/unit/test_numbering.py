from datetime import date

import pytest

from services.certification.domain import (
    CertificateStatus,
    format_number,
    new_verification_code,
    number_prefix,
    series_key,
    standing,
    valid_until,
)


def test_number_is_series_year_and_zero_padded_sequence() -> None:
    assert format_number("FRMS", 2002, 123) == "FRMS-2002-000123"


def test_series_comes_from_the_first_part_of_the_course_code() -> None:
    assert number_prefix("FRMS-2002-DMT") == "FRMS"
    assert number_prefix("frms.2002") == "FRMS"
    assert number_prefix("-odd") == "ATT"


def test_each_series_and_year_has_its_own_counter() -> None:
    assert series_key("FRMS", 2002) != series_key("FRMS", 2003)
    assert series_key("FRMS", 2002) != series_key("ESF", 2002)


def test_sequences_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_number("FRMS", 2002, 0)


def test_verification_codes_carry_at_least_80_random_bits() -> None:
    codes = {new_verification_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = codes.pop()
    assert len(code) * 5 >= 80  # base32: five bits a character
    assert code == code.lower() and code.isalnum()


def test_validity_counts_calendar_months_and_clamps_to_month_end() -> None:
    assert valid_until(date(2024, 3, 15), 24) == date(2026, 3, 15)
    assert valid_until(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert valid_until(date(2024, 1, 31), None) is None


def test_a_verifier_sees_revoked_and_expired_certificates_for_what_they_are() -> None:
    today = date(2025, 1, 1)
    assert standing(CertificateStatus.VALID, None, today) == "valid"
    assert standing(CertificateStatus.VALID, date(2024, 12, 31), today) == "expired"
    assert standing(CertificateStatus.REVOKED, None, today) == "revoked"

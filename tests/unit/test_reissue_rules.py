"""When a correction reissues a certificate, and what the old one then verifies as."""

from __future__ import annotations

from datetime import date

import pytest

from services.certification.domain import CertificateStatus, reissue_needed, standing
from services.registration.domain import Status, takes_reissue
from shared.events import Holder

PRINTED = {"full_name": "Ivan Petorv", "email": "ivan@example.bg"}


def test_a_corrected_name_on_a_valid_certificate_calls_for_a_new_version() -> None:
    fixed = Holder(full_name="Ivan Petrov", email="ivan@example.bg")
    assert reissue_needed(CertificateStatus.VALID, PRINTED, fixed)


def test_a_corrected_email_alone_calls_for_a_new_version_sent_to_the_new_address() -> None:
    moved = Holder(full_name="Ivan Petorv", email="ivan.petrov@example.bg")
    assert reissue_needed(CertificateStatus.VALID, PRINTED, moved)


def test_a_correction_that_changes_nothing_printed_or_sent_reissues_nothing() -> None:
    same = Holder(full_name="Ivan Petorv", email="ivan@example.bg", position="Clerk")
    assert not reissue_needed(CertificateStatus.VALID, PRINTED, same)


@pytest.mark.parametrize("status", [CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED])
def test_only_a_valid_certificate_is_reissued(status: CertificateStatus) -> None:
    fixed = Holder(full_name="Ivan Petrov", email="ivan@example.bg")
    assert not reissue_needed(status, PRINTED, fixed)


def test_a_superseded_certificate_verifies_as_superseded_even_before_it_expires() -> None:
    today = date(2003, 1, 1)
    assert standing(CertificateStatus.SUPERSEDED, date(2004, 1, 1), today) == "superseded"
    assert standing(CertificateStatus.VALID, date(2004, 1, 1), today) == "valid"
    assert standing(CertificateStatus.VALID, date(2002, 12, 31), today) == "expired"


@pytest.mark.parametrize(
    ("status", "takes"),
    [
        (Status.CERTIFIED, True),
        (Status.NOTIFIED, True),
        (Status.ENROLLED, False),
        (Status.COMPLETED, False),
        (Status.REVOKED, False),
        (Status.WITHDRAWN, False),
    ],
)
def test_an_enrolment_takes_a_reissued_certificate_only_once_certified(
    status: Status, takes: bool
) -> None:
    assert takes_reissue(status) is takes

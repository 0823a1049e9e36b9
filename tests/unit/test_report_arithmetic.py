"""Report counts: a trainee counts at every step it passed, grouped the way funders ask."""

from __future__ import annotations

from typing import Any

from services.registration.domain import Status, changed_fields, withdrawal_problem
from services.registration.reports import FunderReport, Funnel


def enrolment(*steps: str, partner: str = "p1") -> dict[str, Any]:
    return {"partner_id": partner, "status": steps[-1], "history": [{"status": s} for s in steps]}


def test_a_revoked_certificate_still_counts_as_completed_and_certified() -> None:
    funnel = Funnel()
    funnel.add(enrolment("enrolled", "completed", "certified", "notified", "revoked"))
    funnel.add(enrolment("enrolled", "withdrawn"))
    funnel.add(enrolment("enrolled"))
    assert funnel.as_dict() == {
        "enrolled": 3,
        "withdrawn": 1,
        "completed": 1,
        "certified": 1,
        "notified": 1,
        "revoked": 1,
    }


def test_the_funder_report_groups_by_programme_issuer_and_partner() -> None:
    course: dict[str, Any] = {
        "_id": "c1",
        "funder": {"name": "ESF", "programme": "Knowledge Education Development"},
        "issuer": {"name": "Fundacja"},
    }
    report = FunderReport()
    report.add(course, "Gmina B", [enrolment("enrolled", "completed")])
    report.add(course | {"_id": "c2"}, "Gmina B", [enrolment("enrolled")])
    report.add(course, "Gmina A", [enrolment("enrolled")])
    lines = report.lines()
    assert [(line["partner"], line["courses"], line["enrolled"]) for line in lines] == [
        ("Gmina A", 1, 1),
        ("Gmina B", 2, 2),
    ]
    assert lines[1]["completed"] == 1


def test_only_real_changes_count_as_corrections() -> None:
    current = {"full_name": "Jan Kowalski", "email": "jan@example.pl", "status": "enrolled"}
    requested = {"full_name": "Jan Kowalski", "email": "jan.k@example.pl", "status": "notified"}
    assert changed_fields(current, requested) == {"email": "jan.k@example.pl"}


def test_withdrawal_is_possible_only_before_completion() -> None:
    assert withdrawal_problem(Status.ENROLLED) is None
    assert withdrawal_problem(Status.WITHDRAWN) is None  # again: harmless
    for later in (Status.COMPLETED, Status.CERTIFIED, Status.NOTIFIED, Status.REVOKED):
        assert withdrawal_problem(later) is not None

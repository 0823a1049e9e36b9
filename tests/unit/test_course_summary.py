"""When a coordinator's summary is due, and what it says."""

from __future__ import annotations

from services.notification.course_summary import summarise, summary_due
from tests.unit.samples import course


def delivery(status: str, name: str = "Anna", reply: str = "") -> dict[str, str]:
    return {"status": status, "full_name": name, "to": f"{name.lower()}@town.bg", "reply": reply}


def test_the_summary_waits_until_every_expected_email_has_finished() -> None:
    assert not summary_due(3, [delivery("sent"), delivery("sent")]), "one certificate to come"
    assert not summary_due(2, [delivery("sent"), delivery("pending")])
    assert not summary_due(2, [delivery("sent"), delivery("held")])
    assert summary_due(2, [delivery("sent"), delivery("failed")])
    assert summary_due(0, []), "a course where no one completed is summarised at once"


def test_failed_and_unconfirmed_emails_are_listed_with_the_servers_answer() -> None:
    summary = summarise(
        course(),
        "Община Димитровград",
        "hr@dimitrovgrad.bg",
        [
            delivery("sent", "Anna"),
            delivery("failed", "Ivan", reply="550 5.1.1 No such user"),
            delivery("unconfirmed", "Petar"),
        ],
    )
    assert (summary.total, summary.sent, summary.failed) == (3, 1, 2)
    assert [(f.full_name, f.error) for f in summary.failures] == [
        ("Ivan", "550 5.1.1 No such user"),
        ("Petar", "unconfirmed"),
    ]

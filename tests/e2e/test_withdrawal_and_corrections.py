"""Withdrawal before completion, corrections of a misspelt name, and the status timeline."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import events_about, find_event


async def test_a_withdrawn_trainee_is_not_completed_by_a_later_attendance_upload(
    training: Training,
) -> None:
    partner, course_id = training.partner, training.course["id"]
    enrolment_id = await partner.enrol(course_id, "w1", "Петър Иванов", training.address("w1"))
    withdrawn = await partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/withdraw")
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["history"][-1]["cause"] == f"withdrawn by partner {training.partner_id}"

    for day in training.course["sessions"]:
        result = await partner.attend(course_id, day, ["w1"])
        assert result["withdrawn"] == ["w1"] and result["recorded"] == 0
    again = await partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/withdraw")
    assert [h["status"] for h in again["history"]] == ["enrolled", "withdrawn"]


async def test_a_completed_enrolment_cannot_be_withdrawn(training: Training) -> None:
    partner = training.partner
    enrolment_id = await training.complete("w2", "Anna Nowak")
    answer = await partner.call("registration", "POST", f"/v1/enrolments/{enrolment_id}/withdraw")
    assert answer.status_code == 409
    assert "revoke" in answer.json()["detail"]


async def test_a_correction_before_completion_changes_the_enrolment_and_emits_nothing(
    training: Training,
) -> None:
    partner = training.partner
    enrolment_id = await partner.enrol(
        training.course["id"], "c1", "Ivan Petorv", training.address("c1")
    )
    corrected = await partner.ok(
        "registration", "PATCH", f"/v1/enrolments/{enrolment_id}", json={"full_name": "Ivan Petrov"}
    )
    assert corrected["full_name"] == "Ivan Petrov"
    [correction] = corrected["corrections"]
    assert correction["changes"] == {"full_name": {"before": "Ivan Petorv", "after": "Ivan Petrov"}}
    assert correction["event_id"] is None
    same = await partner.ok(
        "registration", "PATCH", f"/v1/enrolments/{enrolment_id}", json={"full_name": "Ivan Petrov"}
    )
    assert len(same["corrections"]) == 1


async def test_a_correction_after_certification_is_announced_for_reissue(
    training: Training,
) -> None:
    partner = training.partner
    enrolment_id = await training.complete("c2", "Mariya Georgieva")

    async def certified() -> bool:
        return (await partner.enrolment(enrolment_id))["status"] in ("certified", "notified")

    await eventually(certified, what="the certificate")
    fixed = await partner.ok(
        "registration",
        "PATCH",
        f"/v1/enrolments/{enrolment_id}",
        json={"full_name": "Мария Георгиева", "email": training.address("c2-new")},
    )
    event_id = fixed["corrections"][0]["event_id"]
    assert event_id

    record = await find_event(training.stack.kafka, "enrolment.corrected", enrolment_id)
    assert len(await events_about(training.stack.kafka, "enrolment.corrected", enrolment_id)) == 1
    event = json.loads(record.value)
    assert event["id"] == event_id and event["type"] == "attesta.enrolment.corrected.v1"
    assert event["data"]["holder"]["full_name"] == "Мария Георгиева"
    assert event["data"]["holder"]["email"] == training.address("c2-new")
    assert event["data"]["corrected_fields"] == ["email", "full_name"]


async def test_the_timeline_names_what_caused_each_step(training: Training, admin: Api) -> None:
    partner, course_id = training.partner, training.course["id"]
    enrolment_id = await partner.enrol(course_id, "t1", "Ewa Zielińska", training.address("t1"))
    first, second = training.course["sessions"]
    await partner.attend(course_id, first, ["t1"])
    await partner.attend(course_id, second, ["t1"])

    async def notified() -> dict[str, Any] | None:
        found = await partner.enrolment(enrolment_id)
        return found if found["status"] == "notified" else None

    enrolment = await eventually(notified, what="the email to be reported sent")
    steps = {step["status"]: step for step in enrolment["history"]}
    assert list(steps) == ["enrolled", "completed", "certified", "notified"]
    assert steps["completed"]["cause"] == f"attendance on {second}"
    assert steps["completed"]["event_type"] == "attesta.enrolment.completed.v1"
    assert steps["certified"]["event_type"] == "attesta.certificate.issued.v1"
    assert enrolment["certificate_number"] in steps["certified"]["cause"]
    assert steps["notified"]["event_type"] == "attesta.notification.sent.v1"
    [completed_event] = await events_about(
        training.stack.kafka, "enrolment.completed", enrolment_id
    )
    assert json.loads(completed_event.value)["id"] == steps["completed"]["event_id"]

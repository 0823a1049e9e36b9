"""Bad input gets a clear error and changes nothing; a poison event is set aside, not fatal."""

from __future__ import annotations

import json

from tests.conftest import Stack, eventually
from tests.e2e.api_client import Api, course_body
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import produce, read_all, wait_consumed


async def test_invalid_course_is_refused_with_problem_json_naming_each_field(admin: Api) -> None:
    body = course_body([], language="de", min_sessions=5)
    del body["issuer"]["name"]
    response = await admin.call("registration", "POST", "/v1/courses", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert {"language", "issuer.name"} <= fields
    assert "language" in problem["detail"]


async def test_course_whose_min_sessions_exceeds_its_sessions_is_refused(admin: Api) -> None:
    response = await admin.call(
        "registration", "POST", "/v1/courses", json=course_body([], min_sessions=3)
    )
    assert response.status_code == 422
    assert "min_sessions" in response.text


async def test_callers_without_a_known_key_get_401_and_partners_get_403_on_admin_calls(
    admin: Api, training: Training
) -> None:
    nobody = admin.as_partner("not-a-key")
    response = await nobody.call("registration", "POST", "/v1/partners", json={"name": "x"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    response = await training.partner.call(
        "registration", "POST", "/v1/partners", json={"name": "x"}
    )
    assert response.status_code == 403
    await nobody.close()


async def test_a_partner_cannot_see_or_touch_another_partners_enrolments(
    admin: Api, training: Training
) -> None:
    enrolment_id = await training.partner.enrol(
        training.course["id"], "mine", "Jan Kowalski", training.address("mine")
    )
    other = await admin.create_partner("Another town")
    stranger = admin.as_partner(other["api_key"])
    response = await stranger.call("registration", "GET", f"/v1/enrolments/{enrolment_id}")
    assert response.status_code == 404
    response = await stranger.call(
        "registration",
        "POST",
        f"/v1/courses/{training.course['id']}/attendance",
        json={"session": "2002-09-10", "present": ["mine"]},
    )
    assert response.status_code == 404, "a course the partner is not on does not exist for it"
    await stranger.close()


async def test_attendance_for_a_date_outside_the_course_changes_nothing(
    training: Training,
) -> None:
    partner, course_id = training.partner, training.course["id"]
    enrolment_id = await partner.enrol(course_id, "late", "Пётр Иванов", training.address("late"))
    response = await partner.call(
        "registration",
        "POST",
        f"/v1/courses/{course_id}/attendance",
        json={"session": "2002-10-01", "present": ["late"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "session", "message": "not a session date of this course"}
    ]
    assert (await partner.enrolment(enrolment_id))["attended_sessions"] == []


async def test_enrolling_the_same_external_ref_again_returns_the_same_enrolment(
    training: Training,
) -> None:
    partner, course_id = training.partner, training.course["id"]
    body = {"external_ref": "same", "full_name": "Ewa Nowak", "email": training.address("same")}
    first = await partner.call(
        "registration", "POST", f"/v1/courses/{course_id}/enrolments", json=body
    )
    second = await partner.call(
        "registration", "POST", f"/v1/courses/{course_id}/enrolments", json=body
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


async def test_bulk_csv_keeps_good_rows_and_reports_bad_ones_by_row(training: Training) -> None:
    csv_text = (
        "\ufeffexternal_ref;full_name;email\n"
        f"b1;Анна Петрова;{training.address('b1')}\n"
        "b2;;not-an-email\n"
        f"b3;Zofia Wójcik;{training.address('b3')}\n"
        f"b1;Анна Петрова;{training.address('b1')}\n"
    )
    result = await training.partner.ok(
        "registration",
        "POST",
        f"/v1/courses/{training.course['id']}/enrolments/bulk",
        content=csv_text.encode(),
        headers={"content-type": "text/csv"},
    )
    assert result["accepted"] == 2
    assert result["duplicates"] == 1
    [rejected] = result["rejected"]
    assert rejected["row"] == 2
    assert {e["field"] for e in rejected["errors"]} == {"full_name", "email"}


async def test_poison_events_go_to_the_dead_letter_topic_and_the_consumer_keeps_going(
    stack: Stack, training: Training
) -> None:
    poison = [
        b"{not json",
        json.dumps({"id": "x", "type": "attesta.enrolment.completed.v1"}).encode(),
    ]
    for value in poison:
        await produce(stack.kafka, "enrolment.completed", b"poison", value)
    partition, offset = await produce(stack.kafka, "enrolment.completed", b"poison", b"[]")
    await wait_consumed(
        stack.kafka, "certification.enrolment.completed", "enrolment.completed", partition, offset
    )

    dead = [r for r in await read_all(stack.kafka, "enrolment.completed.dlq") if r.key == b"poison"]
    assert sorted(r.value for r in dead) == sorted([*poison, b"[]"])
    headers = dict(dead[0].headers)
    assert headers["dlq_original_topic"] == b"enrolment.completed"
    assert headers["dlq_service"] == b"certification"
    assert headers["dlq_error"]

    # The same consumer still issues certificates after the poison.
    partner = training.partner
    enrolment_id = await training.complete("after-poison", "Ivan Horvat")

    async def certified() -> bool:
        return bool((await partner.enrolment(enrolment_id))["certificate_number"])

    await eventually(certified, what="a certificate after the poison messages")

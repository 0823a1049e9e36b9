"""A course can hold its emails until the admin releases it; the admin sees every email in the
delivery log, previews held ones, and resends a finished one."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import eventually
from tests.e2e.api_client import Api, course_body
from tests.e2e.conftest import Training


async def held_course(training: Training, **overrides: Any) -> dict[str, Any]:
    course = await training.admin.create_course(
        course_body([training.partner_id], hold_emails=True, **overrides)
    )
    training.course = course
    return course


async def delivery_of(admin: Api, enrolment_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = [d for d in await admin.deliveries(enrolment_id) if d["status"] == status]
        return found[0] if found else None

    return await eventually(probe, what=f"a {status} delivery of {enrolment_id}")


async def test_a_held_course_mails_no_one_until_the_admin_releases_it(
    training: Training,
) -> None:
    admin = training.admin
    course = await held_course(training)
    first = await training.complete("h-1", "Мария Георгиева")
    second = await training.complete("h-2", "Петър Иванов")

    held = await delivery_of(admin, first, "held")
    await delivery_of(admin, second, "held")
    listed = await admin.ok(
        "notification",
        "GET",
        "/v1/deliveries",
        params={"course_id": course["id"], "status": "held"},
    )
    assert len(listed) == 2
    preview = await admin.ok("notification", "GET", f"/v1/deliveries/{held['id']}/preview")
    assert "Мария Георгиева" in preview["text"]
    assert preview["to"] == [f"Мария Георгиева <{training.address('h-1')}>"]
    assert preview["attachments"] == [f"{held['certificate_number']}.pdf"]
    await asyncio.sleep(1.0)
    assert training.emails() == []
    assert (await training.partner.enrolment(first))["status"] == "certified"

    released = await admin.ok("registration", "POST", f"/v1/courses/{course['id']}/release")
    assert released["course_id"] == course["id"]
    again = await admin.ok("registration", "POST", f"/v1/courses/{course['id']}/release")
    assert again["released_at"] == released["released_at"], "a second release changes nothing"

    await delivery_of(admin, first, "sent")
    await delivery_of(admin, second, "sent")
    later = await training.complete("h-3", "Анна Петрова")
    await delivery_of(admin, later, "sent")
    assert len(training.emails()) == 3
    course_now = await admin.ok("registration", "GET", f"/v1/courses/{course['id']}")
    assert course_now["released_at"] == released["released_at"]


async def test_releasing_a_course_that_holds_nothing_is_refused(training: Training) -> None:
    response = await training.admin.call(
        "registration", "POST", f"/v1/courses/{training.course['id']}/release"
    )
    assert response.status_code == 409
    assert "does not hold" in response.json()["detail"]


async def test_a_partner_cannot_release_a_course(training: Training) -> None:
    course = await held_course(training)
    response = await training.partner.call(
        "registration", "POST", f"/v1/courses/{course['id']}/release"
    )
    assert response.status_code == 403


async def test_the_admin_resends_a_sent_email_with_a_new_message_id(training: Training) -> None:
    admin = training.admin
    enrolment_id = await training.complete("r-1", "Елена Димитрова")
    sent = await delivery_of(admin, enrolment_id, "sent")
    assert len(training.emails_to("r-1")) == 1

    refused = await admin.call("notification", "POST", f"/v1/deliveries/{sent['id']}/resend")
    assert refused.status_code == 202, refused.text
    assert refused.json()["status"] == "pending"

    async def twice() -> list[Any] | None:
        emails = training.emails_to("r-1")
        return emails if len(emails) == 2 else None

    first, second = await eventually(twice, what="the resent email")
    assert first["Message-ID"] != second["Message-ID"]
    detail = await admin.ok("notification", "GET", f"/v1/deliveries/{sent['id']}")
    assert detail["resends"] == 1
    assert [a["outcome"] for a in detail["history"]] == ["sent", "sent"]


async def test_the_delivery_log_pages_with_a_link_header(training: Training) -> None:
    admin = training.admin
    for n in range(3):
        await training.complete(f"p-{n}", f"Trainee {n}")
    course_id = training.course["id"]

    async def all_sent() -> bool:
        docs = await admin.ok(
            "notification", "GET", "/v1/deliveries", params={"course_id": course_id}
        )
        return len(docs) == 3 and all(d["status"] == "sent" for d in docs)

    await eventually(all_sent, what="three sent emails")
    first = await admin.call(
        "notification", "GET", "/v1/deliveries", params={"course_id": course_id, "limit": 2}
    )
    assert len(first.json()) == 2
    next_url = first.links["next"]["url"]
    rest = await admin.http.get(next_url, headers={"Authorization": f"Bearer {admin.key}"})
    assert len(rest.json()) == 1
    assert "next" not in rest.links
    ids = [d["id"] for d in first.json() + rest.json()]
    assert len(set(ids)) == 3

    async def created(**window: str) -> int:
        params = {"course_id": course_id, **window}
        return len(await admin.ok("notification", "GET", "/v1/deliveries", params=params))

    assert await created(since="2000-01-01T00:00:00Z") == 3
    assert await created(since="2100-01-01T00:00:00") == 0
    assert await created(until="2000-01-01T00:00:00Z") == 0


async def test_an_unknown_delivery_is_a_404_problem(admin: Api) -> None:
    response = await admin.call("notification", "POST", "/v1/deliveries/certificate:nope/resend")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_email_the_server_refuses_is_failed_and_shown_in_the_timeline(
    training: Training,
) -> None:
    admin = training.admin
    address = f"bounce.{training.tag}@example.bg"
    enrolment_id = await training.partner.enrol(
        training.course["id"], "b-1", "Стоян Колев", address
    )
    await training.partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")

    failed = await delivery_of(admin, enrolment_id, "failed")
    assert failed["reply"].startswith("550 5.1.1")
    assert failed["attempts"] == 1

    async def noted() -> dict[str, Any] | None:
        enrolment = await training.partner.enrolment(enrolment_id)
        causes = [h["cause"] for h in enrolment["history"]]
        return enrolment if any("failed: 550" in c for c in causes) else None

    enrolment = await eventually(noted, what="the failure in the enrolment's timeline")
    assert enrolment["status"] == "certified"


async def test_a_course_that_confirms_enrolments_emails_each_trainee_the_dates(
    training: Training,
) -> None:
    course = await training.admin.create_course(
        course_body([training.partner_id], confirm_enrolments=True, language="en")
    )
    training.course = course
    await training.partner.enrol(course["id"], "c-1", "Anna Nowak", training.address("c-1"))
    bulk = await training.partner.ok(
        "registration",
        "POST",
        f"/v1/courses/{course['id']}/enrolments/bulk",
        json={
            "enrolments": [
                {
                    "external_ref": "c-2",
                    "full_name": "Jan Kowalski",
                    "email": training.address("c-2"),
                },
                {"external_ref": "c-3", "full_name": "Bad", "email": "not-an-address"},
            ]
        },
    )
    assert bulk["accepted"] == 1

    async def confirmed() -> list[Any] | None:
        emails = training.emails()
        return emails if len(emails) == 2 else None

    emails = await eventually(confirmed, what="two confirmations")
    [anna] = training.emails_to("c-1")
    assert str(anna["Subject"]).startswith("Registration confirmed")
    text = anna.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    # Dates as the certificate writes them, in the course's language.
    assert "September 10, 2002" in text and "September 11, 2002" in text
    assert f"Municipality {training.tag}" in text
    assert not list(anna.iter_attachments())
    assert {str(m["To"].addresses[0].display_name) for m in emails} == {
        "Anna Nowak",
        "Jan Kowalski",
    }


async def test_a_course_without_confirmations_sends_nothing_on_enrolment(
    training: Training,
) -> None:
    enrolment_id = await training.partner.enrol(
        training.course["id"], "n-1", "Иван Петров", training.address("n-1")
    )
    await asyncio.sleep(1.0)
    assert training.emails() == []
    assert await training.admin.deliveries(enrolment_id) == []


async def test_the_coordinator_gets_one_summary_once_the_certificates_are_out(
    admin: Api, training: Training
) -> None:
    contact = f"coordinator.{training.tag}@town.example"
    created = await admin.ok(
        "registration",
        "POST",
        "/v1/partners",
        json={"name": f"Town {training.tag}", "contact_email": contact},
    )
    course = await admin.create_course(course_body([created["id"]], language="en"))
    partner = admin.as_partner(created["api_key"])
    try:
        for ref, name, address in [
            ("s-1", "Anna Nowak", training.address("s-1")),
            ("s-2", "Jan Kowalski", training.address("s-2")),
            ("s-3", "Piotr Zieliński", f"bounce.{training.tag}@town.example"),
        ]:
            enrolment_id = await partner.enrol(course["id"], ref, name, address)
            await partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")
        await partner.enrol(course["id"], "s-4", "Never Came", training.address("s-4"))

        [closure] = await partner.ok("registration", "POST", f"/v1/courses/{course['id']}/close")
        assert closure["expected_certificates"] == 3
        assert closure["summary_to"] == contact

        def summaries() -> list[Any] | None:
            found = [m for m in training.stack.emails() if contact in str(m["To"])]
            return found or None

        [summary] = await eventually(summaries, what="the coordinator's summary")
        assert "3" in str(summary["Subject"]) and "2 of 3" in str(summary["Subject"])
        text = summary.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "Sent: 2 of 3" in text
        assert "Piotr Zieliński" in text and "550" in text

        again = await partner.ok("registration", "POST", f"/v1/courses/{course['id']}/close")
        assert again[0]["closed_at"] == closure["closed_at"]
        await asyncio.sleep(1.0)
        assert len(summaries() or []) == 1, "one summary, however often the course is closed"
    finally:
        await partner.close()


async def test_ops_read_email_outcomes_and_the_queue_on_metrics(training: Training) -> None:
    admin = training.admin
    url = admin.urls["notification"]

    async def sample(name: str, **labels: str) -> float:
        text = (await admin.http.get(f"{url}/metrics")).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}} "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    sent_before = await sample("attesta_email_attempts_total", kind="certificate", outcome="sent")
    failed_before = await sample(
        "attesta_email_attempts_total", kind="certificate", outcome="failed"
    )
    good = await training.complete("m-1", "Ана Иванова")
    bad = await training.partner.enrol(
        training.course["id"], "m-2", "Борис Колев", f"bounce.m.{training.tag}@example.bg"
    )
    await training.partner.ok("registration", "POST", f"/v1/enrolments/{bad}/complete")
    await delivery_of(admin, good, "sent")
    await delivery_of(admin, bad, "failed")

    sent = await sample("attesta_email_attempts_total", kind="certificate", outcome="sent")
    failed = await sample("attesta_email_attempts_total", kind="certificate", outcome="failed")
    assert sent >= sent_before + 1
    assert failed >= failed_before + 1
    text = (await admin.http.get(f"{url}/metrics")).text
    assert 'attesta_emails_queued{status="pending"}' in text
    assert "attesta_email_send_seconds_count" in text

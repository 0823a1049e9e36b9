"""Nothing twice: repeats and redeliveries never make a second certificate or email."""

from __future__ import annotations

import json
import uuid

from tests.conftest import Services, Stack, eventually
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import events_about, find_event, produce, wait_consumed


async def complete_both_days(training: Training, ref: str, name: str) -> tuple[str, str]:
    """Enrol `ref`, attend both sessions, wait for the email: (enrolment id, certificate)."""
    partner, course_id = training.partner, training.course["id"]
    enrolment_id = await partner.enrol(course_id, ref, name, training.address(ref))
    await partner.attend(course_id, "2002-09-10", [ref])
    await partner.attend(course_id, "2002-09-11", [ref])
    return enrolment_id, await certified_and_mailed(training, ref, enrolment_id)


async def certified_and_mailed(training: Training, ref: str, enrolment_id: str) -> str:
    async def notified() -> str | None:
        enrolment = await training.partner.enrolment(enrolment_id)
        return str(enrolment["certificate_number"]) if enrolment["status"] == "notified" else None

    number = await eventually(notified, what=f"{ref} to be notified")
    assert len(training.emails_to(ref)) == 1
    return number


async def test_recording_the_same_attendance_twice_issues_no_second_certificate(
    training: Training, stack: Stack
) -> None:
    partner, course_id = training.partner, training.course["id"]
    enrolment_id, number = await complete_both_days(training, "twice", "Мария Иванова")

    again = await partner.attend(course_id, "2002-09-11", ["twice"])
    assert again == {"recorded": 0, "completed": 0, "unknown": [], "withdrawn": []}
    again = await partner.attend(course_id, "2002-09-10", ["twice"])
    assert again["completed"] == 0

    completions = await events_about(stack.kafka, "enrolment.completed", enrolment_id)
    assert len(completions) == 1, "one completion event, however often attendance is posted"
    assert (await partner.enrolment(enrolment_id))["certificate_number"] == number
    assert len(training.emails_to("twice")) == 1


async def test_redelivered_completion_event_issues_no_second_certificate_or_email(
    training: Training, stack: Stack, services: Services
) -> None:
    partner = training.partner
    enrolment_id, number = await complete_both_days(training, "redeliver", "Олег Смирнов")

    completed = await find_event(stack.kafka, "enrolment.completed", enrolment_id)
    issued = await find_event(stack.kafka, "certificate.issued", enrolment_id)
    # The very same message again, as Kafka does after a consumer crash ...
    partition, offset = await produce(
        stack.kafka, "enrolment.completed", completed.key, completed.value
    )
    await wait_consumed(
        stack.kafka, "certification.enrolment.completed", "enrolment.completed", partition, offset
    )
    # ... and the same completion under a new event id, as a replayed outbox would.
    renamed = json.loads(completed.value) | {"id": str(uuid.uuid4())}
    partition, offset = await produce(
        stack.kafka, "enrolment.completed", completed.key, json.dumps(renamed).encode()
    )
    await wait_consumed(
        stack.kafka, "certification.enrolment.completed", "enrolment.completed", partition, offset
    )
    # And the certificate event itself twice to the mailer.
    partition, offset = await produce(stack.kafka, "certificate.issued", issued.key, issued.value)
    await wait_consumed(
        stack.kafka, "notification.certificate.issued", "certificate.issued", partition, offset
    )

    issued_events = await events_about(stack.kafka, "certificate.issued", enrolment_id)
    assert len(issued_events) == 2, "the original and our redelivery: no new certificate"
    assert (await partner.enrolment(enrolment_id))["certificate_number"] == number
    assert len(training.emails_to("redeliver")) == 1
    deliveries = await training.admin.deliveries(enrolment_id)
    assert [(d["certificate_number"], d["status"], d["attempts"]) for d in deliveries] == [
        (number, "sent", 1)
    ]

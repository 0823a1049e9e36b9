"""`attesta outbox`: replaying what a service published is safe — every consumer drops the
events it has seen, so a trainee still has one certificate and one email."""

from __future__ import annotations

import json

from shared import topics
from tests.conftest import Stack, eventually
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import events_about, wait_consumed
from tests.e2e.test_cli import Attesta, attesta

__all__ = ["attesta"]


async def test_replaying_certification_outbox_republishes_and_changes_nothing_downstream(
    training: Training, stack: Stack, attesta: Attesta
) -> None:
    certificate = await training.certify("replay-1", "Ирина Колева")
    enrolment_id = certificate["enrolment_id"]
    await eventually(lambda: training.emails_to("replay-1"), what="the certificate email")

    run = attesta(
        "outbox", "replay", "--service", "certification", "--since", "10m",
        "--topic", topics.CERTIFICATE_ISSUED,
    )  # fmt: skip

    assert run.code == 0, run.err
    assert "queued to be published again" in run.out

    async def two_copies() -> list[object] | None:
        found = await events_about(stack.kafka, topics.CERTIFICATE_ISSUED, enrolment_id)
        return found if len(found) >= 2 else None

    copies = await eventually(two_copies, what="the republished certificate.issued")
    assert len({json.loads(r.value)["id"] for r in copies}) == 1  # type: ignore[attr-defined]
    last = copies[-1]
    for group in ("notification", "registration"):
        await wait_consumed(
            stack.kafka,
            f"{group}.{topics.CERTIFICATE_ISSUED}",
            topics.CERTIFICATE_ISSUED,
            last.partition,  # type: ignore[attr-defined]
            last.offset,  # type: ignore[attr-defined]
        )
    assert len(training.emails_to("replay-1")) == 1
    assert len(await training.admin.deliveries(enrolment_id)) == 1
    history = (await training.partner.enrolment(enrolment_id))["history"]
    assert [step["status"] for step in history].count("certified") == 1


def test_outbox_status_shows_every_service(attesta: Attesta) -> None:
    run = attesta("outbox", "status", "--json")

    assert run.code == 0, run.err
    states = run.json()
    assert [s["service"] for s in states] == ["registration", "certification", "notification"]
    assert all(s["pending"] >= 0 and s["published_kept"] >= 0 for s in states)


def test_a_since_without_an_offset_is_refused_with_usage(attesta: Attesta) -> None:
    run = attesta("outbox", "replay", "--service", "all", "--since", "2026-11-23T10:00")

    assert run.code == 64
    assert "no UTC offset" in run.err


def test_replay_needs_the_admin(attesta: Attesta, training: Training) -> None:
    partner_key = training.partner.key
    run = attesta("outbox", "status", "--service", "registration", key=partner_key)

    assert run.code == 1
    assert "administrator" in run.err

"""The notification service killed mid-retry or mid-send, as a process: after a restart every
certificate email goes out once, and one the server may already have accepted is not sent again.

The stack's mail sink is swapped for a scripted SMTP server on the same port for these tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.devstack import servers
from tests.conftest import Services, Stack, eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training
from tests.smtp_servers import ScriptedSmtpServer


@pytest.fixture
def scripted_sink(stack: Stack) -> Iterator[ScriptedSmtpServer]:
    [sink] = [c for c in stack.children if c.name == "smtp sink"]
    sink.stop()
    server = ScriptedSmtpServer()
    server.port = stack.smtp_port
    server.start()
    try:
        yield server
    finally:
        server.stop()
        index = stack.children.index(sink)
        stack.children[index] = servers.start_mail_sink(
            stack.smtp_port, stack.mail_dir, stack.root / "logs"
        )


def kill_notification(services: Services) -> None:
    [child] = [c for c in services.children if c.name == "notification"]
    child.kill()  # SIGKILL: no shutdown, no goodbye to the mail server


def restart_notification(services: Services) -> None:
    index = next(i for i, c in enumerate(services.children) if c.name == "notification")
    port = services.children[index].port
    [child] = servers.start_services({"notification": port}, services.env, services.log_dir)
    services.children[index] = child


async def delivery(admin: Api, enrolment_id: str) -> dict[str, Any] | None:
    found = await admin.deliveries(enrolment_id)
    return found[0] if found else None


async def test_a_retry_schedule_survives_killing_the_service(
    training: Training, services: Services, scripted_sink: ScriptedSmtpServer
) -> None:
    scripted_sink.answer_data(then="451 4.3.2 System not accepting network messages")
    enrolment_id = await training.complete("k-1", "Милена Стоянова")

    async def between_attempts() -> dict[str, Any] | None:
        # Killed between two attempts, not during one (that case is the next test's).
        found = await delivery(training.admin, enrolment_id)
        if not found or found["attempts"] < 2 or found["status"] != "pending":
            return None
        due = datetime.fromisoformat(found["next_attempt_at"])
        return found if due - datetime.now(UTC) > timedelta(seconds=0.4) else None

    waiting = await eventually(between_attempts, interval=0.05, what="a scheduled retry")
    assert "451" in waiting["last_error"]
    kill_notification(services)
    scripted_sink.answer_data()  # the server is fine again while the service is down
    restart_notification(services)

    async def sent() -> dict[str, Any] | None:
        found = await delivery(training.admin, enrolment_id)
        return found if found and found["status"] == "sent" else None

    done = await eventually(sent, what="the email after the restart")
    assert done["attempts"] >= 3
    assert len(scripted_sink.received) == 1

    async def notified() -> bool:
        # The registration service learns of the email from notification.sent, a hop later.
        return bool((await training.partner.enrolment(enrolment_id))["status"] == "notified")

    assert await eventually(notified, what="the enrolment marked notified")


async def test_killed_while_the_server_had_the_message_it_is_not_sent_twice(
    training: Training, services: Services, scripted_sink: ScriptedSmtpServer
) -> None:
    release = scripted_sink.hold_data()
    enrolment_id = await training.complete("k-2", "Zofia Wiśniewska")
    assert await asyncio.to_thread(scripted_sink.data_arrived.wait, 60)

    kill_notification(services)
    release.set()  # the server accepts what the dead process handed over
    assert len(await scripted_sink.received_count(1)) == 1
    restart_notification(services)

    async def resolved() -> dict[str, Any] | None:
        found = await delivery(training.admin, enrolment_id)
        return found if found and found["status"] == "unconfirmed" else None

    unconfirmed = await eventually(resolved, what="the delivery marked unconfirmed")
    await asyncio.sleep(1.0)
    assert len(scripted_sink.received) == 1, "no second email"
    assert "may or may not have been accepted" in unconfirmed["last_error"]

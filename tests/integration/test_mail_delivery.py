"""Delivering emails against real SMTP servers that misbehave on cue, with the real database.

Each test runs the notification service's intake and dispatcher in process on a fresh database
of the embedded MongoDB-wire server, and a scripted aiosmtpd server over TCP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo.errors import AutoReconnect

from services.notification.composing import Composer, MailIdentity
from services.notification.dispatcher import Dispatcher, DispatchSettings
from services.notification.intake import Intake, certificate_delivery_id
from services.notification.letters import LetterWriter
from services.notification.metrics import EmailMetrics
from services.notification.recipient_limits import RecipientRateLimit
from services.notification.retrying import RetryPolicy
from services.notification.smtp import SmtpChannel, SmtpConfig
from services.notification.store import NotificationStore
from shared import outbox, topics
from shared.events import CertificateIssuedV1, CourseReleasedV1, Issuer, new_event
from shared.mongo import Database, Document
from tests.conftest import eventually
from tests.smtp_servers import ScriptedSmtpServer, self_signed_context
from tests.unit.samples import course, issued

FAST = RetryPolicy(first_delay=0.05, max_delay=0.2, give_up_after=3600)


@pytest.fixture
def server() -> AsyncIterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as started:
        yield started


@dataclass
class Notification:
    """The notification service's sending half, as the service composes it."""

    store: NotificationStore
    server: ScriptedSmtpServer
    policy: RetryPolicy = FAST
    per_minute: int = 0
    lease: float = 30.0
    smtp: dict[str, Any] = field(default_factory=dict)
    running: list[Dispatcher] = field(default_factory=list)

    def dispatcher(self, **overrides: Any) -> Dispatcher:
        config = SmtpConfig(host="127.0.0.1", port=self.server.port, timeout=5.0, **self.smtp)
        composer = Composer(
            MailIdentity("Attesta <certificates@attesta.example>", None, "attesta.example")
        )
        settings = DispatchSettings(
            connections=1, lease_seconds=self.lease, poll_seconds=0.05, outage_pause_seconds=0.05
        )
        return Dispatcher(
            self.store,
            LetterWriter(composer, processes=overrides.get("processes", 0)),
            lambda: SmtpChannel(config),
            metrics=EmailMetrics(CollectorRegistry()),
            policy=overrides.get("policy", self.policy),
            limit=RecipientRateLimit(
                self.per_minute, clock=lambda: asyncio.get_running_loop().time()
            ),
            settings=settings,
        )

    async def crash(self, dispatcher: Dispatcher, release: threading.Event) -> None:
        """Stop `dispatcher` at once, mid-send, while the server holds what it was given (which
        it then answers, to a sender that is gone)."""
        stopping = asyncio.create_task(dispatcher.stop(grace_seconds=0))
        release.set()
        await stopping
        self.running.remove(dispatcher)

    def start(self, **overrides: Any) -> Dispatcher:
        dispatcher = self.dispatcher(**overrides)
        dispatcher.start()
        self.running.append(dispatcher)
        return dispatcher

    @property
    def intake(self) -> Intake:
        return Intake(self.store, lambda: [d.wake() for d in self.running] and None)

    async def issue(self, event: CertificateIssuedV1) -> str:
        await self.intake.certificate_issued(new_event(event, source="test", subject="e1"))
        return certificate_delivery_id(event.certificate_number)

    async def delivery(self, delivery_id: str) -> Document:
        doc = await self.store.delivery(delivery_id)
        assert doc is not None
        return doc

    async def settled(self, delivery_id: str, status: str) -> Document:
        async def probe() -> Document | None:
            doc = await self.delivery(delivery_id)
            return doc if doc["status"] == status else None

        return await eventually(probe, timeout=20, interval=0.05, what=f"{delivery_id} {status}")

    async def announced(self, topic: str) -> list[dict[str, Any]]:
        import json

        rows = self.store.database.db[outbox.COLLECTION].find({"topic": topic})
        return [json.loads(row["value"]) async for row in rows]


@pytest.fixture
async def notification(
    database: Database, server: ScriptedSmtpServer
) -> AsyncIterator[Notification]:
    store = NotificationStore(database)
    await store.ensure_indexes()
    service = Notification(store, server)
    yield service
    for dispatcher in service.running:
        await dispatcher.stop(grace_seconds=1)
        dispatcher.letters.close()


def certificate(number: str | None = None, **changes: Any) -> CertificateIssuedV1:
    number = number or f"T-{uuid.uuid4().hex[:8]}"
    return issued(pdf=b"%PDF-1.7 test").model_copy(update={"certificate_number": number, **changes})


async def test_a_server_answering_421_and_451_for_a_while_gets_the_email_once_it_accepts(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.answer_data("421 4.3.2 Service shutting down", "451 4.7.1 Greylisted, try again")
    delivery_id = await notification.issue(certificate())
    notification.start(processes=1)  # as the service runs: emails built in a worker process

    sent = await notification.settled(delivery_id, "sent")

    assert len(server.received) == 1
    assert server.data_attempts == 3
    assert sent["attempts"] == 3
    history = await notification.store.attempts_of(delivery_id)
    assert [a["outcome"] for a in history] == ["pending", "pending", "sent"]
    assert "421" in history[0]["reply"] and "451" in history[1]["reply"]
    [announced] = await notification.announced(topics.NOTIFICATION_SENT)
    assert announced["data"]["certificate_number"] == sent["certificate_number"]


async def test_a_permanent_refusal_is_not_retried_and_is_announced_as_failed(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.answer_data(then="550 5.1.1 <ivanka@example.bg>: Recipient address rejected")
    delivery_id = await notification.issue(certificate())
    notification.start()

    failed = await notification.settled(delivery_id, "failed")
    await asyncio.sleep(0.3)  # long enough for several retries, were there any

    assert server.data_attempts == 1
    assert failed["attempts"] == 1
    assert "550 5.1.1" in failed["reply"]
    [announced] = await notification.announced(topics.NOTIFICATION_FAILED)
    assert "Recipient address rejected" in announced["data"]["error"]
    assert await notification.announced(topics.NOTIFICATION_SENT) == []


async def test_a_refused_holder_address_fails_at_once(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.refuse_recipient("ivanka@example.bg", "550 5.1.1 No such user")
    delivery_id = await notification.issue(certificate())
    notification.start()

    failed = await notification.settled(delivery_id, "failed")
    assert "No such user" in failed["last_error"]
    assert server.data_attempts == 0


async def test_a_refused_copy_does_not_stop_the_holders_email(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.refuse_recipient("hr@town.example", "550 5.1.1 No such user")
    event = certificate(course=course(copy_to=["hr@town.example"]))
    delivery_id = await notification.issue(event)
    notification.start()

    sent = await notification.settled(delivery_id, "sent")
    [received] = server.received
    assert received.rcpt_tos == ["ivanka@example.bg"]
    assert "hr@town.example: 550" in sent["last_error"]


async def test_emails_wait_while_the_server_is_down_and_go_out_when_it_is_back(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.stop()
    delivery_id = await notification.issue(certificate())
    notification.start()

    async def retried() -> Document | None:
        doc = await notification.delivery(delivery_id)
        return doc if doc["attempts"] >= 2 else None

    waiting = await eventually(retried, timeout=20, interval=0.05, what="two refused attempts")
    assert waiting["status"] in ("pending", "sending")
    assert "mail server unavailable" in waiting["last_error"]

    server.start()
    await notification.settled(delivery_id, "sent")
    assert len(server.received) == 1


async def test_a_retry_schedule_survives_a_restart_of_the_service(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    server.answer_data("451 4.3.0 Try later")
    slow = RetryPolicy(first_delay=0.6, max_delay=0.6, give_up_after=3600)
    delivery_id = await notification.issue(certificate())
    first = notification.start(policy=slow)

    async def scheduled() -> Document | None:
        doc = await notification.delivery(delivery_id)
        return doc if doc["status"] == "pending" and doc["attempts"] == 1 else None

    waiting = await eventually(scheduled, timeout=20, interval=0.02, what="a scheduled retry")
    assert waiting["next_attempt_at"] > datetime.now(UTC)
    await first.stop()
    notification.running.remove(first)

    # A new process: nothing of the first one's memory, only the database.
    notification.start(policy=slow)
    sent = await notification.settled(delivery_id, "sent")

    assert sent["attempts"] == 2
    assert len(server.received) == 1


async def test_a_sender_that_dies_before_the_message_went_out_is_replaced_and_sends_once(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    notification.lease = 1.0
    release = server.hold_rcpt()
    delivery_id = await notification.issue(certificate())
    crashed = notification.start()
    assert await asyncio.to_thread(server.rcpt_arrived.wait, 10)

    await notification.crash(crashed, release)
    assert (await notification.delivery(delivery_id))["status"] == "sending"

    notification.start()
    sent = await notification.settled(delivery_id, "sent")

    assert len(server.received) == 1
    assert sent["attempts"] == 2


async def test_a_sender_whose_claim_ran_out_while_it_waited_does_not_send_it_a_second_time(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    notification.lease = 1.0
    release = server.hold_rcpt()
    delivery_id = await notification.issue(certificate())
    notification.start()  # the slow one: its RCPT TO hangs past its lease
    assert await asyncio.to_thread(server.rcpt_arrived.wait, 10)
    await asyncio.sleep(1.3)

    notification.start()  # another instance: takes the expired claim back, and sends
    await notification.settled(delivery_id, "sent")
    release.set()  # the slow one goes on, on a claim that is no longer its own
    await asyncio.sleep(0.5)

    assert len(server.received) == 1
    assert (await notification.delivery(delivery_id))["status"] == "sent"


async def test_a_sender_that_dies_after_the_server_took_the_message_sends_no_second_email(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    notification.lease = 1.0
    release = server.hold_data()
    delivery_id = await notification.issue(certificate())
    crashed = notification.start()
    assert await asyncio.to_thread(server.data_arrived.wait, 10)

    await notification.crash(crashed, release)
    assert len(server.received) == 1, "the server accepted what the dead sender handed over"

    notification.start()
    unconfirmed = await notification.settled(delivery_id, "unconfirmed")
    await asyncio.sleep(0.3)

    assert len(server.received) == 1
    assert "may or may not have been accepted" in unconfirmed["last_error"]
    assert await notification.announced(topics.NOTIFICATION_SENT) == []


async def test_the_same_certificate_announced_twice_is_emailed_once(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    event = certificate()
    await notification.issue(event)
    delivery_id = await notification.issue(event)  # redelivered under a new event id
    notification.start()

    await notification.settled(delivery_id, "sent")
    await asyncio.sleep(0.3)
    assert len(server.received) == 1


async def test_a_held_course_mails_no_one_until_it_is_released(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    held_course = course(hold_emails=True)
    first = await notification.issue(certificate(course=held_course))
    notification.start()
    await asyncio.sleep(0.4)
    assert (await notification.delivery(first))["status"] == "held"
    assert server.received == []

    released = CourseReleasedV1(
        course_id=held_course.id, released_at=datetime.now(UTC), released_by="admin"
    )
    await notification.intake.course_released(new_event(released, source="test", subject="c1"))
    await notification.settled(first, "sent")
    later = await notification.issue(certificate(course=held_course))
    await notification.settled(later, "sent")
    assert len(server.received) == 2


async def test_one_address_gets_no_more_emails_per_minute_than_the_limit(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    notification.per_minute = 1
    first = await notification.issue(certificate())
    second = await notification.issue(certificate())
    notification.start()

    await notification.settled(first, "sent")
    await asyncio.sleep(0.3)
    deferred = await notification.delivery(second)
    assert deferred["status"] == "pending"
    assert deferred["attempts"] == 0, "waiting for the limit is not a failed attempt"
    assert deferred["due"] - datetime.now(UTC).timestamp() > 30
    assert len(server.received) == 1


async def test_headers_carry_cyrillic_and_polish_names_and_the_issuers_addresses(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    issuer = Issuer(name="Fundacja Rozwoju Demokracji Lokalnej", email_reply_to="biuro@frdl.pl")
    event = certificate(
        holder=issued().holder.model_copy(update={"full_name": "Zażółć Gęślą Jaźń"}),
        course=course(language="pl", title="Prosty język w urzędzie", issuer=issuer),
    )
    delivery_id = await notification.issue(event)
    notification.start()
    await notification.settled(delivery_id, "sent")

    [received] = server.received
    message = received.message
    assert message["To"].addresses[0].display_name == "Zażółć Gęślą Jaźń"
    assert "Prosty język w urzędzie" in str(message["Subject"])
    assert message["From"].addresses[0].display_name == "Fundacja Rozwoju Demokracji Lokalnej"
    assert message["From"].addresses[0].addr_spec == "certificates@attesta.example"
    assert message["Reply-To"].addresses[0].addr_spec == "biuro@frdl.pl"
    assert message["Message-ID"] == f"<certificate.{event.certificate_number}@attesta.example>"
    assert received.raw.isascii(), "headers are RFC 2047-encoded and bodies 7-bit on the wire"


async def test_a_name_holding_a_bcc_header_injects_nothing(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    event = certificate(
        holder=issued().holder.model_copy(
            update={"full_name": "Eve\r\nBcc: victim@example.com\r\n"}
        ),
        course=course(title="Title\r\nBcc: other@example.com"),
    )
    delivery_id = await notification.issue(event)
    notification.start()
    await notification.settled(delivery_id, "sent")

    [received] = server.received
    assert received.rcpt_tos == ["ivanka@example.bg"]
    assert received.message["Bcc"] is None
    headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers, "a folded line is a continuation, never a new header"


@contextmanager
def tls_with_login(notification: Notification, password: str) -> Iterator[ScriptedSmtpServer]:
    """A server that wants STARTTLS and the login attesta/s3cret; the service logs in with
    `password`."""
    server_context, client_context = self_signed_context()
    with ScriptedSmtpServer(
        tls_context=server_context, require_starttls=True, auth=("attesta", "s3cret")
    ) as secure:
        notification.server = secure
        notification.smtp = {
            "starttls": True,
            "tls_context": client_context,
            "username": "attesta",
            "password": password,
        }
        yield secure


async def test_starttls_and_login_are_used_when_configured(
    notification: Notification,
) -> None:
    with tls_with_login(notification, "s3cret") as secure:
        delivery_id = await notification.issue(certificate())
        notification.start()
        await notification.settled(delivery_id, "sent")
        assert len(secure.received) == 1


async def test_a_wrong_password_is_retried_not_failed(notification: Notification) -> None:
    with tls_with_login(notification, "wrong") as secure:
        delivery_id = await notification.issue(certificate())
        notification.start()

        async def retried() -> Document | None:
            doc = await notification.delivery(delivery_id)
            return doc if doc["attempts"] >= 2 else None

        waiting = await eventually(retried, timeout=20, interval=0.05, what="retries")
        assert waiting["status"] in ("pending", "sending")
        assert "535" in (await notification.store.attempts_of(delivery_id))[0]["reply"]
        assert secure.received == []


async def test_a_killed_email_building_process_is_replaced_and_the_email_still_goes_out(
    notification: Notification, server: ScriptedSmtpServer
) -> None:
    dispatcher = notification.start(processes=1)
    first = await notification.issue(certificate())
    await notification.settled(first, "sent")
    pool = dispatcher.letters._pool
    assert isinstance(pool, ProcessPoolExecutor)
    for process in list(pool._processes.values()):  # what the OOM killer would do
        os.kill(process.pid, signal.SIGKILL)

    second = await notification.issue(certificate())
    sent = await notification.settled(second, "sent")

    assert len(server.received) == 2
    assert dispatcher.letters._pool is not pool, "a new pool replaced the broken one"
    assert sent["attempts"] == 1, "a dead worker is not the email's failed attempt"
    assert [a["outcome"] for a in await notification.store.attempts_of(second)] == ["sent"]


class StoreThatLosesTheDatabaseTwice(NotificationStore):
    """The real store, whose first two attempts to record a sent email meet a database
    failover."""

    failures = 2

    async def settle(
        self, session: Any, delivery_id: str, fields: Document, attempt: Document
    ) -> Document:
        if fields["status"] == "sent" and self.failures:
            self.failures -= 1
            raise AutoReconnect("primary stepped down")
        return await super().settle(session, delivery_id, fields, attempt)


async def test_a_sent_email_is_recorded_as_sent_through_a_database_failover(
    database: Database, server: ScriptedSmtpServer
) -> None:
    store = StoreThatLosesTheDatabaseTwice(database)
    await store.ensure_indexes()
    notification = Notification(store, server)
    delivery_id = await notification.issue(certificate())
    dispatcher = notification.start()
    try:
        sent = await notification.settled(delivery_id, "sent")
    finally:
        await dispatcher.stop(grace_seconds=1)

    assert store.failures == 0
    assert sent["attempts"] == 1
    assert len(server.received) == 1

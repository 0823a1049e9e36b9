"""Sending the queued emails: claim one, send it, write down what the server said.

Every delivery is a record in MongoDB before anything is sent, so nothing here lives only in
memory: a retry's schedule, a held email, a claim, all survive a restart.

1. Claim: atomically move the pending delivery that is due first to `sending`, under a lease
   (`due` becomes the end of the lease) and a random claim token.
2. Send on a kept-open SMTP connection. Once the server has accepted the envelope, and just
   before the message goes out, mark the delivery `data_started`.
3. Settle, in one transaction: `sent` (with the server's reply), `failed` for a permanent
   refusal or after retrying long enough (with `notification.failed`), or `pending` again with
   a backed-off `due` for a temporary one. Certificate emails announce `notification.sent` /
   `notification.failed` through the outbox in the same transaction.

A sender that crashed leaves its delivery `sending` until the lease ends. Then:
- not `data_started`: the server never had the message; it is queued and sent again.
- `data_started`: the server may have accepted it in the last moment before the crash (the
  time to transfer the message, have it answered, and commit). It is marked `unconfirmed`
  rather than sent twice; the delivery log shows it, and the admin can resend it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pymongo.errors import PyMongoError

from services.notification.delivery_status import FINISHED, QUEUED, Status
from services.notification.letters import Letter, LetterWriter, WriterUnavailable
from services.notification.metrics import EmailMetrics
from services.notification.recipient_limits import RecipientRateLimit
from services.notification.retrying import RetryPolicy
from services.notification.smtp import DeliveryRefused, MailServerUnavailable, SmtpChannel
from services.notification.store import FAR_FUTURE, NotificationStore
from shared import correlation, outbox, topics, tracing
from shared.events import (
    NotificationFailedV1,
    NotificationSentV1,
    new_event,
)
from shared.mongo import Document, Session

log = logging.getLogger(__name__)
tracer = trace.get_tracer("attesta.notification")
SOURCE = "attesta/notification"


@dataclass(frozen=True)
class DispatchSettings:
    connections: int = 2
    lease_seconds: float = 120.0
    poll_seconds: float = 1.0
    # How long every sender pauses after the server could not be reached at all: one probe
    # then, not a thousand deliveries each burning an attempt against a server that is down.
    outage_pause_seconds: float = 5.0


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    reply: str = ""
    retry_in: float | None = None


class ClaimLost(Exception):
    """This sender's claim on a delivery ran out before the message went out."""


class Dispatcher:
    def __init__(
        self,
        store: NotificationStore,
        letters: LetterWriter,
        channel: Callable[[], SmtpChannel],
        *,
        metrics: EmailMetrics,
        policy: RetryPolicy,
        limit: RecipientRateLimit,
        settings: DispatchSettings,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.database = store.database
        self.letters = letters
        self.metrics = metrics
        self.new_channel = channel
        self.policy = policy
        self.limit = limit
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        self._wakers: list[asyncio.Event] = []
        self._paused_until = 0.0
        self._stopping = False
        self._next_recovery = 0.0
        # Told (course id, partner id) when a certificate email finishes: the coordinator's
        # summary may be due.
        self.on_finished: Callable[[str, str], Awaitable[None]] | None = None

    # running ---------------------------------------------------------------------------------
    def start(self) -> None:
        for number in range(self.settings.connections):
            waker = asyncio.Event()
            self._wakers.append(waker)
            self._tasks.append(
                asyncio.create_task(self._sender(waker), name=f"mail sender {number + 1}")
            )

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Take no new delivery, let the ones being sent finish (for `grace_seconds` at most:
        one cut off is resolved by its lease, as after a crash), then stop."""
        self._stopping = True
        self.wake()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        self._wakers.clear()

    def wake(self) -> None:
        """There is something new to send."""
        for waker in self._wakers:
            waker.set()

    async def _sender(self, waker: asyncio.Event) -> None:
        channel = self.new_channel()
        try:
            while not self._stopping:
                waker.clear()
                try:
                    worked = await self.run_once(channel)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The database is down or something unforeseen: never let a sender die.
                    log.exception("mail sender failed; trying again shortly")
                    worked = False
                if not worked and not self._stopping:
                    wait = max(self.settings.poll_seconds, self._paused_until - self.clock())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waker.wait(), timeout=wait)
        finally:
            await channel.close()

    async def run_once(self, channel: SmtpChannel) -> bool:
        """Recover abandoned claims when it is time, then send one due delivery. Returns
        whether there was one."""
        now = self.clock()
        if now >= self._next_recovery:
            self._next_recovery = now + min(self.settings.lease_seconds / 4, 30.0)
            await self.recover(now)
            self.metrics.queue(await self.store.count_by_status(QUEUED))
        if now < self._paused_until:
            return False
        token = uuid.uuid4().hex
        claimed = await self.store.claim_next(now, now + self.settings.lease_seconds, token)
        if claimed is None:
            return False
        await self.attempt(claimed, token, channel)
        return True

    # one attempt -----------------------------------------------------------------------------
    async def attempt(self, delivery: Document, token: str, channel: SmtpChannel) -> None:
        """One try, in the trace and under the correlation id of the event that queued it."""
        with (
            correlation.bound(delivery.get("correlation_id")),
            tracing.continued(delivery.get("trace")),
            tracer.start_as_current_span(
                "smtp send",
                kind=SpanKind.CLIENT,
                attributes={
                    "attesta.delivery.id": str(delivery["_id"]),
                    "attesta.email.kind": str(delivery.get("kind", "certificate")),
                    "attesta.email.attempt": int(delivery.get("attempts", 0)),
                },
            ),
        ):
            await self._attempt(delivery, token, channel)

    async def _attempt(self, delivery: Document, token: str, channel: SmtpChannel) -> None:
        delivery_id = str(delivery["_id"])
        # Outside the try: a database error here is an outage (the lease resolves it), not a
        # reason to fail the email.
        content = await self.store.content(delivery_id)
        try:
            letter = await self.letters.write(
                str(delivery.get("kind", "certificate")),
                delivery_id,
                int(delivery.get("resends", 0)),
                content,
            )
        except WriterUnavailable:
            log.warning("delivery %s: no process to build it; queued again", delivery_id)
            await self.store.put_back(delivery_id, token, self.clock() + 1.0)
            return
        except Exception as error:
            # A template or content that cannot make an email will not make one next time.
            log.exception("delivery %s cannot be composed", delivery_id)
            await self.settle(delivery, Outcome(Status.FAILED, error=f"cannot compose: {error}"))
            return

        wait = self.limit.wait(letter.recipients)
        if wait > 0:
            await self.store.put_back(delivery_id, token, self.clock() + wait)
            return

        self.limit.record(letter.recipients)
        started = time.monotonic()

        async def hand_over() -> None:
            if not await self.store.mark_data_started(delivery_id, token, self.clock()):
                raise ClaimLost(delivery_id)

        try:
            accepted = await channel.send(
                letter.wire,
                sender=letter.sender,
                recipients=letter.recipients,
                before_data=hand_over,
            )
        except ClaimLost:
            # Our lease ran out while we waited (a slow database, a lock held by another
            # instance) and the delivery may be someone else's now: sending would be twice.
            log.warning(
                "delivery %s: claim lost before sending; not sent by this sender", delivery_id
            )
            return
        except DeliveryRefused as refusal:
            outcome = (
                Outcome(Status.FAILED, error=str(refusal), reply=str(refusal))
                if refusal.permanent
                else self.retry_or_give_up(delivery, str(refusal))
            )
        except MailServerUnavailable as outage:
            self._paused_until = self.clock() + self.settings.outage_pause_seconds
            outcome = self.retry_or_give_up(delivery, f"mail server unavailable: {outage}")
        else:
            outcome = Outcome(Status.SENT, reply=accepted.reply)
            if accepted.refused_copies:
                refused = "; ".join(f"{a}: {r}" for a, r in accepted.refused_copies.items())
                outcome = Outcome(
                    Status.SENT, reply=accepted.reply, error=f"copies refused: {refused}"
                )
        self.metrics.send_seconds.observe(time.monotonic() - started)
        await self._settle_surely(delivery, outcome, letter)

    async def _settle_surely(self, delivery: Document, outcome: Outcome, letter: Letter) -> None:
        """Record what the server answered, retrying through a database outage for half the
        lease: only this process knows the answer, and losing it would leave the email
        `unconfirmed` although the server's reply is known."""
        deadline = self.clock() + self.settings.lease_seconds / 2
        pause = 0.1
        while True:
            try:
                await self.settle(delivery, outcome, letter=letter)
                return
            except PyMongoError:
                if self.clock() + pause > deadline:
                    raise
                log.warning("delivery %s: cannot record the outcome yet; retrying", delivery["_id"])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    def retry_or_give_up(self, delivery: Document, error: str) -> Outcome:
        now = self.clock()
        if self.policy.gives_up(float(delivery.get("queued_epoch", now)), now):
            attempts = int(delivery.get("attempts", 1))
            return Outcome(Status.FAILED, error=f"gave up after {attempts} attempts; last: {error}")
        delay = self.policy.delay(int(delivery.get("attempts", 1)), self.rng)
        return Outcome(Status.PENDING, error=error, retry_in=delay)

    # settling --------------------------------------------------------------------------------
    async def settle(
        self, delivery: Document, outcome: Outcome, *, letter: Letter | None = None
    ) -> None:
        delivery_id = str(delivery["_id"])
        at = datetime.now(UTC)
        now = self.clock()
        fields: Document = {"status": outcome.status, "last_error": outcome.error}
        if outcome.status == Status.PENDING:
            fields["due"] = now + (outcome.retry_in or 0.0)
            fields["next_attempt_at"] = datetime.fromtimestamp(fields["due"], UTC)
        else:
            fields["due"] = FAR_FUTURE
            fields["next_attempt_at"] = None
        if outcome.status == Status.SENT:
            fields |= {"sent_at": at, "reply": outcome.reply}
            if letter is not None:
                fields |= {"message_id": letter.message_id, "recipients": letter.recipients}
        elif outcome.status == Status.FAILED:
            fields |= {"failed_at": at, "reply": outcome.reply}
        elif outcome.status == Status.UNCONFIRMED:
            fields |= {"unconfirmed_at": at}
        attempt = {
            "attempt": int(delivery.get("attempts", 0)),
            "at": at,
            "outcome": outcome.status,
            "reply": outcome.reply or outcome.error,
        }

        async def work(session: Session) -> None:
            await self.store.settle(session, delivery_id, fields, attempt)
            await self._announce(session, delivery, outcome, at)

        await self.database.in_transaction(work)
        trace.get_current_span().set_attribute("attesta.email.outcome", outcome.status)
        self.metrics.attempt(str(delivery.get("kind", "certificate")), outcome.status)
        if (
            outcome.status in FINISHED
            and delivery.get("kind") == "certificate"
            and self.on_finished is not None
        ):
            await self.on_finished(str(delivery["course_id"]), str(delivery["partner_id"]))
        log.info(
            "delivery %s attempt %s: %s %s",
            delivery_id,
            attempt["attempt"],
            outcome.status,
            outcome.reply or outcome.error,
        )

    async def _announce(
        self, session: Session, delivery: Document, outcome: Outcome, at: datetime
    ) -> None:
        """Certificate emails tell the other services how they ended."""
        number = delivery.get("certificate_number")
        if not number or outcome.status not in (Status.SENT, Status.FAILED):
            return
        enrolment_id = str(delivery["enrolment_id"])
        if outcome.status == Status.SENT:
            sent = new_event(
                NotificationSentV1(
                    enrolment_id=enrolment_id,
                    certificate_number=number,
                    to=delivery["to"],
                    sent_at=at,
                ),
                source=SOURCE,
                subject=enrolment_id,
            )
            await outbox.add(session, self.database, topics.NOTIFICATION_SENT, sent)
            return
        failed = new_event(
            NotificationFailedV1(
                enrolment_id=enrolment_id,
                certificate_number=number,
                to=delivery["to"],
                error=outcome.error,
                failed_at=at,
            ),
            source=SOURCE,
            subject=enrolment_id,
        )
        await outbox.add(session, self.database, topics.NOTIFICATION_FAILED, failed)

    # crash recovery ----------------------------------------------------------------------------
    async def recover(self, now: float) -> None:
        """Resolve the claims whose sender vanished (see the module's docstring)."""
        for delivery in await self.store.expired_claims(now):
            delivery_id = str(delivery["_id"])
            token = str(delivery.get("claim", ""))
            if not delivery.get("data_started"):
                if await self.store.requeue_unsent(delivery_id, token, now):
                    log.warning(
                        "delivery %s: its sender vanished before sending; queued again", delivery_id
                    )
                continue
            log.warning(
                "delivery %s: its sender vanished while the server had the message; "
                "marked unconfirmed, not sent again",
                delivery_id,
            )
            await self.settle(
                delivery,
                Outcome(
                    Status.UNCONFIRMED,
                    error="the service stopped while the mail server had the message: it may "
                    "or may not have been accepted; resend it if the recipient has nothing",
                ),
            )

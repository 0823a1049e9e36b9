"""From a delivery record to the bytes that go on the wire, in a process of its own.

Python's email package spends about 10 ms per certificate email parsing, folding and encoding
headers and parts: on the service's event loop that would delay every database round trip
behind it, and one core would do all of it. A small process pool does it beside the loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from services.notification.composing import Composer, MailIdentity, recipients
from services.notification.course_summary import CourseSummary
from services.notification.smtp import WIRE
from shared.events import CertificateIssuedV1, EnrolmentRegisteredV1


@dataclass(frozen=True)
class Letter:
    """An email ready to send."""

    wire: bytes
    sender: str
    recipients: list[str]
    message_id: str


def compose(
    composer: Composer, kind: str, delivery_id: str, resends: int, content: str
) -> EmailMessage:
    """The email of a delivery of `kind`, from the content stored with it."""
    message_id = composer.message_id(delivery_id, resends)
    if kind == "summary":
        return composer.summary(CourseSummary.model_validate_json(content), message_id=message_id)
    if kind == "confirmation":
        registered = EnrolmentRegisteredV1.model_validate_json(content)
        return composer.confirmation(registered, message_id=message_id)
    issued = CertificateIssuedV1.model_validate_json(content)
    return composer.certificate(issued, message_id=message_id)


def letter(composer: Composer, kind: str, delivery_id: str, resends: int, content: str) -> Letter:
    message = compose(composer, kind, delivery_id, resends, content)
    return Letter(
        wire=message.as_bytes(policy=WIRE),
        sender=message["From"].addresses[0].addr_spec,
        recipients=recipients(message),
        message_id=str(message["Message-ID"]),
    )


_composer: Composer | None = None


def _start_worker(identity: MailIdentity, templates_dir: Path | None) -> None:
    global _composer
    _composer = Composer(identity, templates_dir)


def _letter_in_worker(kind: str, delivery_id: str, resends: int, content: str) -> Letter:
    assert _composer is not None, "worker started without its composer"
    return letter(_composer, kind, delivery_id, resends, content)


class WriterUnavailable(Exception):
    """The worker processes died (killed, out of memory): the email itself is not at fault."""


class LetterWriter:
    """Writes letters in `processes` worker processes, or in this one when 0."""

    def __init__(self, composer: Composer, processes: int) -> None:
        self.composer = composer
        self.processes = processes
        self._pool: Executor | None = self._new_pool()

    def _new_pool(self) -> Executor | None:
        if self.processes <= 0:
            return None
        return ProcessPoolExecutor(
            max_workers=self.processes,
            # Not fork: the service has threads (the Kafka client's, the database's).
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.composer.identity, self.composer.templates_dir),
        )

    async def write(self, kind: str, delivery_id: str, resends: int, content: str) -> Letter:
        if self.processes <= 0:
            return letter(self.composer, kind, delivery_id, resends, content)
        pool = self._pool
        if pool is None:
            raise WriterUnavailable("the letter writer is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                pool, _letter_in_worker, kind, delivery_id, resends, content
            )
        except BrokenProcessPool as error:
            # A new pool for the next email; this one is tried again later like any outage.
            if self._pool is pool:
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            raise WriterUnavailable(f"the process building emails died: {error}") from error

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

"""Kafka subscribers of the registration service: the enrolment's later states, as the other
services report them."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from services.registration.commands import Registrar
from services.registration.domain import Status
from services.registration.store import Step
from shared import topics
from shared.consuming import process_once
from shared.events import (
    CertificateIssuedV1,
    CertificateRevokedV1,
    Envelope,
    NotificationFailedV1,
    NotificationSentV1,
)
from shared.messaging import subscribe
from shared.mongo import Session
from shared.settings import ServiceSettings

CONSUMER = "registration"


def caused_by(event: Envelope[Any], cause: str) -> Step:
    return Step(cause, event_id=event.id, event_type=event.type)


def register(broker: KafkaBroker, registrar: Registrar, settings: ServiceSettings) -> None:
    database = registrar.database

    @subscribe(broker, CONSUMER, topics.CERTIFICATE_ISSUED, settings)
    async def on_certificate_issued(event: Envelope[CertificateIssuedV1]) -> None:
        data = event.data

        cause = f"certificate {data.certificate_number} issued"
        if data.replaces is not None:
            cause += f", replacing {data.replaces}"

        async def work(session: Session) -> None:
            await registrar.certified(
                session,
                data.enrolment_id,
                data.certificate_number,
                data.replaces,
                caused_by(event, cause),
            )

        await process_once(database, CONSUMER, event.id, work)

    @subscribe(broker, CONSUMER, topics.NOTIFICATION_SENT, settings)
    async def on_notification_sent(event: Envelope[NotificationSentV1]) -> None:
        data = event.data

        async def work(session: Session) -> None:
            await registrar.notified(
                session,
                data.enrolment_id,
                data.certificate_number,
                caused_by(event, f"certificate {data.certificate_number} emailed to {data.to}"),
            )

        await process_once(database, CONSUMER, event.id, work)

    @subscribe(broker, CONSUMER, topics.NOTIFICATION_FAILED, settings)
    async def on_notification_failed(event: Envelope[NotificationFailedV1]) -> None:
        data = event.data
        cause = f"certificate {data.certificate_number} email to {data.to} failed: {data.error}"

        async def work(session: Session) -> None:
            await registrar.email_failed(
                session, data.enrolment_id, data.certificate_number, caused_by(event, cause)
            )

        await process_once(database, CONSUMER, event.id, work)

    @subscribe(broker, CONSUMER, topics.CERTIFICATE_REVOKED, settings)
    async def on_certificate_revoked(event: Envelope[CertificateRevokedV1]) -> None:
        async def work(session: Session) -> None:
            await registrar.follow(
                session,
                event.data.enrolment_id,
                Status.REVOKED,
                caused_by(event, f"certificate revoked: {event.data.reason}"),
            )

        await process_once(database, CONSUMER, event.id, work)

"""Kafka subscribers of the notification service."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from services.notification.intake import CONSUMER, Intake
from shared import topics
from shared.events import (
    CertificateIssuedV1,
    CourseClosedV1,
    CourseReleasedV1,
    EnrolmentRegisteredV1,
    Envelope,
)
from shared.messaging import subscribe
from shared.settings import ServiceSettings


def register(broker: KafkaBroker, intake: Intake, settings: ServiceSettings) -> None:
    @subscribe(broker, CONSUMER, topics.CERTIFICATE_ISSUED, settings)
    async def on_certificate_issued(event: Envelope[CertificateIssuedV1]) -> None:
        await intake.certificate_issued(event)

    @subscribe(broker, CONSUMER, topics.ENROLMENT_REGISTERED, settings)
    async def on_enrolment_registered(event: Envelope[EnrolmentRegisteredV1]) -> None:
        await intake.enrolment_registered(event)

    @subscribe(broker, CONSUMER, topics.COURSE_RELEASED, settings)
    async def on_course_released(event: Envelope[CourseReleasedV1]) -> None:
        await intake.course_released(event)

    @subscribe(broker, CONSUMER, topics.COURSE_CLOSED, settings)
    async def on_course_closed(event: Envelope[CourseClosedV1]) -> None:
        await intake.course_closed(event)

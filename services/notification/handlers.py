"""Kafka subscribers of the notification service."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from services.notification.delivery import CONSUMER, Deliverer
from shared import topics
from shared.events import CertificateIssuedV1, Envelope
from shared.messaging import subscriber_options
from shared.settings import ServiceSettings


def register(broker: KafkaBroker, deliverer: Deliverer, settings: ServiceSettings) -> None:
    options = subscriber_options(CONSUMER, topics.CERTIFICATE_ISSUED, settings)

    @broker.subscriber(topics.CERTIFICATE_ISSUED, **options)
    async def on_certificate_issued(event: Envelope[CertificateIssuedV1]) -> None:
        await deliverer.deliver(event)

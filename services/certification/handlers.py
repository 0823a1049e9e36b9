"""Kafka subscribers of the certification service."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from services.certification.issuing import Issuer
from services.certification.metrics import CertificateMetrics
from services.certification.store import CertificationStore
from shared import topics
from shared.consuming import process_once
from shared.events import (
    EnrolmentCompletedV1,
    EnrolmentCorrectedV1,
    Envelope,
    PartnerKeyIssuedV1,
    PartnerKeyRevokedV1,
)
from shared.messaging import subscribe
from shared.mongo import Session
from shared.settings import ServiceSettings

CONSUMER = "certification"


def register(
    broker: KafkaBroker,
    issuer: Issuer,
    store: CertificationStore,
    settings: ServiceSettings,
    metrics: CertificateMetrics,
) -> None:

    @subscribe(broker, CONSUMER, topics.ENROLMENT_COMPLETED, settings)
    async def on_enrolment_completed(event: Envelope[EnrolmentCompletedV1]) -> None:
        issued = False

        async def work(session: Session) -> None:
            # Assigned, not counted here: a transaction retried runs this again.
            nonlocal issued
            issued = await issuer.issue(session, event.data) is not None

        if await process_once(store.database, CONSUMER, event.id, work) and issued:
            metrics.issued.labels(event.data.course.language).inc()

    @subscribe(broker, CONSUMER, topics.ENROLMENT_CORRECTED, settings)
    async def on_enrolment_corrected(event: Envelope[EnrolmentCorrectedV1]) -> None:
        async def work(session: Session) -> None:
            await issuer.correct(session, event.data)

        await process_once(store.database, CONSUMER, event.id, work)

    @subscribe(broker, CONSUMER, topics.PARTNER_KEYS, settings)
    async def on_partner_key(
        event: Envelope[PartnerKeyIssuedV1] | Envelope[PartnerKeyRevokedV1],
    ) -> None:
        data = event.data

        async def work(session: Session) -> None:
            if isinstance(data, PartnerKeyIssuedV1):
                await store.remember_key(session, data.key_id, data.partner_id, data.key_hash)
            else:
                await store.forget_key(session, data.key_id)

        await process_once(store.database, CONSUMER, event.id, work)

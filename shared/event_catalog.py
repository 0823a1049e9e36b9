"""Which service publishes which event on which topic, and which services read it.

This is contract, not wiring, so it lives in `shared/` next to the events and topics it ties
together: every service's producer side is invisible to FastStream (events leave through the
transactional outbox with a raw `broker.publish`, never through a declared publisher), so this
table is what declares them. Two things are generated from it:

- each service's AsyncAPI document (`shared/asyncapi.py` declares a publisher per topic the
  service produces, with the envelope of that topic's payloads as its schema);
- `docs/events.md` (`python -m shared.event_docs`).

A service's own module would have been the other place for its "what I publish" list, but the
generated docs need every producer and consumer at once without importing the services (shared
never imports them). Tests keep the table honest: `tests/unit/test_event_catalog.py` reads the
services' `outbox.add(..., topics.X, new_event(Payload(...)))` calls, and
`tests/integration/test_asyncapi.py` compares the consumers with each service's subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import topics
from shared.events import (
    CertificateIssuedV1,
    CertificateRevokedV1,
    CourseClosedV1,
    CourseReleasedV1,
    EnrolmentCompletedV1,
    EnrolmentCorrectedV1,
    EnrolmentRegisteredV1,
    NotificationFailedV1,
    NotificationSentV1,
    PartnerKeyIssuedV1,
    PartnerKeyRevokedV1,
    Payload,
)

REGISTRATION = "registration"
CERTIFICATION = "certification"
NOTIFICATION = "notification"
SERVICES = (REGISTRATION, CERTIFICATION, NOTIFICATION)


@dataclass(frozen=True)
class EventFlow:
    """One topic: the payloads that travel on it, who writes it and who reads it."""

    topic: str
    events: tuple[type[Payload], ...]
    producer: str
    consumers: tuple[str, ...]
    summary: str
    key: str = "enrolment id"


CATALOG: tuple[EventFlow, ...] = (
    EventFlow(
        topics.ENROLMENT_REGISTERED,
        (EnrolmentRegisteredV1,),
        REGISTRATION,
        (NOTIFICATION,),
        "A trainee was enrolled on a course that confirms enrolments: notification emails "
        "the confirmation.",
    ),
    EventFlow(
        topics.ENROLMENT_COMPLETED,
        (EnrolmentCompletedV1,),
        REGISTRATION,
        (CERTIFICATION,),
        "A trainee completed a course (attendance reached `min_sessions`, or an explicit "
        "completion): certification issues the certificate.",
    ),
    EventFlow(
        topics.ENROLMENT_CORRECTED,
        (EnrolmentCorrectedV1,),
        REGISTRATION,
        (CERTIFICATION,),
        "The holder's name or email was corrected after completion: certification reissues "
        "the certificate (a new number; the old one verifies as superseded).",
    ),
    EventFlow(
        topics.PARTNER_KEYS,
        (PartnerKeyIssuedV1, PartnerKeyRevokedV1),
        REGISTRATION,
        (CERTIFICATION,),
        "A partner's API key was issued or revoked (as a hash only): certification "
        "authenticates partners with it.",
        key="partner id",
    ),
    EventFlow(
        topics.COURSE_RELEASED,
        (CourseReleasedV1,),
        REGISTRATION,
        (NOTIFICATION,),
        "The admin released a course's held emails: notification sends them.",
        key="course id",
    ),
    EventFlow(
        topics.COURSE_CLOSED,
        (CourseClosedV1,),
        REGISTRATION,
        (NOTIFICATION,),
        "A partner's attendance on a course is final: notification sends the coordinator a "
        "summary once every certificate email has gone out or failed.",
        key="course id",
    ),
    EventFlow(
        topics.CERTIFICATE_ISSUED,
        (CertificateIssuedV1,),
        CERTIFICATION,
        (REGISTRATION, NOTIFICATION),
        "A certificate (or a reissue of one) was issued, its PDF inside: notification emails "
        "it, registration moves the enrolment to `certified`.",
    ),
    EventFlow(
        topics.CERTIFICATE_REVOKED,
        (CertificateRevokedV1,),
        CERTIFICATION,
        (REGISTRATION,),
        "The admin revoked a certificate: registration moves the enrolment to `revoked`.",
    ),
    EventFlow(
        topics.NOTIFICATION_SENT,
        (NotificationSentV1,),
        NOTIFICATION,
        (REGISTRATION,),
        "A certificate email was accepted by the mail server: registration moves the "
        "enrolment to `notified`.",
    ),
    EventFlow(
        topics.NOTIFICATION_FAILED,
        (NotificationFailedV1,),
        NOTIFICATION,
        (REGISTRATION,),
        "A certificate email failed for good (a 5xx, or retries given up): registration adds "
        "it to the enrolment's history with the server's answer.",
    ),
)


def produced_by(service: str) -> tuple[EventFlow, ...]:
    """The topics `service` writes through its outbox, in catalog order."""
    return tuple(flow for flow in CATALOG if flow.producer == service)


def consumed_by(service: str) -> tuple[EventFlow, ...]:
    """The topics `service` subscribes to, in catalog order."""
    return tuple(flow for flow in CATALOG if service in flow.consumers)


def flow_of(topic: str) -> EventFlow:
    """The catalog entry of `topic` (a retry or dead-letter topic gives its original's)."""
    original = topics.original_topic(topic)
    for flow in CATALOG:
        if flow.topic == original:
            return flow
    raise KeyError(f"{topic!r} is not in the event catalog")

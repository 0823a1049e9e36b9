"""Poison: messages no consumer can ever process, put on every topic the services read. Each
must end up in the topic's dead-letter topic, once for every service that reads the topic,
while the good events around it flow on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from shared import topics

# Which services read each topic: where its poison must be dead-lettered. Written out rather
# than asked of the services, so that a service that stopped reading a topic fails the audit.
READERS: dict[str, tuple[str, ...]] = {
    topics.ENROLMENT_REGISTERED: ("notification",),
    topics.ENROLMENT_COMPLETED: ("certification",),
    topics.ENROLMENT_CORRECTED: ("certification",),
    topics.CERTIFICATE_ISSUED: ("registration", "notification"),
    topics.CERTIFICATE_REVOKED: ("registration",),
    topics.NOTIFICATION_SENT: ("registration",),
    topics.NOTIFICATION_FAILED: ("registration",),
    topics.PARTNER_KEYS: ("certification",),
    topics.COURSE_RELEASED: ("notification",),
    topics.COURSE_CLOSED: ("notification",),
}
HEADER = "chaos_poison"


@dataclass(frozen=True)
class Poison:
    id: str
    topic: str
    kind: str
    body: bytes


def poison_for(topic: str, count: int, wave: int) -> list[Poison]:
    """`count` poison messages for `topic`, of three kinds in turn: not JSON, an event of a
    type nobody knows, and the topic's own type with data that fails validation."""
    made = []
    for n in range(count):
        ident = f"poison-{wave}-{topic}-{n}"
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "chaos",
            "time": datetime.now(UTC).isoformat(),
            "subject": ident,
        }
        kind = ("not json", "unknown type", "invalid data")[n % 3]
        if kind == "not json":
            body = b'{"specversion": "1.0", "id": ' + ident.encode()
        elif kind == "unknown type":
            body = json.dumps({**envelope, "type": "org.example.unknown", "data": {}}).encode()
        else:
            # Fields of no event at all: every payload model requires fields this lacks.
            body = json.dumps(
                {**envelope, "type": f"attesta.{topic}.v1", "data": {"enrolment_id": 42}}
            ).encode()
        made.append(Poison(ident, topic, kind, body))
    return made


async def inject(bootstrap: str, count: int, wave: int) -> list[Poison]:
    """Put `count` poison messages on every topic the services read; returns them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    sent = []
    try:
        for topic in READERS:
            for poison in poison_for(topic, count, wave):
                await producer.send_and_wait(
                    topic,
                    poison.body,
                    key=poison.id.encode(),
                    headers=[(HEADER, poison.id.encode())],
                )
                sent.append(poison)
    finally:
        await producer.stop()
    return sent


def expected_dead_letters(sent: Iterable[Poison]) -> set[tuple[str, str]]:
    """(poison id, service) for every reader of every poisoned topic."""
    return {(p.id, service) for p in sent for service in READERS[p.topic]}

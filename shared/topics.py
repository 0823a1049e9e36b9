"""Topic names, in one place. Every event is keyed by enrolment id so one trainee's events stay
in order within a partition."""

from __future__ import annotations

import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

ENROLMENT_REGISTERED = "enrolment.registered"
ENROLMENT_COMPLETED = "enrolment.completed"
ENROLMENT_CORRECTED = "enrolment.corrected"
CERTIFICATE_ISSUED = "certificate.issued"
CERTIFICATE_REVOKED = "certificate.revoked"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"
PARTNER_KEYS = "partner.keys"
COURSE_RELEASED = "course.released"
COURSE_CLOSED = "course.closed"

ALL_TOPICS = (
    ENROLMENT_REGISTERED,
    ENROLMENT_COMPLETED,
    ENROLMENT_CORRECTED,
    CERTIFICATE_ISSUED,
    CERTIFICATE_REVOKED,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
    PARTNER_KEYS,
    COURSE_RELEASED,
    COURSE_CLOSED,
)

DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def retry_topic(topic: str, service: str) -> str:
    """Where `service` puts a message of `topic` to try it again later (and where a replay from
    the dead-letter topic sends it): one per consuming service, so that only the consumer that
    failed sees the message again."""
    return f"{topic}.retry.{service}"


def original_topic(topic: str) -> str:
    """The topic a dead-letter or retry topic belongs to."""
    if topic.endswith(DLQ_SUFFIX):
        return topic.removesuffix(DLQ_SUFFIX)
    return topic.split(".retry.", 1)[0]


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int) -> None:
    """Create the topics (and their dead-letter topics) that do not exist yet."""
    wanted = sorted({*topics, *(dead_letter_topic(original_topic(t)) for t in topics)})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in wanted if t not in existing]
        if missing:
            # Another service may create one between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()


async def empty_topics(bootstrap_servers: str, topics: list[str]) -> set[str]:
    """The topics that have never held a message (every partition's end offset is 0).

    Offsets only grow on a broker that keeps its log, so a topic we published to that is
    empty again means the broker lost it: the embedded broker keeps messages in memory.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        empty = set()
        for topic in topics:
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            if partitions and not any((await consumer.end_offsets(partitions)).values()):
                empty.add(topic)
        return empty
    finally:
        await consumer.stop()

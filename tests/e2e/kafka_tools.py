"""Direct access to the real broker for tests that redeliver or inject messages."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import eventually


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record now on `topic`, read without a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for recs in batch.values():
                    records.extend(recs)
        return records
    finally:
        await consumer.stop()


def subject_of(record: Any) -> str | None:
    """The CloudEvents subject of a record; None for anything else (other tests put poison
    on the same topics)."""
    try:
        value = json.loads(record.value)
    except ValueError:
        return None
    return value.get("subject") if isinstance(value, dict) else None


async def events_about(bootstrap: str, topic: str, subject: str) -> list[Any]:
    return [r for r in await read_all(bootstrap, topic) if subject_of(r) == subject]


async def find_event(bootstrap: str, topic: str, subject: str) -> Any:
    async def probe() -> Any:
        found = await events_about(bootstrap, topic, subject)
        return found[0] if found else None

    return await eventually(probe, what=f"an event about {subject} on {topic}")


async def produce(
    bootstrap: str,
    topic: str,
    key: bytes,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key, headers=headers or [])
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def wait_consumed(
    bootstrap: str, group: str, topic: str, partition: int, offset: int
) -> None:
    """Wait until `group` has committed past `offset`: the message was fully processed."""
    # A consumer that never subscribes does not join the group; it only reads its offsets.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:

        async def committed() -> bool:
            position = await reader.committed(TopicPartition(topic, partition))
            return position is not None and position > offset

        await eventually(committed, what=f"{group} to consume {topic}[{partition}]@{offset}")
    finally:
        await reader.stop()

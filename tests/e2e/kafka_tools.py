"""Direct access to the real broker for tests that redeliver or inject messages."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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


async def wait_groups_joined(bootstrap: str, groups: list[str], members: int) -> None:
    """Wait until every one of `groups` is stable with `members` members: the instances have
    all joined (a rebalance is over)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:

        async def joined() -> dict[str, tuple[str, int]] | None:
            # One group a request: the embedded broker's answer to several cannot be decoded.
            # Each group answered is (error, id, state, protocol type, protocol, members).
            states = {
                str(group[1]): (str(group[2]), len(group[5]))
                for name in groups
                for response in await admin.describe_consumer_groups([name])
                for group in response.groups
            }
            settled = set(states) == set(groups) and all(
                state == ("Stable", members) for state in states.values()
            )
            return states if settled else None

        await eventually(joined, what=f"{', '.join(groups)} stable with {members} members")
    finally:
        await admin.close()

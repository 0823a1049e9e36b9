"""The embedded broker keeps messages in memory. When it restarts empty, what the outboxes
published is published again: the outbox, not the broker, is the durable record."""

from __future__ import annotations

import json
from pathlib import Path

from shared import outbox
from shared.devstack import servers
from shared.mongo import Database, Session
from shared.topics import empty_topics, ensure_topics
from tests.conftest import eventually
from tests.e2e.kafka_tools import read_all
from tests.integration.test_outbox import KafkaPublisher, sent

TOPIC = "it.broker-loss"


async def publish_all(database: Database, bootstrap: str) -> int:
    publisher = KafkaPublisher(bootstrap)
    await publisher.producer.start()
    try:
        return await outbox.OutboxRelay(database, publisher, poll_seconds=0.1).publish_pending()
    finally:
        await publisher.producer.stop()


async def test_events_lost_with_a_restarted_broker_are_published_again_in_order(
    database: Database, tmp_path: Path
) -> None:
    port = servers.free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = servers.start_broker(port, tmp_path)
    try:
        await ensure_topics(bootstrap, [TOPIC], partitions=1)
        events = [sent("lost", n) for n in range(3)]

        async def write(session: Session) -> None:
            for event in events:
                await outbox.add(session, database, TOPIC, event)  # type: ignore[arg-type]

        await database.in_transaction(write)
        assert await publish_all(database, bootstrap) == 3
        assert await empty_topics(bootstrap, [TOPIC]) == set()

        broker.kill()
        broker = servers.start_broker(port, tmp_path)
        await ensure_topics(bootstrap, [TOPIC], partitions=1)
        lost = await empty_topics(bootstrap, [TOPIC])
        assert lost == {TOPIC}
        assert await outbox.replay(database, topics=lost) == 3
        assert await publish_all(database, bootstrap) == 3

        async def three() -> list[object] | None:
            records = await read_all(bootstrap, TOPIC)
            return records if len(records) == 3 else None

        records = await eventually(three, what="the three events on the new broker")
        assert [json.loads(r.value)["id"] for r in records] == [e.id for e in events]  # type: ignore[attr-defined]
    finally:
        broker.stop()

"""A consumer whose handler keeps failing for an unexpected reason: the event goes to the
service's retry topic (later tries, while the topic's other events go on), then to the
dead-letter topic with its error. Against the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from shared.consuming import RETRIES
from shared.messaging import build_broker, subscribe
from shared.settings import ServiceSettings
from shared.topics import dead_letter_topic, ensure_topics, retry_topic
from tests.conftest import Stack, eventually
from tests.e2e.kafka_tools import produce, read_all

SERVICE = "itsvc"


@dataclass
class Flaky:
    """Fails the first `failures` times it sees each body; records what it processed."""

    failures: dict[str, int]
    seen: dict[str, int] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    async def __call__(self, body: dict[str, str]) -> None:
        name = body["name"]
        self.seen[name] = self.seen.get(name, 0) + 1
        if self.seen[name] <= self.failures.get(name, 0):
            raise RuntimeError(f"{name} is not ready yet (try {self.seen[name]})")
        self.done.append(name)


@pytest.fixture
async def topic(stack: Stack) -> str:
    name = f"it-retry-{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka, [name, retry_topic(name, SERVICE)], partitions=1)
    return name


async def running(stack: Stack, topic: str, flaky: Flaky) -> KafkaBroker:
    settings = ServiceSettings(
        kafka_bootstrap_servers=stack.kafka,
        kafka_session_timeout_ms=2000,
        kafka_fetch_max_wait_ms=50,
        consumer_max_attempts=2,
        consumer_retry_backoff_seconds=0.01,
        consumer_retry_topic_delays_seconds=[0.5, 1.0],
    )
    broker, _, _ = build_broker(settings, service=SERVICE, registry=CollectorRegistry())

    @subscribe(broker, SERVICE, topic, settings)
    async def handle(body: dict[str, str]) -> None:
        await flaky(body)

    await broker.start()
    return broker


@pytest.fixture
async def flaky() -> Flaky:
    return Flaky(failures={"slow": 3, "broken": 100})


@pytest.fixture
async def broker(stack: Stack, topic: str, flaky: Flaky) -> AsyncIterator[KafkaBroker]:
    started = await running(stack, topic, flaky)
    yield started
    await started.stop()


async def send(stack: Stack, topic: str, name: str) -> None:
    await produce(stack.kafka, topic, name.encode(), f'{{"name": "{name}"}}'.encode())


async def test_an_event_failing_a_while_is_retried_from_the_retry_topic_and_then_processed(
    stack: Stack, topic: str, flaky: Flaky, broker: KafkaBroker
) -> None:
    await send(stack, topic, "slow")  # fails twice in process, then once from the retry topic
    await send(stack, topic, "fine")

    await eventually(lambda: "slow" in flaky.done, what="the slow event to be processed")

    assert flaky.done.index("fine") < flaky.done.index("slow")  # it did not hold up "fine"
    assert flaky.seen["slow"] == 4
    retried = await read_all(stack.kafka, retry_topic(topic, SERVICE))
    assert [dict(r.headers)[RETRIES] for r in retried] == [b"1"]
    assert await read_all(stack.kafka, dead_letter_topic(topic)) == []


async def test_an_event_that_never_succeeds_is_dead_lettered_after_every_retry(
    stack: Stack, topic: str, flaky: Flaky, broker: KafkaBroker
) -> None:
    await send(stack, topic, "broken")

    async def dead() -> list[object]:
        return await read_all(stack.kafka, dead_letter_topic(topic))

    [record] = await eventually(dead, what="the broken event in the dead-letter topic")
    headers = dict(record.headers)  # type: ignore[attr-defined]
    assert headers["dlq_original_topic"] == topic.encode()
    assert headers["dlq_received_topic"] == retry_topic(topic, SERVICE).encode()
    assert headers["dlq_error_type"] == b"RuntimeError"
    assert headers[RETRIES] == b"2"
    assert flaky.seen["broken"] == 6  # 2 in process, then 2 from each of the 2 retries
    assert "broken" not in flaky.done
    await asyncio.sleep(0.5)
    assert flaky.seen["broken"] == 6  # and nothing more after that

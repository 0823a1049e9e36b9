"""The Kafka side of a service: a FastStream broker with dead-lettering and metrics, and the
raw publish function the outbox relay and the dead-letter middleware share."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from shared import correlation
from shared.consuming import DeadLetters, Outcomes
from shared.settings import ServiceSettings
from shared.topics import ensure_topics, retry_topic

log = logging.getLogger(__name__)


class TogetherStartingKafkaBroker(KafkaBroker):
    """Starts its subscribers concurrently. Each consumer's group join waits out the broker's
    join delay (seconds); one after another, a service with three subscribers would take three
    times as long to become ready."""

    async def start(self) -> None:
        await self.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.subscribers))
        for publisher in self.publishers:
            await publisher.start()
        self.running = True


class BrokerPublisher:
    """`Publisher` for the outbox relay and the dead-letter middleware: bytes in, bytes out.

    A broker that restarted empty (the embedded one keeps topics in memory) answers a publish
    to a topic it no longer has with an error: the topic is created again and the publish
    retried once, so that neither events nor dead letters wait for a service restart."""

    def __init__(self, bootstrap_servers: str, partitions: int) -> None:
        self.broker: KafkaBroker | None = None
        self._bootstrap_servers = bootstrap_servers
        self._partitions = partitions

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        assert self.broker is not None, "BrokerPublisher used before its broker was built"
        try:
            await self.broker.publish(value, topic, key=key, headers=headers)
        except KafkaError as error:
            log.warning("publishing to %s failed (%r); creating it if missing", topic, error)
            await ensure_topics(self._bootstrap_servers, [topic], self._partitions)
            await self.broker.publish(value, topic, key=key, headers=headers)


async def decode_json_body(msg: StreamMessage[Any]) -> Any:
    # CloudEvents structured mode says `application/cloudevents+json`, which FastStream's
    # default decoder does not read as JSON. A body that is not JSON raises ValueError here,
    # inside the consume scope, so the dead-letter middleware sees it.
    return json.loads(msg.body)


class CorrelatedConsuming(BaseMiddleware):
    """Handles each message under the correlation id it carries (the relay copies the event's
    into a header), so the consumer's log lines and the events it writes share it."""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        given = correlation.acceptable((msg.headers or {}).get(correlation.KAFKA_HEADER))
        with correlation.bound(given):
            return await call_next(msg)


def build_broker(
    settings: ServiceSettings,
    *,
    service: str,
    registry: CollectorRegistry,
    outcomes: Outcomes | None = None,
    tracer_provider: TracerProvider | None = None,
) -> tuple[KafkaBroker, BrokerPublisher, DeadLetters]:
    publisher = BrokerPublisher(settings.kafka_bootstrap_servers, settings.kafka_topic_partitions)
    dead_letters = DeadLetters(
        publisher,
        service=service,
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_seconds,
        retry_delays=tuple(settings.consumer_retry_topic_delays_seconds),
        outcomes=outcomes,
    )
    # Outermost first: the trace span and the metrics see every message, the correlation id
    # is bound for everything below, dead-lettering wraps the handler.
    middlewares: list[Any] = []
    if tracer_provider is not None:
        middlewares.append(KafkaTelemetryMiddleware(tracer_provider=tracer_provider))
    if settings.metrics_enabled:
        middlewares.append(
            KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="attesta")
        )
    middlewares += [CorrelatedConsuming, dead_letters]
    broker = TogetherStartingKafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"attesta-{service}",
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        decoder=decode_json_body,
        middlewares=middlewares,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        graceful_timeout=10.0,
        # Through our handlers and format (JSON in production), not FastStream's own.
        logger=logging.getLogger(f"attesta.{service}.kafka"),
    )
    publisher.broker = broker
    return broker, publisher, dead_letters


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])


def subscribe(
    broker: KafkaBroker, service: str, topic: str, settings: ServiceSettings
) -> Callable[[Handler], Handler]:
    """Subscribe a handler to `topic` and to the service's retry topic for it. The retry topic
    has a consumer (and group) of its own: a message waiting there for its retry time holds up
    that consumer only, never the topic's fresh events."""
    retry = retry_topic(topic, service)

    def decorate(handler: Handler) -> Handler:
        wrapped = broker.subscriber(topic, **subscriber_options(service, topic, settings))(handler)
        options = subscriber_options(service, retry, settings)
        # Retries wait seconds anyway; a long fetch wait keeps an idle retry consumer from
        # polling the broker twenty times a second.
        options["fetch_max_wait_ms"] = max(settings.kafka_fetch_max_wait_ms, 1000)
        broker.subscriber(retry, **options)(wrapped)
        return handler

    return decorate


def subscriber_options(service: str, topic: str, settings: ServiceSettings) -> dict[str, Any]:
    """Options of every subscriber: its own consumer group per service and topic (so adding a
    subscriber never rebalances the others), reading from the start so a service that starts
    late misses nothing, committing only after the work is done."""
    return {
        "group_id": f"{service}.{topic}",
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(settings.kafka_session_timeout_ms // 3, 100),
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
    }

"""What ops read on `/metrics` about a service's event streams, beside FastStream's own
per-handler counters: the outbox backlog, consumer lag, dead letters and retries.

Backlog, lag and dead-letter sizes are measured by one background round every
`ATTESTA_METRICS_REFRESH_SECONDS`, not at scrape time: a scrape must stay cheap and must not
wait on a database or broker that is down (the gauges then keep their last values, and the
round's failure is logged).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from shared import outbox, stream_inspection
from shared.mongo import Database
from shared.periodic import Periodic
from shared.topics import dead_letter_topic, original_topic


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.outbox_pending = Gauge(
            "attesta_outbox_pending_events",
            "Events written to the outbox and not yet acknowledged by the broker.",
            ["service"],
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "attesta_outbox_oldest_pending_age_seconds",
            "Age of the oldest event waiting in the outbox (0 when none waits).",
            ["service"],
            registry=registry,
        )
        self.outbox_published = Counter(
            "attesta_outbox_published_events",
            "Events the outbox relay published, by topic.",
            ["service", "topic"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "attesta_consumer_lag_messages",
            "Messages on a partition that this service's consumer group has not yet committed.",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self.dlq_messages = Gauge(
            "attesta_dlq_messages",
            "Messages kept on a dead-letter topic this service can write to.",
            ["topic"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "attesta_dead_lettered_messages",
            "Messages this service sent to a dead-letter topic, by original topic.",
            ["topic"],
            registry=registry,
        )
        self.retried = Counter(
            "attesta_retried_messages",
            "Messages this service put on a retry topic to try again later, by original topic.",
            ["topic"],
            registry=registry,
        )

    def published(self, topic: str) -> None:
        self.outbox_published.labels(self.service, topic).inc()

    def dead_letter(self, topic: str) -> None:
        self.dead_lettered.labels(original_topic(topic)).inc()

    def retry(self, topic: str) -> None:
        self.retried.labels(original_topic(topic)).inc()

    async def measure_outbox(self, database: Database, now: float | None = None) -> None:
        events = database.db[outbox.COLLECTION]
        pending = await events.count_documents({"published": False})
        oldest = await events.find_one({"published": False}, sort=[("_id", 1)])
        age = 0.0
        if oldest is not None:
            created = oldest["_id"].generation_time.timestamp()
            age = max(0.0, (time.time() if now is None else now) - created)
        self.outbox_pending.labels(self.service).set(pending)
        self.outbox_oldest_age.labels(self.service).set(age)

    async def measure_streams(
        self, bootstrap: str, groups: Iterable[str], consumed: Iterable[str]
    ) -> None:
        lags = await stream_inspection.consumer_lag(bootstrap, groups)
        # A partition that moved away (a rebalance) must not keep its old value.
        self.consumer_lag.clear()
        for lag in lags:
            self.consumer_lag.labels(lag.group, lag.topic, str(lag.partition)).set(lag.lag)
        dead_letter_topics = sorted({dead_letter_topic(original_topic(t)) for t in consumed})
        sizes: dict[str, int] = dict.fromkeys(dead_letter_topics, 0)
        for partition in await stream_inspection.topic_offsets(bootstrap, dead_letter_topics):
            sizes[partition.topic] = sizes.get(partition.topic, 0) + partition.messages
        for topic, size in sizes.items():
            self.dlq_messages.labels(topic).set(size)


def stream_measuring(
    metrics: StreamMetrics,
    database: Database,
    bootstrap: str,
    subscriptions: Callable[[], dict[str, str]],
    *,
    interval: float,
) -> Periodic:
    """`subscriptions()` maps each consumer group of the service to the topic it reads."""

    async def measure() -> None:
        await metrics.measure_outbox(database)
        groups = subscriptions()
        await metrics.measure_streams(bootstrap, groups, groups.values())

    return Periodic("stream-metrics", measure, interval=interval, at_once=True)

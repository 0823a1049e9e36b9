"""Puts back the topics a service needs when the broker lost them.

The embedded broker keeps topics in memory: after it restarts, a consumer subscribed to a
topic nobody has published to again would wait for it (and a dead letter would have nowhere
to go). Apache Kafka does not lose topics, and there the check only costs one metadata
request now and then.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.periodic import Periodic
from shared.topics import ensure_topics


def topic_watch(
    bootstrap_servers: str, topics: Callable[[], list[str]], *, partitions: int, interval: float
) -> Periodic:
    async def check() -> None:
        await ensure_topics(bootstrap_servers, topics(), partitions)

    return Periodic("topic-watch", check, interval=interval, at_once=False)

"""Where the web monitor's figures come from: the broker (through shared.stream_inspection,
never joining a consumer group), registration's own outbox, and the other services'
`GET /v1/ops/outbox`.

The other services are asked over HTTP, with the admin key, because this is ops reading
counts: no domain data crosses services, and no service reads another's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import TopicPartition

from services.registration.ops_monitor.session import SessionSigner
from services.registration.ops_monitor.snapshot import (
    RECENT_FAILURES,
    Failure,
    GroupLag,
    OffsetHistory,
    OutboxBacklog,
    OutboxEntry,
    Snapshot,
    Throughput,
    Timeline,
    dead_letter_counts,
    describe,
    group_lags,
    is_dead_letter_topic,
    is_retry_topic,
    offset_sample,
    outbox_backlog,
    recent_failures,
    throughput,
    timeline,
    unreachable,
)
from services.registration.store import RegistrationStore
from shared import outbox, topics
from shared.mongo import Database
from shared.ops_api import OutboxState, read_outbox_state
from shared.periodic import Periodic
from shared.stream_inspection import (
    PartitionOffsets,
    StreamRecord,
    consumer_lag,
    partitions_of,
    read_records,
    read_until,
    reader,
    topic_offsets,
)

SERVICE = "registration"
SOURCE = "attesta/registration"
# The embedded database counts a service's outbox in 0.1 to 1.7 s (measured, idle): one second
# would call a healthy service unreachable now and then.
OUTBOX_TIMEOUT_SECONDS = 3.0
KAFKA_TIMEOUT_SECONDS = 8.0
# Several open pages (or one refreshing fast) share one reading of the broker.
SNAPSHOT_REUSE_SECONDS = 2.0
# With fewer samples than two (the service has just started), the first page waits this long
# between two, to show a rate at all.
FIRST_RATE_SECONDS = 1.0


async def tail(
    bootstrap: str, partitions: Sequence[PartitionOffsets], count: int
) -> list[StreamRecord]:
    """The last `count` records of each of `partitions` (as of their `end`)."""
    if not partitions:
        return []
    wanted = {TopicPartition(p.topic, p.partition): p for p in partitions}
    async with reader(bootstrap) as consumer:
        assigned = [
            tp
            for tp in await partitions_of(consumer, {p.topic for p in partitions})
            if tp in wanted
        ]
        if not assigned:
            return []
        consumer.assign(assigned)
        for tp in assigned:
            consumer.seek(tp, max(wanted[tp].start, wanted[tp].end - count))
        ends = {tp: wanted[tp].end for tp in assigned}
        async with contextlib.aclosing(read_until(consumer, ends)) as records:
            return [StreamRecord.from_consumer_record(r) async for r in records]


async def remote_outbox(
    http: httpx.AsyncClient, service: str, base_url: str, admin_key: str
) -> OutboxBacklog:
    """Another service's outbox, from its `GET /v1/ops/outbox`; a service that does not
    answer (in the client's timeout) or answers something else is shown as such."""
    try:
        answer = await http.get(
            base_url.rstrip("/") + "/v1/ops/outbox",
            headers={"Authorization": f"Bearer {admin_key}"},
        )
    except httpx.TimeoutException:
        return unreachable(service, f"no answer within {OUTBOX_TIMEOUT_SECONDS:g} s")
    except httpx.HTTPError as error:
        return unreachable(service, f"unreachable ({type(error).__name__})")
    if answer.status_code != 200:
        return unreachable(service, f"answered HTTP {answer.status_code}")
    try:
        state = OutboxState.model_validate(answer.json())
    except ValueError:
        return unreachable(service, "answered something that is not an outbox state")
    return outbox_backlog(state, datetime.now(UTC))


class OpsMonitor:
    def __init__(
        self,
        *,
        bootstrap: str,
        database: Database,
        store: RegistrationStore,
        admin_key: str,
        outbox_urls: Mapping[str, str],
        sample_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap = bootstrap
        self.sessions = SessionSigner(admin_key)
        self.history = OffsetHistory()
        self.refresh_seconds = max(sample_seconds, 2.0)
        self._database = database
        self._store = store
        self._admin_key = admin_key
        self._outbox_urls = dict(outbox_urls)
        self._clock = clock
        self._sampler = Periodic(
            "ops-monitor-sampler", self.sample, interval=sample_seconds, at_once=True
        )
        self._http: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._last: tuple[float, Snapshot] | None = None
        self._failures: tuple[tuple[tuple[str, int, int], ...], list[Failure]] | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=OUTBOX_TIMEOUT_SECONDS)
        self._sampler.start()

    async def stop(self) -> None:
        await self._sampler.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def sample(self) -> list[PartitionOffsets]:
        """Read every topic's offsets once, and remember the ends for the throughput."""
        offsets = await asyncio.wait_for(topic_offsets(self.bootstrap), KAFKA_TIMEOUT_SECONDS)
        self.history.add(offset_sample(self._clock(), offsets))
        return offsets

    async def snapshot(self) -> Snapshot:
        async with self._lock:
            if self._last is not None and self._clock() - self._last[0] < SNAPSHOT_REUSE_SECONDS:
                return self._last[1]
            snapshot = await self._gather()
            self._last = (self._clock(), snapshot)
            return snapshot

    async def _gather(self) -> Snapshot:
        lag_reading = asyncio.create_task(self._lag())
        outboxes_reading = asyncio.create_task(self._outboxes())
        kafka_problem = None
        offsets: list[PartitionOffsets] = []
        try:
            offsets = await self._offsets()
        except Exception as error:
            kafka_problem = describe(error)
        failures: list[Failure] = []
        failures_problem = None
        if kafka_problem is None:
            try:
                failures = await self._recent_failures(offsets)
            except Exception as error:
                failures_problem = describe(error)
        lag, lag_problem = await lag_reading
        return Snapshot(
            taken_at=datetime.now(UTC),
            kafka_problem=kafka_problem,
            throughput=self._throughput(offsets),
            lag=lag,
            lag_problem=lag_problem,
            outboxes=await outboxes_reading,
            dead_letters=dead_letter_counts(
                offsets, topics.ALL_TOPICS if kafka_problem is None else ()
            ),
            failures=failures,
            failures_problem=failures_problem,
        )

    async def _offsets(self) -> list[PartitionOffsets]:
        first = self.history.latest is None
        offsets = await self.sample()
        if first:
            await asyncio.sleep(FIRST_RATE_SECONDS)
            offsets = await self.sample()
        return offsets

    def _throughput(self, offsets: Sequence[PartitionOffsets]) -> Throughput:
        names = {
            o.topic
            for o in offsets
            if not is_dead_letter_topic(o.topic) and not is_retry_topic(o.topic)
        }
        return throughput(self.history.samples, {*topics.ALL_TOPICS, *names})

    async def _lag(self) -> tuple[list[GroupLag], str | None]:
        try:
            lags = await asyncio.wait_for(consumer_lag(self.bootstrap), KAFKA_TIMEOUT_SECONDS)
        except Exception as error:
            return [], describe(error)
        return group_lags(lags), None

    async def _recent_failures(self, offsets: Sequence[PartitionOffsets]) -> list[Failure]:
        """Read again only when a dead-letter topic grew (or lost its records)."""
        dead = [o for o in offsets if is_dead_letter_topic(o.topic) and o.messages > 0]
        signature = tuple((o.topic, o.partition, o.end) for o in dead)
        if self._failures is not None and self._failures[0] == signature:
            return self._failures[1]
        records = await asyncio.wait_for(
            tail(self.bootstrap, dead, RECENT_FAILURES), KAFKA_TIMEOUT_SECONDS
        )
        failures = recent_failures(records)
        self._failures = (signature, failures)
        return failures

    async def _outboxes(self) -> list[OutboxBacklog]:
        return list(
            await asyncio.gather(
                self._own_outbox(),
                *(self._remote_outbox(name, url) for name, url in self._outbox_urls.items()),
            )
        )

    async def _own_outbox(self) -> OutboxBacklog:
        try:
            state = await read_outbox_state(SERVICE, self._database)
        except Exception as error:
            return unreachable(SERVICE, describe(error))
        return outbox_backlog(state, datetime.now(UTC))

    async def _remote_outbox(self, service: str, base_url: str) -> OutboxBacklog:
        if self._http is None:
            return unreachable(service, "the monitor is not started")
        return await remote_outbox(self._http, service, base_url, self._admin_key)

    async def timeline(self, enrolment_id: str) -> Timeline:
        """One enrolment's events, and its status here."""
        wanted = [*topics.ALL_TOPICS, *(topics.dead_letter_topic(t) for t in topics.ALL_TOPICS)]
        records, own, enrolment = await asyncio.gather(
            asyncio.wait_for(
                read_records(self.bootstrap, wanted, key=enrolment_id), KAFKA_TIMEOUT_SECONDS * 2
            ),
            self._own_events(enrolment_id),
            self._store.enrolment(enrolment_id),
        )
        found = timeline(enrolment_id, records, own, outbox_source=SOURCE)
        if enrolment is None:
            return found
        return found.model_copy(update={"status": str(enrolment.get("status"))})

    async def _own_events(self, enrolment_id: str) -> list[OutboxEntry]:
        cursor = self._database.db[outbox.COLLECTION].find(
            {"key": enrolment_id},
            {"event_id": 1, "type": 1, "topic": 1, "published": 1, "created_at": 1},
        )
        return [
            OutboxEntry(
                event_id=str(doc["event_id"]),
                event_type=str(doc["type"]),
                topic=str(doc["topic"]),
                written_at=_written_at(doc),
                published=bool(doc["published"]),
            )
            async for doc in cursor
        ]


def _written_at(doc: Mapping[str, Any]) -> datetime:
    created = doc.get("created_at")
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    written: datetime = doc["_id"].generation_time
    return written

"""What every Attesta service is made of and how it starts and stops: settings, its own
database, a Kafka broker with dead-lettering, the outbox relay, and the common HTTP routes.

Each service's `app.py` builds a `ServiceCore`, registers its subscribers on `core.broker`, and
hands its routers to `build_http_app`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import outbox, tracing
from shared.asyncapi import install_asyncapi
from shared.auth import Authenticator, KeyDirectory
from shared.consuming import PROCESSED_EVENTS, DeadLetters
from shared.correlation import CorrelationMiddleware
from shared.messaging import BrokerPublisher, build_broker
from shared.mongo import Database, connect
from shared.observability import health_router, install_http_metrics
from shared.ops_api import ops_router
from shared.periodic import Periodic
from shared.problems import install_problem_handlers, problem_response
from shared.retention import ensure_ttl_index, outbox_pruning
from shared.settings import ServiceSettings
from shared.stream_metrics import StreamMetrics, stream_measuring
from shared.topic_watch import topic_watch
from shared.topics import empty_topics, ensure_topics

log = logging.getLogger(__name__)

StartHook = Callable[[], Awaitable[None]]


@dataclass
class ServiceCore:
    name: str
    settings: ServiceSettings
    database: Database
    broker: KafkaBroker
    publisher: BrokerPublisher
    dead_letters: DeadLetters
    relay: outbox.OutboxRelay
    pruning: Periodic
    topic_watch: Periodic
    registry: CollectorRegistry
    metrics: StreamMetrics
    topics: list[str]
    measuring: Periodic | None = None
    tracer_provider: TracerProvider | None = None
    on_start: list[StartHook] = field(default_factory=list)
    on_stop: list[StartHook] = field(default_factory=list)

    started: bool = False

    async def start(self) -> None:
        """Start once the database and the broker answer, however long that takes: a service
        started before them (or while one restarts) waits, and reports not-ready meanwhile."""
        await self._wait_for_dependencies()
        await self.database.ensure_collections(outbox.COLLECTION, PROCESSED_EVENTS)
        await outbox.ensure_indexes(self.database)
        await self._republish_what_the_broker_lost()
        await ensure_ttl_index(
            self.database.db[PROCESSED_EVENTS],
            "processed_at",
            timedelta(hours=self.settings.processed_events_retention_hours),
        )
        for hook in self.on_start:
            await hook()
        await self.broker.start()
        self.relay.start()
        self.pruning.start()
        self.topic_watch.start()
        if self.measuring is not None:
            self.measuring.start()
        self.started = True
        log.info("%s started", self.name)

    def all_topics(self) -> list[str]:
        """What the service publishes and what its subscribers read, retry topics included:
        created before they start."""
        read = {name for sub in self.broker.subscribers for name in getattr(sub, "topic_names", ())}
        return sorted({*self.topics, *read})

    def consumer_groups(self) -> dict[str, str]:
        """Each consumer group of the service and the topic it reads (see
        `shared.messaging.subscriber_options`)."""
        return {
            f"{self.name}.{topic}": topic
            for sub in self.broker.subscribers
            for topic in getattr(sub, "topic_names", ())
        }

    async def _wait_for_dependencies(self) -> None:
        delay = 0.25
        attempt = 1
        while True:
            try:
                await self.database.client.admin.command("ping")
                await ensure_topics(
                    self.settings.kafka_bootstrap_servers,
                    self.all_topics(),
                    self.settings.kafka_topic_partitions,
                )
                return
            except Exception as error:
                log.warning(
                    "%s waits for the database and the broker (attempt %s, next in %.1fs): %s",
                    self.name,
                    attempt,
                    delay,
                    f"{type(error).__name__}: {error}"[:300],
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.startup_retry_max_seconds)
            attempt += 1

    async def _republish_what_the_broker_lost(self) -> None:
        lost = await empty_topics(self.settings.kafka_bootstrap_servers, self.topics)
        if lost and (count := await outbox.replay(self.database, topics=lost)):
            log.warning(
                "the broker has lost %s (empty again): republishing %s events from the outbox",
                ", ".join(sorted(lost)),
                count,
            )

    async def stop(self) -> None:
        for hook in self.on_stop:
            await self._bounded(hook.__qualname__, hook())
        if self.measuring is not None:
            await self._bounded("the stream measuring", self.measuring.stop())
        await self._bounded("the topic watch", self.topic_watch.stop())
        await self._bounded("the outbox pruning", self.pruning.stop())
        await self._bounded("the outbox relay", self.relay.stop())
        # Waits for the handlers in flight, commits, and leaves the consumer groups. aiokafka
        # first lets a group join in progress end, which the broker may hold for a long time.
        await self._bounded("the broker's consumers and producer", self.broker.stop())
        await self._bounded("the database client", self.database.client.close())
        if self.tracer_provider is not None:
            # Sends the spans still buffered; blocking, and bounded by the exporter's timeout.
            await asyncio.to_thread(self.tracer_provider.shutdown)
        log.info("%s stopped", self.name)

    async def _bounded(self, what: str, step: Awaitable[None]) -> None:
        await stop_within(self.settings.shutdown_step_seconds, f"{self.name}: {what}", step)

    async def kafka_ready(self) -> bool:
        try:
            return await self.broker.ping(timeout=2.0)
        except Exception:
            return False


async def stop_within(seconds: float, what: str, step: Awaitable[None]) -> bool:
    """Await one step of a stop for at most `seconds`; past that, log it, cancel it and return
    False, so that the steps after it (and the process's exit) still happen."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(step, timeout=seconds)
    except TimeoutError:
        log.warning("stopping %s took over %gs; going on without it", what, seconds)
        return False
    if (took := time.monotonic() - started) > 1.0:
        log.info("stopping %s took %.1fs", what, took)
    return True


async def _start_or_exit(core: ServiceCore) -> None:
    try:
        await core.start()
    except asyncio.CancelledError:
        raise
    except BaseException:
        # Past the waiting, a failure is a bug or a broken setup: stop the process, so its
        # supervisor sees it and restarts it, rather than serve 503 for ever.
        log.exception("%s could not start; stopping", core.name)
        os.kill(os.getpid(), signal.SIGTERM)


class StartingGate:
    """Answers 503 (problem+json, Retry-After) for everything but the health routes until the
    service has started, so a request never half-runs against a database not yet reachable."""

    def __init__(self, app: ASGIApp, core: ServiceCore) -> None:
        self.app = app
        self.core = core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.core.started
            or str(scope["path"]).startswith(("/health", "/metrics", "/asyncapi"))
        ):
            await self.app(scope, receive, send)
            return
        await problem_response(
            503,
            f"The {self.core.name} service is starting: it waits for its database and broker.",
            headers={"Retry-After": "2"},
        )(scope, receive, send)


def build_core(
    settings: ServiceSettings, *, name: str, database_name: str, topics: Sequence[str]
) -> ServiceCore:
    registry = CollectorRegistry()
    database = Database(
        connect(settings.mongo_url),
        database_name,
        serialise=settings.mongo_serialise_transactions,
        lock_dir=settings.mongo_lock_dir,
    )
    metrics = StreamMetrics(registry, name)
    provider = tracing.tracer_provider(
        name, settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio
    )
    broker, publisher, dead_letters = build_broker(
        settings, service=name, registry=registry, outcomes=metrics, tracer_provider=provider
    )
    relay = outbox.OutboxRelay(
        database,
        publisher,
        poll_seconds=settings.outbox_poll_seconds,
        linger_seconds=settings.outbox_linger_seconds,
        on_published=metrics.published,
    )
    core = ServiceCore(
        name=name,
        settings=settings,
        database=database,
        broker=broker,
        publisher=publisher,
        dead_letters=dead_letters,
        relay=relay,
        pruning=outbox_pruning(
            database,
            keep=timedelta(hours=settings.outbox_retention_hours),
            interval=settings.outbox_prune_interval_seconds,
        ),
        registry=registry,
        metrics=metrics,
        tracer_provider=provider,
        topics=list(topics),
        topic_watch=topic_watch(
            settings.kafka_bootstrap_servers,
            lambda: core.all_topics(),
            partitions=settings.kafka_topic_partitions,
            interval=settings.kafka_topic_check_seconds,
        ),
    )
    if settings.metrics_enabled:
        core.measuring = stream_measuring(
            metrics,
            database,
            settings.kafka_bootstrap_servers,
            core.consumer_groups,
            interval=settings.metrics_refresh_seconds,
        )
    return core


def build_http_app(
    core: ServiceCore,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    keys: KeyDirectory,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Listening at once, starting in the background: /health/ready answers 503 until the
        # dependencies are there, instead of the process failing when started first.
        starting = asyncio.create_task(_start_or_exit(core), name=f"{core.name}-start")
        try:
            yield
        finally:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await core.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.core = core
    app.state.authenticator = Authenticator(core.settings.admin_key, keys)
    install_problem_handlers(app)
    app.add_middleware(StartingGate, core=core)
    if core.settings.metrics_enabled:
        install_http_metrics(app, core.registry)
    # Outermost: a refusal by the gate, too, answers with the request's correlation id.
    app.add_middleware(CorrelationMiddleware)
    if core.tracer_provider is not None:
        tracing.instrument_http(app, core.tracer_provider)

    async def started() -> bool:
        return core.started

    app.include_router(
        health_router(
            {"started": started, "mongodb": core.database.ping, "kafka": core.kafka_ready},
            core.registry,
        )
    )
    app.include_router(ops_router(core.name, core.database))
    for router in routers:
        app.include_router(router)

    install_asyncapi(
        app, core.broker, service=core.name, version=app.version, description=description
    )
    return app

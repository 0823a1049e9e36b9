"""What every Attesta service is made of and how it starts and stops: settings, its own
database, a Kafka broker with dead-lettering, the outbox relay, and the common HTTP routes.

Each service's `app.py` builds a `ServiceCore`, registers its subscribers on `core.broker`, and
hands its routers to `build_http_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry, Gauge

from shared import outbox
from shared.auth import Authenticator, KeyDirectory
from shared.consuming import PROCESSED_EVENTS, DeadLetters
from shared.messaging import BrokerPublisher, build_broker
from shared.mongo import Database, connect
from shared.observability import health_router, install_http_metrics
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings
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
    registry: CollectorRegistry
    topics: list[str]
    on_start: list[StartHook] = field(default_factory=list)
    on_stop: list[StartHook] = field(default_factory=list)

    async def start(self) -> None:
        await ensure_topics(
            self.settings.kafka_bootstrap_servers, self.topics, self.settings.kafka_topic_partitions
        )
        await self.database.ensure_collections(outbox.COLLECTION, PROCESSED_EVENTS)
        await outbox.ensure_indexes(self.database)
        await self._republish_what_the_broker_lost()
        await self.database.db[PROCESSED_EVENTS].create_index("processed_at")
        for hook in self.on_start:
            await hook()
        await self.broker.start()
        self.relay.start()
        log.info("%s started", self.name)

    async def _republish_what_the_broker_lost(self) -> None:
        lost = await empty_topics(self.settings.kafka_bootstrap_servers, self.topics)
        if lost and (count := await outbox.requeue_published(self.database, lost)):
            log.warning(
                "the broker has lost %s (empty again): republishing %s events from the outbox",
                ", ".join(sorted(lost)),
                count,
            )

    async def stop(self) -> None:
        for hook in self.on_stop:
            await hook()
        await self.relay.stop()
        await self.broker.stop()
        await self.database.client.close()
        log.info("%s stopped", self.name)

    async def kafka_ready(self) -> bool:
        try:
            return await self.broker.ping(timeout=2.0)
        except Exception:
            return False


def build_core(
    settings: ServiceSettings, *, name: str, database_name: str, topics: Sequence[str]
) -> ServiceCore:
    registry = CollectorRegistry()
    database = Database(
        connect(settings.mongo_url),
        database_name,
        serialise=settings.mongo_serialise_transactions,
    )
    broker, publisher, dead_letters = build_broker(settings, service=name, registry=registry)
    relay = outbox.OutboxRelay(
        database,
        publisher,
        poll_seconds=settings.outbox_poll_seconds,
        linger_seconds=settings.outbox_linger_seconds,
    )
    core = ServiceCore(
        name=name,
        settings=settings,
        database=database,
        broker=broker,
        publisher=publisher,
        dead_letters=dead_letters,
        relay=relay,
        registry=registry,
        topics=list(topics),
    )
    dead_lettered = Gauge(
        "attesta_dead_lettered_messages",
        "Messages this process sent to a dead-letter topic.",
        registry=registry,
    )
    dead_lettered.set_function(lambda: dead_letters.dead_lettered)
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
        await core.start()
        try:
            yield
        finally:
            await core.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.core = core
    app.state.authenticator = Authenticator(core.settings.admin_key, keys)
    install_problem_handlers(app)
    install_http_metrics(app, core.registry)
    app.include_router(
        health_router({"mongodb": core.database.ping, "kafka": core.kafka_ready}, core.registry)
    )
    for router in routers:
        app.include_router(router)

    spec = AsyncAPI(core.broker, title=f"{title} events", version="1.0.0")

    @app.get("/asyncapi", tags=["health"], summary="AsyncAPI document of this service's events")
    async def asyncapi() -> JSONResponse:
        document: dict[str, Any] = spec.to_specification().to_jsonable()
        return JSONResponse(document)

    return app

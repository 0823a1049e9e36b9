"""The web monitor at `/ops` (admin only): throughput per topic, consumer lag, outbox
backlogs, dead letters, recent failures and one trainee's timeline, server-rendered with a
little script that refreshes the panels."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.registration.ops_monitor.monitor import OpsMonitor
from services.registration.ops_monitor.routes import STATIC_DIR, api, router
from services.registration.settings import RegistrationSettings
from services.registration.store import RegistrationStore
from shared.lifecycle import ServiceCore


def install(
    app: FastAPI, core: ServiceCore, settings: RegistrationSettings, store: RegistrationStore
) -> OpsMonitor:
    """Add the monitor's routes to `app`; it samples the topics while the service runs."""
    monitor = OpsMonitor(
        bootstrap=settings.kafka_bootstrap_servers,
        database=core.database,
        store=store,
        admin_key=settings.admin_key,
        outbox_urls={
            "certification": settings.certification_url,
            "notification": settings.notification_url,
        },
        sample_seconds=settings.ops_sample_seconds,
    )
    core.on_start.append(monitor.start)
    core.on_stop.append(monitor.stop)
    app.state.ops_monitor = monitor
    app.include_router(router)
    app.include_router(api)
    app.mount("/ops/static", StaticFiles(directory=STATIC_DIR), name="ops-static")
    return monitor

"""Composition root of the registration service."""

from __future__ import annotations

from fastapi import FastAPI

from services.registration import handlers, ops_monitor
from services.registration.commands import Registrar
from services.registration.http import routers
from services.registration.settings import RegistrationSettings
from services.registration.store import RegistrationStore
from shared import idempotency, topics
from shared.lifecycle import build_core, build_http_app

NAME = "registration"


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    core = build_core(
        settings,
        name=NAME,
        database_name=settings.mongo_database,
        topics=[
            topics.ENROLMENT_REGISTERED,
            topics.ENROLMENT_COMPLETED,
            topics.ENROLMENT_CORRECTED,
            topics.PARTNER_KEYS,
            topics.COURSE_RELEASED,
            topics.COURSE_CLOSED,
            topics.CERTIFICATE_ISSUED,
            topics.CERTIFICATE_REVOKED,
            topics.NOTIFICATION_SENT,
            topics.NOTIFICATION_FAILED,
        ],
    )
    store = RegistrationStore(core.database)
    registrar = Registrar(store)
    core.on_start.append(store.ensure_indexes)
    handlers.register(core.broker, registrar, settings)
    app = build_http_app(
        core,
        title="Attesta registration",
        description="Partners, courses, enrolments and attendance.",
        routers=routers,
        keys=store,
    )
    app.add_middleware(
        idempotency.IdempotencyKeys, database=core.database, records=store.idempotency_records
    )
    app.state.store = store
    app.state.registrar = registrar
    ops_monitor.install(app, core, settings, store)
    return app

"""Composition root of the certification service."""

from __future__ import annotations

from fastapi import FastAPI

from services.certification import api, credentials_api, handlers
from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from services.certification.metrics import CertificateMetrics
from services.certification.openbadges import Publisher
from services.certification.render import CertificateRenderer
from services.certification.settings import CertificationSettings
from services.certification.store import CertificationStore
from shared import data_integrity, topics
from shared.lifecycle import build_core, build_http_app

NAME = "certification"


def create_app(settings: CertificationSettings | None = None) -> FastAPI:
    settings = settings or CertificationSettings()
    core = build_core(
        settings,
        name=NAME,
        database_name=settings.mongo_database,
        topics=[
            topics.ENROLMENT_COMPLETED,
            topics.ENROLMENT_CORRECTED,
            topics.PARTNER_KEYS,
            topics.CERTIFICATE_ISSUED,
            topics.CERTIFICATE_REVOKED,
        ],
    )
    store = CertificationStore(core.database)
    keyring = Keyring(core.database)
    issuer = Issuer(store, CertificateRenderer(), keyring, settings.public_base_url)
    core.on_start.append(store.ensure_indexes)
    core.on_start.append(keyring.load)
    handlers.register(core.broker, issuer, store, settings, CertificateMetrics(core.registry))
    app = build_http_app(
        core,
        title="Attesta certification",
        description="Certificates: issue, download, verify, revoke.",
        routers=[api.router, credentials_api.router],
        keys=store,
    )
    app.state.store = store
    app.state.issuer = issuer
    app.state.keyring = keyring
    base_url = settings.public_base_url.rstrip("/")
    app.state.publisher = Publisher(base_url, data_integrity.did_web(base_url))
    return app

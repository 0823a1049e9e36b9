"""Composition root of the notification service."""

from __future__ import annotations

from fastapi import FastAPI

from services.notification import api, handlers
from services.notification.delivery import Deliverer
from services.notification.mailer import CertificateMail, SmtpConfig
from services.notification.settings import NotificationSettings
from services.notification.store import NotificationStore
from shared import topics
from shared.lifecycle import build_core, build_http_app

NAME = "notification"


class NoPartnerKeys:
    """The notification API is for the admin only: no partner key is ever accepted."""

    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        return None


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    core = build_core(
        settings,
        name=NAME,
        database_name=settings.mongo_database,
        topics=[topics.CERTIFICATE_ISSUED, topics.NOTIFICATION_SENT, topics.NOTIFICATION_FAILED],
    )
    store = NotificationStore(core.database)
    smtp = SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
        timeout=settings.smtp_timeout_seconds,
    )
    mail = CertificateMail(settings.mail_from, settings.mail_reply_to, settings.message_id_domain)
    deliverer = Deliverer(store, mail, smtp)
    core.on_start.append(store.ensure_indexes)
    handlers.register(core.broker, deliverer, settings)
    app = build_http_app(
        core,
        title="Attesta notification",
        description="Certificate emails and their delivery.",
        routers=[api.router],
        keys=NoPartnerKeys(),
    )
    app.state.store = store
    return app

"""Composition root of the notification service."""

from __future__ import annotations

import time

from fastapi import FastAPI

from services.notification import api, handlers
from services.notification.composing import Composer, MailIdentity
from services.notification.dispatcher import Dispatcher, DispatchSettings
from services.notification.intake import Intake
from services.notification.letters import LetterWriter
from services.notification.metrics import EmailMetrics
from services.notification.recipient_limits import RecipientRateLimit
from services.notification.retrying import RetryPolicy
from services.notification.settings import NotificationSettings
from services.notification.smtp import SmtpChannel, SmtpConfig
from services.notification.store import NotificationStore
from shared import topics
from shared.lifecycle import build_core, build_http_app

NAME = "notification"


class NoPartnerKeys:
    """The notification API is for the admin only: no partner key is ever accepted."""

    async def partner_for_key_hash(self, key_hash: str) -> str | None:
        return None


def smtp_config(settings: NotificationSettings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
        timeout=settings.smtp_timeout_seconds,
        ca_file=settings.smtp_ca_file,
    )


def build_dispatcher(
    settings: NotificationSettings,
    store: NotificationStore,
    letters: LetterWriter,
    metrics: EmailMetrics,
) -> Dispatcher:
    config = smtp_config(settings)
    return Dispatcher(
        store,
        letters,
        lambda: SmtpChannel(config),
        metrics=metrics,
        policy=RetryPolicy(
            first_delay=settings.mail_retry_first_seconds,
            max_delay=settings.mail_retry_max_seconds,
            give_up_after=settings.mail_give_up_hours * 3600,
        ),
        limit=RecipientRateLimit(settings.mail_per_recipient_per_minute, clock=time.monotonic),
        settings=DispatchSettings(
            connections=settings.smtp_connections,
            lease_seconds=settings.mail_lease_seconds,
            poll_seconds=settings.mail_poll_seconds,
            outage_pause_seconds=settings.mail_outage_pause_seconds,
        ),
    )


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()
    core = build_core(
        settings,
        name=NAME,
        database_name=settings.mongo_database,
        topics=[
            topics.CERTIFICATE_ISSUED,
            topics.ENROLMENT_REGISTERED,
            topics.COURSE_RELEASED,
            topics.COURSE_CLOSED,
            topics.NOTIFICATION_SENT,
            topics.NOTIFICATION_FAILED,
        ],
    )
    store = NotificationStore(core.database)
    composer = Composer(
        MailIdentity(settings.mail_from, settings.mail_reply_to, settings.message_id_domain),
        settings.mail_templates_dir,
    )
    letters = LetterWriter(composer, settings.mail_compose_processes)
    dispatcher = build_dispatcher(settings, store, letters, EmailMetrics(core.registry))
    intake = Intake(store, dispatcher.wake)
    dispatcher.on_finished = intake.check_summary

    async def start_sending() -> None:
        dispatcher.start()

    core.on_start.append(store.ensure_indexes)
    core.on_start.append(start_sending)
    core.on_stop.append(dispatcher.stop)

    async def stop_composing() -> None:
        letters.close()

    core.on_stop.append(stop_composing)
    handlers.register(core.broker, intake, settings)
    app = build_http_app(
        core,
        title="Attesta notification",
        description="Certificate emails and their delivery.",
        routers=[api.router],
        keys=NoPartnerKeys(),
    )
    app.state.store = store
    app.state.dispatcher = dispatcher
    return app

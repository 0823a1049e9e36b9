from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    http_port: int = 8003
    mongo_database: str = "notification"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade with STARTTLS after EHLO.")
    smtp_tls: bool = Field(default=False, description="Implicit TLS (usually port 465).")
    smtp_timeout_seconds: float = 30.0
    mail_from: str = Field(
        default="Attesta <certificates@attesta.local>", description="From header of every email."
    )
    mail_reply_to: str | None = None
    message_id_domain: str = "attesta.local"

from __future__ import annotations

from pathlib import Path

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
    smtp_ca_file: str | None = Field(
        default=None, description="CA bundle to trust for the server's certificate (PEM)."
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_connections: int = Field(
        default=2, ge=1, le=32, description="Emails sent at once, each on its own connection."
    )
    mail_compose_processes: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Processes that build emails beside the service's event loop (0: in it).",
    )
    mail_from: str = Field(
        default="Attesta <certificates@attesta.local>",
        description="Address of every email; the display name becomes the issuer's name unless "
        "the issuer has its own `email_from`.",
    )
    mail_reply_to: str | None = Field(
        default=None, description="Reply-To when the issuer has no `email_reply_to`."
    )
    message_id_domain: str = "attesta.local"
    mail_templates_dir: Path | None = Field(
        default=None,
        description="Folder of templates overriding the built-in ones: `<kind>/<lang>.<part>` "
        "for everyone, `issuers/<issuer id>/<kind>/<lang>.<part>` for one issuer.",
    )
    mail_retry_first_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first temporary failure; then doubling."
    )
    mail_retry_max_seconds: float = Field(default=900.0, gt=0)
    mail_give_up_hours: float = Field(
        default=72.0, gt=0, description="Stop retrying an email after this long: it is failed."
    )
    mail_per_recipient_per_minute: int = Field(
        default=60, ge=0, description="Emails to one address per minute (0: no limit)."
    )
    mail_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a claimed email may take before another sender resolves it.",
    )
    mail_poll_seconds: float = Field(default=1.0, gt=0)
    mail_outage_pause_seconds: float = Field(
        default=5.0, ge=0, description="Pause of all sending after the server was unreachable."
    )

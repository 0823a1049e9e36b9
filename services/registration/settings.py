from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    http_port: int = 8001
    mongo_database: str = "registration"
    # The web monitor (/ops) asks the other services for their outbox state over HTTP: ops
    # reads only, with the admin key; no domain data crosses services.
    certification_url: str = Field(
        default="http://127.0.0.1:8002", description="Base URL of the certification service."
    )
    notification_url: str = Field(
        default="http://127.0.0.1:8003", description="Base URL of the notification service."
    )
    ops_sample_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the web monitor reads the topics' end offsets (throughput).",
    )

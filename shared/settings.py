"""Settings read once from the environment; every service extends `ServiceSettings`.

Every variable is prefixed `ATTESTA_` (e.g. `ATTESTA_KAFKA_BOOTSTRAP_SERVERS`). The defaults are
the ports `make run` uses, so a service started by hand next to `make run` just works.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATTESTA_", extra="ignore")

    admin_key: str = Field(
        default="dev-admin-key",
        description="Bearer key of the administrator (make run generates one when unset).",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = Field(
        default=False,
        description="Idempotent producer: on for Apache Kafka; the embedded broker rejects it.",
    )
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_session_timeout_ms: int = Field(
        default=10_000,
        ge=1000,
        description="Consumer group session timeout: how soon a dead consumer's partitions move.",
    )
    kafka_fetch_max_wait_ms: int = Field(
        default=500,
        ge=1,
        description=(
            "Longest wait of a consumer's fetch for new messages. Apache Kafka answers as soon "
            "as a message arrives; the embedded broker waits the whole time, so make run uses 50."
        ),
    )
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_serialise_transactions: bool = Field(
        default=True,
        description=(
            "Run this process's transactions one at a time. The embedded MongoDB-wire server "
            "interleaves concurrent transactions on one database; real MongoDB does not need it."
        ),
    )
    http_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_json: bool = False
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_linger_seconds: float = Field(
        default=0.02,
        ge=0,
        description="How long the relay waits after a commit wakes it, to publish a batch.",
    )
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)

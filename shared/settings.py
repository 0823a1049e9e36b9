"""Settings read once from the environment; every service extends `ServiceSettings`.

Every variable is prefixed `ATTESTA_` (e.g. `ATTESTA_KAFKA_BOOTSTRAP_SERVERS`). The defaults are
the ports `make run` uses, so a service started by hand next to `make run` just works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
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
    kafka_topic_check_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often a service checks that its topics exist (puts back lost ones).",
    )
    kafka_metadata_max_age_ms: int = Field(
        default=30_000,
        ge=1000,
        description="How soon clients see topics and partitions that appeared.",
    )
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
    mongo_lock_dir: Path | None = Field(
        default=None,
        description=(
            "Embedded stack only: a directory for the lock files that serialise transactions "
            "across processes, so that several instances of a service can share a database. "
            "Needs mongo_serialise_transactions. Leave unset on real MongoDB."
        ),
    )
    http_host: str = "127.0.0.1"
    shutdown_step_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Longest wait for each step of a graceful stop (the broker's consumers, the outbox "
            "relay, the database client...). A step that takes longer is logged and abandoned, "
            "so a SIGTERM always ends the process in bounded time: work not yet committed is "
            "redelivered and done once by the instance that takes it over."
        ),
    )
    log_level: str = "INFO"
    log_json: bool = Field(
        default=False,
        description="One JSON object per log line (production); readable lines when false.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description=(
            "OpenTelemetry collector (OTLP over HTTP, e.g. http://otel-collector:4318) to send "
            "traces to. Tracing is off when unset."
        ),
    )
    trace_sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="Share of new traces kept when tracing is on."
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Prometheus metrics on /metrics (off only to measure what they cost).",
    )
    metrics_refresh_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often outbox backlog, consumer lag and dead-letter sizes are measured.",
    )
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_linger_seconds: float = Field(
        default=0.02,
        ge=0,
        description="How long the relay waits after a commit wakes it, to publish a batch.",
    )
    startup_retry_max_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait between tries to reach the database and broker at start.",
    )
    outbox_retention_hours: float = Field(
        default=168,
        gt=0,
        description="How long published events stay in the outbox, to be replayed.",
    )
    outbox_prune_interval_seconds: float = Field(default=3600, gt=0)
    processed_events_retention_hours: float = Field(
        default=336,
        gt=0,
        description=(
            "How long a consumer remembers the events it processed. Longer than the outbox "
            "keeps events, so that every replay is recognised."
        ),
    )
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_retry_topic_delays_seconds: list[float] = Field(
        default=[5.0, 30.0, 120.0],
        description=(
            "After the in-process attempts, a failing event goes to the service's retry topic "
            "once per delay listed (a JSON list), then to the dead-letter topic. Each delay "
            "must stay well under the consumer's max poll interval (300 s)."
        ),
    )

    @model_validator(mode="after")
    def _markers_outlive_replays(self) -> Self:
        if self.processed_events_retention_hours <= self.outbox_retention_hours:
            raise ValueError(
                "ATTESTA_PROCESSED_EVENTS_RETENTION_HOURS must be longer than "
                "ATTESTA_OUTBOX_RETENTION_HOURS: a replayed event older than its consumer's "
                "memory would be processed twice"
            )
        return self

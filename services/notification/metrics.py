"""What ops read about emails on `/metrics`: outcomes, send times, and what is waiting."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.notification.delivery_status import QUEUED


class EmailMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "attesta_email_attempts",
            "Attempts to send an email, by kind and outcome (sent, pending = to be retried, "
            "failed, unconfirmed).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.send_seconds = Histogram(
            "attesta_email_send_seconds",
            "Time of one SMTP transaction, MAIL FROM to the server's final answer.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.queued = Gauge(
            "attesta_emails_queued",
            "Emails not yet finished, by status (held with their course, pending, sending).",
            ["status"],
            registry=registry,
        )

    def attempt(self, kind: str, outcome: str) -> None:
        self.outcomes.labels(kind=kind, outcome=outcome).inc()

    def queue(self, counts: dict[str, int]) -> None:
        for status in QUEUED:
            self.queued.labels(status=status).set(counts.get(status, 0))

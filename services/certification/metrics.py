"""What ops read about certificates on `/metrics`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class CertificateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.issued = Counter(
            "attesta_certificates_issued",
            "Certificates issued (first versions, committed), by course language.",
            ["language"],
            registry=registry,
        )

"""What a run measured, as plain data: printed as a table and saved as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class LoadFigures:
    target: str
    ok: int
    failed: int
    failures: dict[str, int]
    first_failure: str | None
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    # CPU seconds each process spent during the timed part (the bench client included).
    cpu_seconds: dict[str, float]


@dataclass(frozen=True)
class SingleFigures:
    concurrency: int
    requests: int
    rounds: int
    baseline: LoadFigures
    service: LoadFigures
    throughput_ratio: float | None


@dataclass(frozen=True)
class RssFigures:
    before_mib: float
    peak_mib: float
    method: str


@dataclass(frozen=True)
class RawFigures:
    seconds: float
    rows_per_second: float
    cpu_seconds: dict[str, float]


@dataclass(frozen=True)
class BulkFigures:
    size: int
    csv_bytes: int
    raw: RawFigures
    raw_in_transactions: RawFigures
    service_seconds: float
    service_rows_per_second: float
    # The service's rows/s over plain insert_many's (the stated goal), and over
    # insert_many with a transaction per batch (what the service does).
    throughput_ratio: float | None
    throughput_ratio_to_transactions: float | None
    status: int | None
    accepted: int
    duplicates: int
    rejected: int
    error: str | None
    service_rss: RssFigures
    mongo_rss: RssFigures
    cpu_seconds: dict[str, float]

    @property
    def complete(self) -> bool:
        return self.error is None and self.accepted == self.size


@dataclass
class RunFigures:
    started_at: str
    command: list[str]
    machine: dict[str, str | int | None]
    settings: dict[str, object]
    idle_cores: dict[str, float] = field(default_factory=dict)
    single: SingleFigures | None = None
    bulk: list[BulkFigures] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

"""What the whole-flow measurement (issue #8, `--only flow`) records: raw baselines of each
stage, end-to-end rounds, latency under a steady offered load, scaling out, the monolith peer
and a profile. Saved in the run's JSON under "flow"; `bench/plot.py` draws from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.figures import Spread


@dataclass(frozen=True)
class Baseline:
    """One stage's raw speed on this machine: the parts the service uses, without the service."""

    stage: str  # kafka, mongodb, renderer, smtp: what the system's stage is compared with
    what: str  # what was done, e.g. "aiokafka produce+consume, 1,207-byte records"
    unit: str  # "per second", of `what`
    runs: list[float]
    spread: Spread


@dataclass(frozen=True)
class FlowRound:
    """One course of `size` trainees, completed at once: first completion to last email."""

    size: int
    instances: int  # of certification and of notification
    number: int
    completed: int
    issued: int
    emailed: int
    seconds: float | None  # first completing POST sent → last notification.sent read
    per_second: float  # emailed / seconds
    cpu_seconds: dict[str, float]  # by process, over the round
    stack_cpu_ms_per_certificate: float | None
    load_average: float
    error: str | None


@dataclass(frozen=True)
class LatencyRun:
    """Trainees completed one per POST at a steady `rate`; each one's completion (the POST's
    answer) to its notification.sent."""

    rate: float  # offered, completions per second
    seconds: float  # how long the load was offered
    offered: int
    achieved_rate: float  # completions per second actually answered
    emailed: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    error: str | None


@dataclass(frozen=True)
class StageRatio:
    """A stage of the system against its raw baseline."""

    stage: str
    system: str  # what the system's figure is
    system_per_second: float | None
    baseline: str
    baseline_per_second: float
    ratio: float | None


@dataclass(frozen=True)
class MonolithFigures:
    """The same flow with the three services collapsed into direct function calls in one
    process (no Kafka, no outboxes): what a monolith would get on the same parts."""

    certificates: int
    runs: list[float]  # certificates emailed per second, per repeat
    spread: Spread
    cpu_ms_per_certificate: float | None
    what: str
    error: str | None = None


@dataclass(frozen=True)
class ProfileFigures:
    """A sampling profile of the busiest process during one end-to-end round."""

    process: str
    tool: str  # "py-spy 0.4.x"
    seconds: float
    samples: int
    speedscope: str | None  # the saved profile (open at https://www.speedscope.app)
    # The tops are shares of the working samples: those not waiting (profiling.WAITING_LEAVES).
    top_self: list[tuple[str, float]]  # function, share of samples spent in it (self)
    top_total: list[tuple[str, float]]  # function, share of samples with it on the stack
    error: str | None = None
    working_samples: int = 0


@dataclass
class FlowFigures:
    baselines: list[Baseline] = field(default_factory=list)
    rounds: list[FlowRound] = field(default_factory=list)
    # "<size> x<instances>": certificates per second over the repeats
    throughput: dict[str, Spread] = field(default_factory=dict)
    latency: list[LatencyRun] = field(default_factory=list)
    # "<rate>/s": p99 in ms over the repeats
    latency_p99: dict[str, Spread] = field(default_factory=dict)
    stages: list[StageRatio] = field(default_factory=list)
    slowest_baseline: str | None = None
    share_of_slowest_baseline: float | None = None  # end to end / slowest raw stage
    cpu_share: dict[str, float] = field(default_factory=dict)  # of the stack's CPU, by process
    monolith: MonolithFigures | None = None
    profile: ProfileFigures | None = None
    plot: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every round and run went through and the peer ran (a profile may be missing: py-spy
        needs ptrace, which some machines forbid)."""
        monolith_ok = self.monolith is None or self.monolith.error is None
        return bool(self.rounds) and not self.errors and monolith_ok

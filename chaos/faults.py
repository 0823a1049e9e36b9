"""The faults of a chaos run and when they strike: a plain plan, drawn from a seed, so that a
run that found a bug can be repeated."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    KILL = "kill -9"  # an instance dies; started again after `duration`
    DATABASE_DOWN = "database stopped"
    MAIL_DOWN = "smtp sink stopped"
    BROKER_RESTART = "broker restarted (then outboxes replayed)"
    POISON = "poison injected"


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the load starts
    kind: Kind
    target: str
    duration: float = 0.0  # how long the target stays down

    def describe(self) -> str:
        down = f" for {self.duration:.0f}s" if self.duration else ""
        return f"{self.kind} {self.target}{down}".strip()


@dataclass(frozen=True)
class Scale:
    """How hard a run is: the full `make chaos` or the short version in `make test`."""

    window: float  # faults strike within this many seconds of the start of the load
    kills_per_instance: int
    scaled_out_down: float  # the second certification/notification instance stays down
    database_down: float
    mail_down: float
    poison_waves: int


FULL = Scale(
    window=90, kills_per_instance=2, scaled_out_down=20, database_down=10, mail_down=30,
    poison_waves=2,
)  # fmt: skip
SHORT = Scale(
    window=25, kills_per_instance=1, scaled_out_down=6, database_down=3, mail_down=5,
    poison_waves=1,
)  # fmt: skip


def plan(instances: list[str], scale: Scale, seed: int) -> list[Fault]:
    """Every fault of the run in time order. Poison comes after the broker restart (which loses
    what the broker held, dead-letter topics too), so that what the audit looks for in the
    dead-letter topics was not lost with the broker."""
    rng = random.Random(seed)
    w = scale.window
    faults: list[Fault] = []
    for instance in instances:
        for _ in range(scale.kills_per_instance):
            faults.append(Fault(rng.uniform(0.05 * w, 0.9 * w), Kind.KILL, instance, 1.0))
    for instance in instances:
        if instance.endswith("-2"):
            # One of two instances gone for a while: its partitions move to the other.
            at = rng.uniform(0.1 * w, 0.6 * w)
            faults.append(Fault(at, Kind.KILL, instance, scale.scaled_out_down))
    faults.append(
        Fault(rng.uniform(0.3 * w, 0.7 * w), Kind.DATABASE_DOWN, "mongodb", scale.database_down)
    )
    faults.append(Fault(rng.uniform(0.2 * w, 0.6 * w), Kind.MAIL_DOWN, "smtp", scale.mail_down))
    # While certificates are being issued and emailed, so the replay has work in flight.
    restart = rng.uniform(0.5 * w, 0.7 * w)
    faults.append(Fault(restart, Kind.BROKER_RESTART, "kafka"))
    for wave in range(scale.poison_waves):
        at = rng.uniform(restart + 5, w + 5) if wave else restart + 5
        faults.append(Fault(at, Kind.POISON, "every topic"))
    return sorted(faults, key=lambda f: f.at)

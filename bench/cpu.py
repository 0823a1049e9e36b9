"""CPU time spent by processes, from /proc (Linux): shows which process a run's time went to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` so far (its threads included; children not)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces and parentheses: count fields after its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    taken: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            taken[name] = cpu_seconds(pid)
        except OSError:
            continue
    return taken


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before if name in after}

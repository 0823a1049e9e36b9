"""What the services warned about while a test ran, to attach to its failure report.

A test that times out waiting for a certificate says only that it waited; the reason is in
the services' JSON logs (a consumer stuck rebalancing, a transaction that could not start),
which CI does not keep. So a failing end-to-end test carries the warnings and errors each
service logged since shortly before the test began, identical messages counted once.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

LOUD = frozenset({"WARNING", "ERROR", "CRITICAL"})
# Ids, offsets and times differ between otherwise identical messages.
_VARYING = re.compile(r"[0-9a-f]{16,}|\d+")


def loud_lines(log: Path, since: float, *, limit: int = 25) -> list[str]:
    """The warnings and errors of one JSON-lines log written at or after `since` (epoch
    seconds): one line per kind of message, with how often it came, in order of first sight."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for raw in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
            logged = datetime.fromisoformat(record["time"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if logged < since or record.get("level") not in LOUD:
            continue
        message = str(record.get("message", ""))
        kind = _VARYING.sub("#", f"{record['level']} {record.get('logger')} {message}")
        counts[kind] += 1
        first.setdefault(kind, f"{record['time'][11:23]} {record['level']} {message[:400]}")
    lines = [
        f"{first[kind]}  (x{counts[kind]})" if counts[kind] > 1 else first[kind] for kind in first
    ]
    if len(lines) > limit:
        return [*lines[:limit], f"... and {len(lines) - limit} more kinds of message"]
    return lines


def digest(log_dir: Path, since: float) -> str:
    """Every service log's loud lines since `since`, under the log's name."""
    parts = []
    for log in sorted(log_dir.glob("*.log")):
        if lines := loud_lines(log, since):
            parts.append(f"--- {log.name} ---\n" + "\n".join(lines))
    return "\n".join(parts) or "(no warnings or errors in the service logs)"

"""The verdict of a chaos run as a table (and as JSON for the record)."""

from __future__ import annotations

import json
import platform
from collections import Counter
from pathlib import Path
from typing import Any

from chaos.run import Outcome


def rows(outcome: Outcome) -> list[tuple[str, str]]:
    audit = outcome.audit
    kinds = Counter(f.kind.value for f in outcome.faults)
    expected_poison = audit.dead_lettered + len(audit.poison_missing)
    return [
        ("faults injected", f"{len(outcome.faults)}"),
        *((f"  {kind}", f"{count}") for kind, count in sorted(kinds.items())),
        ("trainees", f"{audit.trainees} ({audit.qualifying} qualifying)"),
        ("certificates (valid)", f"{audit.certificates}"),
        ("certificate emails", f"{audit.emails}"),
        ("lost", f"{audit.lost}"),
        ("duplicated", f"{audit.duplicated}"),
        ("numbers skipped", f"{len(audit.skipped_numbers)}"),
        ("poison dead-lettered", f"{audit.dead_lettered} of {expected_poison}"),
        ("instances not ready", f"{len(audit.not_ready)}"),
        ("last email, after the last fault", f"{outcome.drain_seconds:.1f} s"),
        ("last email, after the last upload", f"{outcome.after_load_seconds:.1f} s"),
        ("requests (retried)", f"{outcome.drive.requests} ({outcome.drive.retries})"),
        ("whole run", f"{outcome.total_seconds:.0f} s"),
        ("verdict", "PASS" if audit.passed else "FAIL"),
    ]


def table(outcome: Outcome) -> str:
    lines = rows(outcome)
    width = max(len(label) for label, _ in lines)
    out = [f"{label.ljust(width)}  {value}" for label, value in lines]
    out += [f"! {problem}" for problem in outcome.audit.problems()]
    return "\n".join(out)


def as_json(outcome: Outcome) -> dict[str, Any]:
    audit = outcome.audit
    return {
        "machine": {"python": platform.python_version(), "system": platform.platform()},
        "settings": {
            "trainees": outcome.settings.trainees,
            "poison_per_topic": outcome.settings.poison_per_topic,
            "seed": outcome.settings.seed,
            "scale": outcome.settings.scale.__dict__,
        },
        "faults": [
            {"at": round(f.at, 1), "kind": f.kind.value, "target": f.target, "for": f.duration}
            for f in outcome.faults
        ],
        "trainees": audit.trainees,
        "qualifying": audit.qualifying,
        "certificates": audit.certificates,
        "emails": audit.emails,
        "lost": audit.lost,
        "duplicated": audit.duplicated,
        "skipped_numbers": audit.skipped_numbers,
        "poison_dead_lettered": audit.dead_lettered,
        "poison_missing": [list(p) for p in audit.poison_missing],
        "not_ready": audit.not_ready,
        "drain_seconds": round(outcome.drain_seconds, 1),
        "after_load_seconds": round(outcome.after_load_seconds, 1),
        "total_seconds": round(outcome.total_seconds, 1),
        "passed": audit.passed,
    }


def save(outcome: Outcome, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(outcome), indent=2, ensure_ascii=False) + "\n")

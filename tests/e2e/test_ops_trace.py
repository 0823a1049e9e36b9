"""`attesta ops trace` against the three running services: a trainee goes through the whole
flow, and the installed command shows the full path, each event with the service that
produced it, in the order they happened."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, Services, Stack, eventually
from tests.e2e.conftest import Training

PATH = [
    ("registration", "enrolment.completed"),
    ("certification", "certificate.issued"),
    ("notification", "notification.sent"),
]


@dataclass
class Run:
    code: int
    out: str
    err: str


async def attesta(services: Services, stack: Stack, cwd: Path, *args: str) -> Run:
    """The installed entry point, as staff run it, away from the repository's .data/."""
    command = shutil.which("attesta", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("no `attesta` next to the test interpreter: run `make install`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")} | {
        "ATTESTA_KAFKA_BOOTSTRAP_SERVERS": stack.kafka,
        "ATTESTA_REGISTRATION_URL": services.urls["registration"],
        "ATTESTA_CERTIFICATION_URL": services.urls["certification"],
        "ATTESTA_NOTIFICATION_URL": services.urls["notification"],
        "ATTESTA_KEY": ADMIN_KEY,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [command, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


async def notified_trainee(training: Training) -> str:
    """An enrolment completed, certified and emailed; registration has heard of all of it."""
    enrolment_id = await training.complete("ops-1", "Иванка Петрова")

    async def notified() -> bool:
        return bool((await training.partner.enrolment(enrolment_id))["status"] == "notified")

    await eventually(notified, what="the enrolment to be notified")
    return enrolment_id


def path_of(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["service"], e["type"]) for e in events if (e["service"], e["type"]) in PATH]


async def test_trace_shows_the_full_path_of_a_trainee(
    training: Training, services: Services, stack: Stack, tmp_path: Path
) -> None:
    enrolment_id = await notified_trainee(training)

    shown = await attesta(services, stack, tmp_path, "ops", "trace", enrolment_id)
    as_json = await attesta(services, stack, tmp_path, "--json", "ops", "trace", enrolment_id)

    assert shown.code == 0, shown.err
    assert shown.err == ""  # every service answered
    rows = [line.split() for line in shown.out.splitlines() if enrolment_id not in line]
    # time (two words), service, type, where: each event on the topic of its name
    steps = [(r[2], r[3], r[4]) for r in rows if len(r) > 4 and (r[2], r[3]) in PATH]
    assert steps == [(service, kind, kind) for service, kind in PATH]
    assert "@" not in shown.out  # the trainee's address is in the envelopes, not the table
    assert "Иванка" not in shown.out

    trace = json.loads(as_json.out)
    assert trace["outboxes_read"] == ["certification", "notification", "registration"]
    assert trace["missed"] == []
    events = trace["events"]
    assert path_of(events) == PATH
    assert all(e["where"] == e["type"] for e in events if (e["service"], e["type"]) in PATH)
    times = [e["time"] for e in events]
    assert times == sorted(times)
    assert len({e["event_id"] for e in events}) == len(events)


async def test_reading_the_keys_partition_finds_what_a_full_scan_finds(
    training: Training, services: Services, stack: Stack, tmp_path: Path
) -> None:
    """The services publish through FastStream: the partition computed for an enrolment id
    must be the one their producer chose, or a trace would miss events."""
    enrolment_id = await notified_trainee(training)

    keyed = await attesta(services, stack, tmp_path, "ops", "trace", enrolment_id, "--json")
    scanned = await attesta(
        services, stack, tmp_path, "ops", "trace", enrolment_id, "--all-partitions", "--json"
    )

    assert keyed.code == scanned.code == 0
    assert json.loads(keyed.out)["events"] == json.loads(scanned.out)["events"]
    assert path_of(json.loads(keyed.out)["events"]) == PATH


async def test_each_outbox_tells_what_it_wrote_about_a_trainee(training: Training) -> None:
    enrolment_id = await notified_trainee(training)

    async def written(service: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await training.admin.ok(
            service, "GET", f"/v1/ops/outbox/events?key={enrolment_id}"
        )
        return entries

    for service, kind in PATH:
        entries = [e for e in await written(service) if e["topic"] == kind]
        assert len(entries) == 1, (service, entries)
        (entry,) = entries
        assert entry["published"] is True
        assert entry["key"] == enrolment_id
        assert entry["event"]["id"] == entry["event_id"]
        assert entry["event"]["source"] == f"attesta/{service}"
    (issued,) = await written("certification")
    assert issued["event"]["data"]["pdf_base64"] == "(left out)"
    partner_call = await training.partner.call(
        "registration", "GET", f"/v1/ops/outbox/events?key={enrolment_id}"
    )
    assert partner_call.status_code == 403

"""Startup order does not matter: a service started before its database and broker listens,
says it is not ready (and refuses work with 503) until they answer, then starts by itself."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from shared.devstack import servers
from tests.conftest import ADMIN_KEY, eventually


def get(port: int, path: str) -> tuple[int, dict[str, object], dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return (
                answer.status,
                json.loads(answer.read()),
                {k.lower(): v for k, v in answer.headers.items()},
            )
    except urllib.error.HTTPError as error:
        return (
            error.code,
            json.loads(error.read()),
            {k.lower(): v for k, v in error.headers.items()},
        )


async def test_a_service_started_before_its_database_and_broker_waits_and_then_starts(
    tmp_path: Path,
) -> None:
    kafka_port, mongo_port, port = servers.free_port(), servers.free_port(), servers.free_port()
    env = servers.stack_environment(
        kafka_port=kafka_port,
        mongo_port=mongo_port,
        smtp_port=servers.free_port(),
        certification_port=port,
        admin_key=ADMIN_KEY,
    )
    env["ATTESTA_STARTUP_RETRY_MAX_SECONDS"] = "0.5"
    service = servers.launch_service("registration", port, env, tmp_path / "logs")
    started: list[servers.Child] = []
    try:
        await eventually(lambda: servers.port_open(port), what="the service to listen")
        status, body, _ = get(port, "/health/ready")
        assert status == 503
        assert body["checks"] == {"started": False, "mongodb": False, "kafka": False}
        status, problem, headers = get(port, "/v1/courses")
        assert status == 503
        assert "starting" in str(problem["detail"])
        assert headers.get("retry-after") == "2"

        log = tmp_path / "logs" / "registration.log"
        await eventually(
            lambda: "waits for the database and the broker" in log.read_text(),
            what="the service to say what it waits for",
        )
        started.append(servers.start_mongo(mongo_port, tmp_path / "mongo", tmp_path / "logs"))
        started.append(servers.start_broker(kafka_port, tmp_path / "logs"))
        await eventually(
            lambda: servers.service_ready(port), timeout=90, what="the service to become ready"
        )
        status, listing, _ = get(port, "/v1/courses")
        assert status == 200, listing
        assert service.process.poll() is None
    finally:
        service.stop()
        for child in reversed(started):
            child.stop()

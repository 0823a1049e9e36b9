"""docker-compose.yml cannot run here (no Docker engine): check that it says what the services
read, so a typo in a variable does not silently fall back to a default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from services.certification.settings import CertificationSettings
from services.notification.settings import NotificationSettings
from services.registration.settings import RegistrationSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, type[BaseSettings]] = {
    "registration": RegistrationSettings,
    "certification": CertificationSettings,
    "notification": NotificationSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][service]["environment"].items()}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_variable_given_to_a_service_is_one_it_reads(
    compose: dict[str, Any], service: str
) -> None:
    fields = {f"ATTESTA_{name.upper()}" for name in SETTINGS[service].model_fields}
    unknown = set(environment(compose, service)) - fields
    assert not unknown, f"{service} does not read {sorted(unknown)}"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_services_run_against_real_kafka_and_a_mongodb_replica_set(
    compose: dict[str, Any], service: str
) -> None:
    env = environment(compose, service)
    assert env["ATTESTA_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["ATTESTA_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert "replicaSet=rs0" in env["ATTESTA_MONGO_URL"]
    assert env["ATTESTA_MONGO_SERIALISE_TRANSACTIONS"] == "false"
    assert env["ATTESTA_MONGO_DATABASE"] == service, "each service owns its database"
    assert env["ATTESTA_HTTP_PORT"] == str(SETTINGS[service]().http_port)  # type: ignore[attr-defined]
    assert compose["services"][service]["command"] == ["python", "-m", f"services.{service}"]
    settings = SETTINGS[service]().model_dump()
    settings_port = settings["http_port"]
    assert f"{settings_port}:{settings_port}" in compose["services"][service]["ports"]


def test_the_stack_has_kafka_in_kraft_mode_mongo_replica_set_and_mailpit(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["mongo"]["image"].startswith("mongo:8")
    assert "--replSet" in services["mongo"]["command"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    notification = environment(compose, "notification")
    assert notification["ATTESTA_SMTP_HOST"] == "mailpit"
    assert notification["ATTESTA_SMTP_PORT"] == "1025"

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


# Ops: Kafka UI, Prometheus and Grafana -------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def bind_mounts(compose: dict[str, Any], service: str) -> dict[str, Path]:
    """{container path: host path} of a service's bind mounts (`./host:/container[:ro]`)."""
    mounts = {}
    for volume in compose["services"][service].get("volumes", []):
        host, container, *_ = str(volume).split(":")
        if host.startswith("."):
            mounts[container] = ROOT / host
    return mounts


def test_every_image_is_pinned_and_every_reference_is_a_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        image = service.get("image")
        if image is not None:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), f"{name} depends on {depends}"
        for container, host in bind_mounts(compose, name).items():
            assert host.exists(), f"{name} mounts {host} at {container}: it does not exist"
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            assert source.startswith(".") or source in compose["volumes"], (name, source)


def test_kafka_ui_looks_at_the_compose_kafka_read_only(compose: dict[str, Any]) -> None:
    ui = compose["services"]["kafka-ui"]
    assert ui["image"].startswith("kafbat/kafka-ui:")
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka:9092"
    assert ui["environment"]["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert "kafka" in ui["depends_on"]
    assert "8080:8080" in ui["ports"]


def test_prometheus_scrapes_the_three_services_and_loads_the_rules(
    compose: dict[str, Any],
) -> None:
    prometheus = compose["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config_dir = bind_mounts(compose, "prometheus")["/etc/prometheus"]
    config = load_yaml(config_dir / "prometheus.yml")
    # Rule files are relative to the config: they must be in the mounted folder too.
    rule_files = [config_dir / name for name in config["rule_files"]]
    assert config_dir / "alerts.yml" in rule_files
    assert all(path.exists() for path in rule_files), rule_files
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SETTINGS:
        port = environment(compose, service)["ATTESTA_HTTP_PORT"]
        job = jobs[service]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for group in job["static_configs"] for t in group["targets"]]
        assert targets == [f"{service}:{port}"], f"{service} is scraped at {targets}"
    for job in jobs.values():
        for group in job["static_configs"]:
            for target in group["targets"]:
                assert target.split(":")[0] in compose["services"], target


def test_grafana_is_provisioned_with_the_prometheus_datasource_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    mounts = bind_mounts(compose, "grafana")
    provisioning = mounts["/etc/grafana/provisioning"]
    [datasource] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert "9090:9090" in compose["services"]["prometheus"]["ports"]
    [provider] = load_yaml(provisioning / "dashboards" / "attesta.yml")["providers"]
    dashboards_in_container = provider["options"]["path"]
    dashboards = mounts[dashboards_in_container]
    assert (dashboards / "attesta.json").exists()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{dashboards_in_container}/attesta.json"

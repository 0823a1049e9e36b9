"""The processes of one chaos run: the embedded broker, database and mail sink, and the service
instances (two of certification and of notification), each of which can be killed, stopped and
started again on its own port."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from chaos.progress import Progress
from shared.devstack import servers

# Instance name -> service. Two of the consumers that do the heavy work, to scale them out.
INSTANCES = {
    "registration": "registration",
    "certification-1": "certification",
    "certification-2": "certification",
    "notification-1": "notification",
    "notification-2": "notification",
}
INFRA = ("kafka", "mongodb", "smtp")


@dataclass
class Cluster:
    root: Path
    admin_key: str
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)
    children: dict[str, servers.Child] = field(default_factory=dict)
    keep: bool = False  # keep the logs and data afterwards (set when the audit fails)

    @property
    def kafka(self) -> str:
        return servers.kafka_address(self.ports["kafka"])

    @property
    def mongo_url(self) -> str:
        return servers.mongo_url(self.ports["mongodb"])

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def url(self, instance: str) -> str:
        return servers.http_url(self.ports[instance])

    def service_url(self, service: str) -> str:
        """Any instance of `service` (the first)."""
        return self.url(next(i for i, s in INSTANCES.items() if s == service))

    # --- the infrastructure -------------------------------------------------------------

    def start_infra(self, name: str) -> None:
        port = self.ports[name]
        if name == "kafka":
            self.children[name] = servers.start_broker(port, self.logs)
        elif name == "mongodb":
            self.children[name] = servers.start_mongo(port, self.root / "mongo", self.logs)
        else:
            self.children[name] = servers.start_mail_sink(port, self.mail_dir, self.logs)

    def stop(self, name: str) -> None:
        """SIGTERM (then SIGKILL): a server or instance stopping as an operator would."""
        self.children[name].stop(timeout=20)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, nothing flushed, nothing said goodbye to."""
        self.children[name].kill()

    # --- the services -------------------------------------------------------------------

    def launch(self, instance: str) -> servers.Child:
        child = servers.launch_service(
            INSTANCES[instance],
            self.ports[instance],
            self.env,
            self.logs,
            instance=instance.removeprefix(INSTANCES[instance]),
        )
        self.children[instance] = child
        return child

    def wait_ready(self, instance: str, timeout: float = 120.0) -> None:
        servers.wait_until_ready(self.children[instance], timeout=timeout)

    def start_instance(self, instance: str) -> None:
        self.launch(instance)
        self.wait_ready(instance)

    def alive(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.process.poll() is None

    def ready(self, instance: str) -> bool:
        return self.alive(instance) and servers.service_ready(self.ports[instance])


def environment(cluster: Cluster, *, session_timeout_ms: int) -> dict[str, str]:
    env = servers.stack_environment(
        kafka_port=cluster.ports["kafka"],
        mongo_port=cluster.ports["mongodb"],
        smtp_port=cluster.ports["smtp"],
        certification_port=cluster.ports["certification-1"],
        admin_key=cluster.admin_key,
        lock_dir=cluster.root / "locks",
    )
    env.update(
        ATTESTA_LOG_JSON="true",
        ATTESTA_OUTBOX_POLL_SECONDS="0.2",
        # How soon a killed instance's partitions move to the survivor.
        ATTESTA_KAFKA_SESSION_TIMEOUT_MS=str(session_timeout_ms),
        ATTESTA_STARTUP_RETRY_MAX_SECONDS="1",
        # The broker restarts empty: lost topics are put back, and seen, within seconds.
        ATTESTA_KAFKA_TOPIC_CHECK_SECONDS="2",
        ATTESTA_KAFKA_METADATA_MAX_AGE_MS="3000",
        # Mail retries in seconds: the sink comes back after its outage and the run waits.
        ATTESTA_MAIL_RETRY_FIRST_SECONDS="1",
        ATTESTA_MAIL_RETRY_MAX_SECONDS="4",
        ATTESTA_MAIL_OUTAGE_PAUSE_SECONDS="0.5",
        ATTESTA_MAIL_LEASE_SECONDS="10",
        ATTESTA_MAIL_POLL_SECONDS="0.5",
        ATTESTA_CONSUMER_RETRY_TOPIC_DELAYS_SECONDS="[1, 3]",
    )
    return env


@contextmanager
def running_cluster(
    progress: Progress, *, session_timeout_ms: int, keep: bool = False
) -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="attesta-chaos-"))
    names = [*INFRA, *INSTANCES]
    cluster = Cluster(root, secrets.token_urlsafe(24), {n: servers.free_port() for n in names})
    cluster.env = environment(cluster, session_timeout_ms=session_timeout_ms)
    cluster.keep = keep
    failed = False
    try:
        progress(f"starting kafka, mongodb and an smtp sink in {root}")
        for name in INFRA:
            cluster.start_infra(name)
        progress(f"starting {', '.join(INSTANCES)}")
        for instance in INSTANCES:
            cluster.launch(instance)
        for instance in INSTANCES:
            cluster.wait_ready(instance)
        yield cluster
    except BaseException:
        failed = True
        raise
    finally:
        for child in reversed(list(cluster.children.values())):
            child.stop(timeout=20)
        if cluster.keep or failed:
            progress(f"logs and data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

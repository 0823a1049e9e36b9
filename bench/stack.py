"""The embedded stack, the three services and the baseline app, as child processes on free
ports with their files in one temporary directory; all stopped on the way out, Ctrl-C too."""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import baseline_app
from shared.devstack import servers

SERVICES = ("registration", "certification", "notification")
# What scales out by adding instances: the consumers of the flow's heavy work.
SCALED_OUT = ("certification", "notification")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Stack:
    root: Path
    admin_key: str
    mongo_url: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    children: dict[str, servers.Child] = field(default_factory=dict)
    # With a trace sink: the file it appends every span it receives to, one JSON line each.
    spans: Path | None = None

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kafka_bootstrap(self) -> str:
        return servers.kafka_address(self.children["kafka"].port)

    @property
    def pids(self) -> dict[str, int]:
        """Process ids by name: registration, certification, notification, mongodb, …"""
        return {name: child.process.pid for name, child in self.children.items()}


@contextmanager
def running_stack(
    progress: Callable[[str], None],
    *,
    services: Sequence[str] = SERVICES,
    keep: bool = False,
    interrupted: Callable[[], bool] = lambda: False,
    environment: Mapping[str, str] | None = None,
    trace_sink: bool = False,
    baseline: bool = True,
    instances: int = 1,
) -> Iterator[Stack]:
    """Yield a started stack running `services`. Its directory is removed afterwards unless
    `keep`, or unless the run failed (not `interrupted`): then its logs explain the failure.
    `environment` is laid over the services' settings; with `trace_sink`, a development OTLP
    collector (shared/devstack/trace_sink.py) runs too and the services trace to it. With
    `instances` > 1, certification and notification run that many instances each (named
    `certification-2`, …), sharing their consumer groups and databases."""
    root = Path(tempfile.mkdtemp(prefix="attesta-bench-"))
    stack = Stack(root, admin_key=secrets.token_urlsafe(24))
    failed = False
    try:
        _start(
            stack,
            services,
            progress,
            environment=environment or {},
            trace_sink=trace_sink,
            baseline=baseline,
            instances=instances,
        )
        yield stack
    except Exception:
        # Not on Ctrl-C: whoever interrupts a run wants nothing left behind.
        failed = not interrupted()
        raise
    finally:
        # Stopping must finish even when Ctrl-C comes again (uv forwards one more): a half
        # stopped stack would leave servers and files behind.
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        try:
            progress("stopping the stack…")
            for child in reversed(stack.children.values()):
                child.stop()
            if keep or failed:
                progress(f"logs and data kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def _start(
    stack: Stack,
    services: Sequence[str],
    progress: Callable[[str], None],
    *,
    environment: Mapping[str, str],
    trace_sink: bool,
    baseline: bool,
    instances: int = 1,
) -> None:
    kafka_port, mongo_port, smtp_port = (servers.free_port() for _ in range(3))
    progress(f"starting kafka (tansu), mongodb (nx-27017) and an smtp sink in {stack.root}…")
    stack.children["kafka"] = servers.start_broker(kafka_port, stack.logs)
    stack.children["mongodb"] = servers.start_mongo(mongo_port, stack.root / "mongo", stack.logs)
    stack.children["smtp"] = servers.start_mail_sink(smtp_port, stack.root / "mail", stack.logs)
    stack.mongo_url = servers.mongo_url(mongo_port)

    # Certification's port is part of every service's settings (certificate links), even when
    # certification itself is not started.
    ports = {name: servers.free_port() for name in SERVICES}
    # What `make run` gives the services: production-like defaults, not the tests' fast polls.
    env = servers.stack_environment(
        kafka_port=kafka_port,
        mongo_port=mongo_port,
        smtp_port=smtp_port,
        certification_port=ports["certification"],
        admin_key=stack.admin_key,
        lock_dir=stack.root / "locks",
    )
    if trace_sink:
        sink_port = servers.free_port()
        stack.spans = stack.root / "traces" / "spans.jsonl"
        progress("starting a trace sink (OTLP/HTTP collector)…")
        stack.children["trace sink"] = servers.start_trace_sink(sink_port, stack.spans, stack.logs)
        env["ATTESTA_OTLP_ENDPOINT"] = servers.http_url(sink_port)
    env.update(environment)
    progress(f"starting {', '.join(services)} (joining consumer groups takes seconds)…")
    started = servers.start_services({name: ports[name] for name in services}, env, stack.logs)
    for child in started:
        stack.children[child.name] = child
    stack.urls.update({name: servers.http_url(ports[name]) for name in services})
    for number in range(2, instances + 1):
        for name in SCALED_OUT:
            if name not in services:
                continue
            instance = f"-{number}"
            progress(f"starting {name}{instance}…")
            port = servers.free_port()
            child = servers.launch_service(name, port, env, stack.logs, instance=instance)
            stack.children[child.name] = servers.wait_until_ready(child, timeout=60)
            stack.urls[child.name] = servers.http_url(port)

    if not baseline:
        return
    baseline_port = servers.free_port()
    progress("starting the baseline app…")
    stack.children["baseline"] = baseline_app.launch(
        baseline_port, stack.mongo_url, stack.logs / "baseline.log"
    )
    stack.urls["baseline"] = servers.http_url(baseline_port)

"""Session fixtures: the embedded stack (real broker, database and SMTP sink on free loopback
ports) and, for end-to-end tests, the three services as separate processes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import inspect
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import pytest

from shared.devstack import servers
from tests.service_log_digest import digest

T = TypeVar("T")
ADMIN_KEY = "test-admin-key"


@dataclass
class Stack:
    root: Path
    kafka_port: int
    mongo_port: int
    smtp_port: int
    trace_port: int = field(default_factory=servers.free_port)
    children: list[servers.Child] = field(default_factory=list)

    @property
    def kafka(self) -> str:
        return servers.kafka_address(self.kafka_port)

    @property
    def mongo_url(self) -> str:
        return servers.mongo_url(self.mongo_port)

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    @property
    def spans_file(self) -> Path:
        """Every span the services exported to the stack's OTLP trace sink, one JSON a line."""
        return self.root / "traces" / "spans.jsonl"

    def emails(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found


@contextmanager
def running_stack(root: Path) -> Iterator[Stack]:
    """Broker, database, SMTP sink and trace sink on free loopback ports, under `root`."""
    logs = root / "logs"
    stack = Stack(root, servers.free_port(), servers.free_port(), servers.free_port())
    try:
        stack.children.append(servers.start_broker(stack.kafka_port, logs))
        stack.children.append(servers.start_mongo(stack.mongo_port, root / "mongo", logs))
        stack.children.append(servers.start_mail_sink(stack.smtp_port, stack.mail_dir, logs))
        stack.children.append(servers.start_trace_sink(stack.trace_port, stack.spans_file, logs))
        yield stack
    finally:
        for child in reversed(stack.children):
            child.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as started:
        yield started


@dataclass
class Services:
    urls: dict[str, str]
    env: dict[str, str]
    children: list[servers.Child]
    log_dir: Path


@contextmanager
def running_services(stack: Stack) -> Iterator[Services]:
    """The three services as processes on `stack`, configured for tests (short retries)."""
    ports = {
        name: servers.free_port() for name in ("registration", "certification", "notification")
    }
    env = servers.stack_environment(
        kafka_port=stack.kafka_port,
        mongo_port=stack.mongo_port,
        smtp_port=stack.smtp_port,
        certification_port=ports["certification"],
        notification_port=ports["notification"],
        admin_key=ADMIN_KEY,
        lock_dir=stack.root / "locks",
    )
    env.update(
        ATTESTA_LOG_JSON="true",
        ATTESTA_OUTBOX_POLL_SECONDS="0.2",
        ATTESTA_KAFKA_SESSION_TIMEOUT_MS="6000",
        # Retries and leases in seconds, not minutes: the tests wait for them.
        ATTESTA_MAIL_RETRY_FIRST_SECONDS="0.5",
        ATTESTA_MAIL_RETRY_MAX_SECONDS="2",
        ATTESTA_MAIL_OUTAGE_PAUSE_SECONDS="0.2",
        ATTESTA_MAIL_LEASE_SECONDS="4",
        ATTESTA_MAIL_POLL_SECONDS="0.2",
        # Tracing on, as ops would run it, exporting to the stack's sink within half a second.
        ATTESTA_OTLP_ENDPOINT=servers.http_url(stack.trace_port),
        OTEL_BSP_SCHEDULE_DELAY="500",
        ATTESTA_METRICS_REFRESH_SECONDS="1",
    )
    log_dir = stack.root / "service-logs"
    children = servers.start_services(ports, env, log_dir)
    try:
        yield Services(
            urls={name: servers.http_url(port) for name, port in ports.items()},
            env=env,
            children=children,
            log_dir=log_dir,
        )
    finally:
        for child in children:
            child.stop()


@pytest.fixture(scope="session")
def services(stack: Stack) -> Iterator[Services]:
    with running_services(stack) as started:
        yield started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    running = getattr(item, "funcargs", {}).get("services")
    if report.failed and call.when == "call" and isinstance(running, Services):
        # Setup (a fixture's partner and course) comes just before; a little margin keeps it.
        report.sections.append(
            ("service log warnings and errors", digest(running.log_dir, call.start - 10))
        )
    return report


async def eventually(
    probe: Callable[[], Awaitable[T | None] | T | None],
    *,
    timeout: float = 60.0,  # noqa: ASYNC109 - a poll deadline, not a cancellation scope
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")

"""SIGTERM: an instance stops taking work, finishes what it holds, commits and exits in bounded
time; its partitions go to the instance that stays, and no trainee is left without, or given
a second, certificate."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator

import pytest

from shared import topics
from shared.devstack import servers
from tests.conftest import Services, Stack, eventually, running_services, running_stack
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import wait_groups_joined

# Certification's consumer groups: one per topic it reads and one per retry topic of its own.
CERTIFICATION_GROUPS = [
    f"certification.{topic}"
    for read in (topics.ENROLMENT_COMPLETED, topics.ENROLMENT_CORRECTED, topics.PARTNER_KEYS)
    for topic in (read, topics.retry_topic(read, "certification"))
]


# A stack of its own: this test adds and removes a consumer in every certification group, and
# should that ever leave the groups wedged, the session's other tests must not all fail with it.
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("shutdown-stack")) as started:
        yield started


@pytest.fixture(scope="module")
def services(stack: Stack) -> Iterator[Services]:
    with running_services(stack) as started:
        yield started


async def test_a_second_certification_instance_stopped_with_sigterm_exits_cleanly_and_loses_nothing(
    training: Training, services: Services, stack: Stack
) -> None:
    port = servers.free_port()
    second = servers.launch_service(
        "certification", port, services.env, services.log_dir, instance="-second"
    )
    try:
        await asyncio.to_thread(servers.wait_until_ready, second, timeout=120)
        # Ready means started, not yet joined: its consumers' groups rebalance after. A SIGTERM
        # during that join makes aiokafka wait for the broker to end it, which the stop's
        # bounded steps (tests/unit/test_stop_within.py) cut short; here the instance works.
        await wait_groups_joined(stack.kafka, CERTIFICATION_GROUPS, members=2)
        refs = [f"term-{n}" for n in range(8)]
        enrolments = [await training.complete(ref, f"Стажант {n}") for n, ref in enumerate(refs)]

        second.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        code = await asyncio.to_thread(second.process.wait, 40)
        took = time.monotonic() - stopping
    finally:
        second.kill()

    # Uvicorn shuts down, then ends by the signal it caught, as process managers expect.
    assert code in (0, -signal.SIGTERM)
    assert took < 30, f"took {took:.1f}s to stop"
    log = (services.log_dir / "certification-second.log").read_text()
    assert "certification stopped" in log
    assert "Application shutdown complete" in log

    async def all_certified() -> list[str] | None:
        numbers = [(await training.partner.enrolment(e))["certificate_number"] for e in enrolments]
        return numbers if all(numbers) else None

    numbers = await eventually(all_certified, timeout=90, what="every trainee certified")
    assert len(set(numbers)) == len(enrolments)
    for enrolment_id in enrolments:
        history = (await training.partner.enrolment(enrolment_id))["history"]
        # At most once: when notification.sent overtakes certificate.issued (two topics, two
        # consumers) the enrolment moves from completed to notified directly.
        assert [step["status"] for step in history].count("certified") <= 1

"""One chaos run from start to verdict: start the cluster, drive the load while the faults
strike, wait for the system to drain, and audit what it left."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.people import Trainee, trainees
from chaos.audit import Audit, audit, delivered
from chaos.cluster import INSTANCES, Cluster, running_cluster
from chaos.drive import Course, DriveStats, drive
from chaos.faults import FULL, Fault, Scale, plan
from chaos.injector import Injector
from chaos.poison import expected_dead_letters
from chaos.progress import Progress


@dataclass(frozen=True)
class RunSettings:
    trainees: int = 1000
    poison_per_topic: int = 50
    scale: Scale = FULL
    seed: int = 2002
    # A killed instance's partitions move after this; lower is faster, too low is flappy.
    session_timeout_ms: int = 6000
    drain_timeout: float = 600.0
    # After the last email: how long to keep watching for a second one.
    quiet_seconds: float = 10.0
    keep: bool = False


@dataclass
class Outcome:
    settings: RunSettings
    faults: list[Fault]
    audit: Audit
    drain_seconds: float  # from the end of the last fault to the last email
    after_load_seconds: float  # from the last upload to the last email
    total_seconds: float
    drive: DriveStats = field(default_factory=DriveStats)


def who_qualifies(people: list[Trainee]) -> list[Trainee]:
    """Nine in ten attend both sessions; the tenth misses one and must get nothing."""
    return [t for n, t in enumerate(people) if n % 10 != 9]


async def run(settings: RunSettings, progress: Progress) -> Outcome:
    started = time.monotonic()
    with running_cluster(
        progress, session_timeout_ms=settings.session_timeout_ms, keep=settings.keep
    ) as cluster:
        return await _run_on(cluster, settings, progress, started)


async def _run_on(
    cluster: Cluster, settings: RunSettings, progress: Progress, started: float
) -> Outcome:
    tag = secrets.token_hex(3)
    people = list(trainees(f"chaos-{tag}", settings.trainees, seed=settings.seed))
    qualifying = who_qualifies(people)
    completing = asyncio.Event()
    # Replays reach back to before the first event of the run (and a little more: clocks).
    injector = Injector(
        cluster,
        progress,
        replay_since=datetime.now(UTC) - timedelta(seconds=5),
        poison_per_topic=settings.poison_per_topic,
        completing=completing,
    )
    faults = plan(list(INSTANCES), settings.scale, settings.seed)
    progress(f"{len(people)} trainees ({len(qualifying)} qualifying), {len(faults)} faults")
    stats = DriveStats()
    load = drive(
        cluster.url("registration"),
        cluster.admin_key,
        people,
        qualifying,
        progress,
        stats,
        tag=tag,
        spread=settings.scale.window,
        completing=completing,
    )
    load_ended = 0.0

    async def load_then_note_the_time() -> Course:
        nonlocal load_ended
        course = await load
        load_ended = time.monotonic()
        return course

    course, _ = await asyncio.gather(load_then_note_the_time(), injector.run(faults))
    progress(f"every fault struck; draining ({len(qualifying)} emails expected)")
    drained = await _drain(cluster, qualifying, settings, progress)
    drain_seconds = drained - injector.last_fault_ended
    after_load_seconds = drained - load_ended
    await asyncio.sleep(settings.quiet_seconds)
    await _all_up(cluster, progress)
    result = await audit(
        mongo_url=cluster.mongo_url,
        bootstrap=cluster.kafka,
        mail_dir=cluster.mail_dir,
        course_id=course.id,
        trainees=people,
        qualifying=qualifying,
        expected_poison=expected_dead_letters(injector.poison),
    )
    result.not_ready = [i for i in INSTANCES if not cluster.ready(i)]
    cluster.keep = cluster.keep or not result.passed  # its logs explain the finding
    return Outcome(
        settings=settings,
        faults=injector.done,
        audit=result,
        drain_seconds=drain_seconds,
        after_load_seconds=after_load_seconds,
        total_seconds=time.monotonic() - started,
        drive=stats,
    )


async def _drain(
    cluster: Cluster, qualifying: list[Trainee], settings: RunSettings, progress: Progress
) -> float:
    """Wait until every qualifying trainee has an email (or the timeout); when that was."""
    deadline = time.monotonic() + settings.drain_timeout
    reported = -1
    while time.monotonic() < deadline:
        count = await asyncio.to_thread(delivered, cluster.mail_dir, qualifying)
        if count >= len(qualifying):
            return time.monotonic()
        if count != reported and int(time.monotonic()) % 5 == 0:
            progress(f"  {count}/{len(qualifying)} certificate emails so far")
            reported = count
        await asyncio.sleep(0.5)
    progress("drain timed out: the audit will say what is missing")
    return time.monotonic()


async def _all_up(cluster: Cluster, progress: Progress) -> None:
    """Every instance must be ready at the end; one still starting gets its time. A service
    stops by design when the broker or database drops while it starts (shared.lifecycle), for
    its supervisor to start it again: here the harness is that supervisor, and one that then
    does not come up is a finding."""
    for instance in INSTANCES:
        if not cluster.alive(instance):
            progress(f"{instance} had stopped on its own; starting it, as a supervisor would")
            try:
                await asyncio.to_thread(cluster.start_instance, instance)
            except (TimeoutError, RuntimeError) as error:
                progress(f"{instance} did not start again: {error}")
        else:
            try:
                await asyncio.to_thread(cluster.wait_ready, instance, 60.0)
            except (TimeoutError, RuntimeError) as error:
                progress(f"{instance} is not ready: {error}")

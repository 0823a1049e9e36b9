"""Carries out a fault plan against a running cluster, each fault at its moment, and keeps
the record of what was done."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from chaos.cluster import INSTANCES, Cluster
from chaos.faults import Fault, Kind
from chaos.poison import Poison, inject
from chaos.progress import Progress


class Injector:
    def __init__(
        self,
        cluster: Cluster,
        progress: Progress,
        *,
        replay_since: datetime,
        poison_per_topic: int,
        completing: asyncio.Event,
    ) -> None:
        self.cluster = cluster
        self.progress = progress
        self.replay_since = replay_since
        self.poison_per_topic = poison_per_topic
        self.done: list[Fault] = []
        self.poison: list[Poison] = []
        self.last_fault_ended = time.monotonic()
        # The broker restarts only once certificates flow (set by the load), so that its
        # replay has work in flight; poison only after the restart (which would lose it).
        self.completing = completing
        self.restarted = asyncio.Event()
        # One fault at a time per target: a second kill waits for the first restart.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def run(self, plan: list[Fault]) -> None:
        started = time.monotonic()

        async def at_its_time(fault: Fault) -> None:
            await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
            if fault.kind is Kind.BROKER_RESTART:
                await self.completing.wait()
            elif fault.kind is Kind.POISON:
                await self.restarted.wait()
            async with self._locks[fault.target]:
                await self.strike(fault)
            self.done.append(fault)
            self.last_fault_ended = max(self.last_fault_ended, time.monotonic())

        await asyncio.gather(*(at_its_time(f) for f in plan))

    async def strike(self, fault: Fault) -> None:
        self.progress(f"fault: {fault.describe()}")
        cluster = self.cluster
        if fault.kind is Kind.KILL:
            cluster.kill(fault.target)
            await asyncio.sleep(fault.duration)
            cluster.launch(fault.target)  # not waited for: it comes back while others fail
        elif fault.kind in (Kind.DATABASE_DOWN, Kind.MAIL_DOWN):
            await asyncio.to_thread(cluster.stop, fault.target)
            await asyncio.sleep(fault.duration)
            await asyncio.to_thread(cluster.start_infra, fault.target)
            self.progress(f"fault over: {fault.target} is back")
        elif fault.kind is Kind.BROKER_RESTART:
            cluster.kill("kafka")
            await asyncio.to_thread(cluster.start_infra, "kafka")
            self.progress("fault: the broker is back, empty; replaying every outbox")
            self.restarted.set()
            await self.replay_outboxes()
        else:
            wave = sum(1 for f in self.done if f.kind is Kind.POISON)
            self.poison += await self._retrying(
                lambda: inject(cluster.kafka, self.poison_per_topic, wave), what="poison"
            )

    async def replay_outboxes(self) -> None:
        """`attesta outbox replay` for each service, as ops would, through whichever of its
        instances is up."""
        command = shutil.which("attesta", path=str(Path(sys.executable).parent))
        if command is None:
            raise RuntimeError("no `attesta` command next to this interpreter: run make install")
        for service in ("registration", "certification", "notification"):
            urls = [self.cluster.url(i) for i, s in INSTANCES.items() if s == service]
            deadline = time.monotonic() + 120
            while True:
                url = urls[0]
                urls.append(urls.pop(0))
                done = await asyncio.to_thread(self._replay, command, service, url)
                if done.returncode == 0:
                    self.progress(f"  {done.stdout.strip()}")
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"outbox replay of {service} kept failing: {done.stderr}")
                await asyncio.sleep(1)

    def _replay(self, command: str, service: str, url: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "ATTESTA_KEY": self.cluster.admin_key,
            "ATTESTA_REGISTRATION_URL": self.cluster.url("registration"),
            f"ATTESTA_{service.upper()}_URL": url,
        }
        since = self.replay_since.isoformat()
        return subprocess.run(
            [command, "outbox", "replay", "--service", service, "--since", since],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    async def _retrying(
        self, make: Callable[[], Awaitable[list[Poison]]], *, what: str
    ) -> list[Poison]:
        """The broker may be restarting: try again for a while."""
        for _ in range(60):
            try:
                sent: list[Poison] = await make()
                self.progress(f"  {len(sent)} poison messages sent")
                return sent
            except Exception as error:
                self.progress(f"  {what} not sent yet ({type(error).__name__}); again in 1s")
                await asyncio.sleep(1)
        raise RuntimeError(f"could not send the {what}")

"""Runs the whole-flow measurement (bench/flow.py) in order, one stack per instance count."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

from bench import baselines, monolith, profiling
from bench.flow import Flow, FlowWatcher, Progress, Settings, save_watcher_sizes, summarise
from bench.flow_figures import FlowFigures, FlowRound, ProfileFigures
from bench.stack import SERVICES, Stack, running_stack
from bench.tenant import create_tenant


def measure(
    settings: Settings,
    progress: Progress,
    *,
    results_dir: Path,
    stamp: str,
    keep: bool,
    interrupted: Callable[[], bool],
) -> FlowFigures:
    figures = FlowFigures()
    watchers: list[FlowWatcher] = []
    for instances in settings.instances:
        label = f"flow, {instances} instance{'s' if instances > 1 else ''}"

        def on_stack(message: str, label: str = label) -> None:
            progress(f"{label}: {message}")

        with running_stack(
            on_stack,
            services=SERVICES,
            keep=keep,
            interrupted=interrupted,
            baseline=False,
            instances=instances,
        ) as stack:
            asyncio.run(
                _on_stack(
                    stack, instances, settings, figures, watchers, on_stack, results_dir, stamp
                )
            )
    summarise(figures, watchers)
    return figures


async def _on_stack(
    stack: Stack,
    instances: int,
    settings: Settings,
    figures: FlowFigures,
    watchers: list[FlowWatcher],
    progress: Progress,
    results_dir: Path,
    stamp: str,
) -> None:
    tenant = await create_tenant(
        stack.urls["registration"], stack.admin_key, f"{uuid.uuid4().hex[:6]}x{instances}"
    )
    flow = Flow(stack, tenant, progress, instances)
    _, warm = await flow.round(settings.warmup, 0, "warm-up")
    first_stack = instances == settings.instances[0]
    if first_stack:
        await _baselines(flow, warm, settings, figures, progress)

    sizes = settings.sizes if first_stack else (settings.scaled_size,)
    for size in sizes:
        for number in range(1, settings.repeats + 1):
            found, watcher = await flow.round(
                size, number, f"{size:,} trainees, round {number}/{settings.repeats}"
            )
            figures.rounds.append(found)
            if instances == 1:
                watchers.append(watcher)
            if found.error:
                figures.errors.append(found.error)
    if not first_stack:
        return

    for rate in settings.rates:
        for number in range(1, settings.repeats + 1):
            run = await flow.latency(
                rate,
                settings.latency_seconds,
                f"latency at {rate:g}/s, run {number}/{settings.repeats}",
            )
            figures.latency.append(run)
            if run.error:
                figures.errors.append(run.error)

    figures.monolith = await monolith.measure(
        stack.mongo_url,
        stack.children["smtp"].port,
        settings.monolith_certificates,
        settings.repeats,
        progress,
        servers={name: pid for name, pid in stack.pids.items() if name in ("mongodb", "smtp")},
    )
    if settings.profile_seconds > 0:
        figures.profile = await _profiled_round(flow, settings, figures.rounds, results_dir, stamp)


async def _baselines(
    flow: Flow, warm: FlowWatcher, settings: Settings, figures: FlowFigures, progress: Progress
) -> None:
    stack, counts, repeats = flow.stack, settings.counts, settings.baseline_repeats
    sizes = save_watcher_sizes(warm)
    figures.baselines += await baselines.kafka(
        stack.kafka_bootstrap, sizes, counts.kafka_records, repeats, progress
    )
    figures.baselines += await baselines.mongodb(
        stack.mongo_url, await flow.enrolment_template(), counts.mongo_documents, repeats, progress
    )
    # In a thread: Typst holds the GIL little, and this loop stays free.
    figures.baselines.append(
        await asyncio.to_thread(baselines.renderer, counts.renders, repeats, progress)
    )
    figures.baselines.append(
        await baselines.smtp(stack.children["smtp"].port, counts.emails, repeats, progress)
    )


async def _profiled_round(
    flow: Flow,
    settings: Settings,
    rounds: list[FlowRound],
    results_dir: Path,
    stamp: str,
) -> ProfileFigures:
    """One more round, not counted, while py-spy samples its busiest process."""
    spent: dict[str, float] = {}
    for r in rounds:
        for name, seconds in r.cpu_seconds.items():
            if name != "bench client":
                spent[name] = spent.get(name, 0.0) + seconds
    busiest = max(spent, key=lambda k: spent[k], default="certification")
    pid = flow.stack.pids[busiest]
    size = max(settings.warmup, min(settings.sizes[0], 500))
    result: list[ProfileFigures] = []

    async def sample() -> None:
        await asyncio.sleep(1.0)  # past the first POST, into the steady part
        result.append(
            await profiling.profile(pid, busiest, settings.profile_seconds, results_dir, stamp)
        )

    flow.progress(
        f"profile: {busiest} (the most CPU in the rounds) for {settings.profile_seconds:g}s"
    )
    await flow.round(size, 0, "profiled round", during=sample)
    return result[0]

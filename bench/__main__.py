"""`make bench`: how fast the services work, as ratios against raw baselines measured in the
same run on the same machine (absolute figures on a noisy 2-core box mean little; a ratio to
what the same box does without the service means more).

- render: the certificate renderer (Typst) against WeasyPrint drawing the same certificate,
  in this process, no stack;
- single, bulk: registration's enrolments against bare FastAPI / PyMongo, on a stack running
  registration only (unless --all-services);
- issue: completions to certificate.issued through certification, on a stack running all three
  services, against Typst's raw rendering rate;
- email: certificate emails (PDF attached) through notification, on a stack running notification
  only, against aiosmtplib sending the same emails straight to the same SMTP sink;
- overhead: completions to the last email on two stacks of all three services, metrics and
  tracing off against on, in alternating rounds;
- flow: the whole flow (issue #8): raw baselines of each stage through the same servers,
  end-to-end rounds, latency under a steady offered load, the monolith peer, a profile of the
  busiest process, and the rounds again with 2 instances of certification and notification
  (bench/flow.py). `--smoke` runs a tiny version of it in under a minute (`make bench-smoke`).

Each stack is started on free ports, so it runs next to `make run` and never touches `.data/`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench import emailing, flow, flow_run, issuing, overhead, plot, rendering, scenarios, storage
from bench.figures import IssueFigures, OverheadFigures, RendererFigures, RunFigures
from bench.flow_report import flow_table
from bench.report import progress, table
from bench.stack import SERVICES, Stack, running_stack
from bench.tenant import create_tenant

RESULTS = Path(__file__).parent / "results"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
MEASUREMENTS = ("render", "single", "bulk", "issue", "storage", "email", "overhead", "flow")


def sizes(text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("sizes must be positive numbers of rows")
    return values


def rates(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of rates: {text}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("rates must be positive numbers per second")
    return values


def measurements(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in MEASUREMENTS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown measurement {', '.join(unknown) or repr(text)}; "
            f"choose from {', '.join(MEASUREMENTS)}"
        )
    return chosen


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 200 single requests, bulk sizes 100 and 1,000 (unless --sizes), "
        "2 short rounds of rendering, 50 certificates issued, 200 emails each way, one round "
        "of 40 certificates each way for the overhead",
    )
    parser.add_argument(
        "--sizes",
        type=sizes,
        help="bulk upload sizes in rows, comma-separated (default 1000,10000,100000)",
    )
    parser.add_argument("--requests", type=positive, help="single enrolments per target (2000)")
    parser.add_argument("--concurrency", type=positive, default=16, help="concurrent workers (16)")
    parser.add_argument(
        "--rounds",
        type=positive,
        default=2,
        help="single enrolments alternate baseline and service in this many rounds (2)",
    )
    parser.add_argument(
        "--only",
        type=measurements,
        help="run only these measurements, comma-separated, e.g. bulk,flow (render needs no "
        "stack; issue starts all three services, email notification only, overhead and flow "
        f"stacks of their own); one of: {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument(
        "--render-rounds",
        type=positive,
        help="rendering alternates Typst and WeasyPrint in this many rounds (5; quick 2)",
    )
    parser.add_argument(
        "--typst-renders", type=positive, help="Typst PDFs per round (200; quick 20)"
    )
    parser.add_argument(
        "--weasyprint-renders", type=positive, help="WeasyPrint PDFs per round (20; quick 1)"
    )
    parser.add_argument(
        "--storage-certificates",
        type=positive,
        help="certificates issued for the PDF storage measurement (300; quick 50)",
    )
    parser.add_argument(
        "--certificates",
        type=positive,
        help="trainees completed at once in the issue measurement (500; quick 50)",
    )
    parser.add_argument(
        "--attendance-batch",
        type=positive,
        default=100,
        help="trainees per attendance POST in the issue measurement (100)",
    )
    parser.add_argument(
        "--emails",
        type=positive,
        help="emails each way (raw and through the service) in the email measurement, "
        "in --email-rounds bursts (1000; quick 200)",
    )
    parser.add_argument(
        "--email-rounds",
        type=positive,
        help="the email measurement alternates raw and service bursts in this many rounds (3)",
    )
    parser.add_argument(
        "--email-rate",
        type=positive,
        help="certificate.issued events per second for the email latency (10)",
    )
    parser.add_argument(
        "--email-seconds",
        type=positive,
        help="how long the email latency's steady rate lasts, in seconds (15; quick 5)",
    )
    parser.add_argument(
        "--overhead-certificates",
        type=positive,
        help="trainees completed at once in each round of the overhead measurement (300; quick 40)",
    )
    parser.add_argument(
        "--overhead-rounds",
        type=positive,
        help="rounds each way (metrics and tracing off, on) in the overhead measurement "
        "(3; quick 1)",
    )
    parser.add_argument(
        "--overhead-with",
        choices=overhead.FEATURES,
        default="both",
        help="what the overhead measurement's on stack has on: both metrics and tracing (the "
        "figure of issue #7), or one of them alone, to see its share (both)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the whole flow once, tiny, in under a minute: that the harness still works "
        "(make bench-smoke, run in CI); implies --only flow",
    )
    parser.add_argument(
        "--flow-sizes",
        type=sizes,
        help="trainees per end-to-end round, comma-separated (1000,10000; a 10,000 round takes "
        "~8 min; 1000 alone makes the run ~15 min)",
    )
    parser.add_argument(
        "--flow-repeats", type=positive, help="end-to-end rounds and latency runs of each (3)"
    )
    parser.add_argument(
        "--flow-rates", type=rates, help="offered completions per second for the latency (20,100)"
    )
    parser.add_argument(
        "--flow-latency-seconds",
        type=positive,
        help="how long each latency run offers its load, in seconds (15)",
    )
    parser.add_argument(
        "--flow-instances",
        type=sizes,
        help="instances of certification and notification, one stack each (1,2)",
    )
    parser.add_argument(
        "--all-services",
        action="store_true",
        help="single, bulk: also start certification and notification (idle, they only add "
        "noise); issue always starts them",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack's temporary directory (logs, data)"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help=f"where the JSON goes ({RESULTS})"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.only = ["flow"]
        if args.results_dir == RESULTS:
            # Its figures mean nothing: kept apart (and out of git) from real runs.
            args.results_dir = RESULTS / "smoke"
    args.flow = flow.settings_for(
        smoke=args.smoke,
        sizes=args.flow_sizes,
        repeats=args.flow_repeats,
        rates=args.flow_rates,
        latency_seconds=args.flow_latency_seconds,
        instances=args.flow_instances,
    )
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.requests is None:
        args.requests = 200 if args.quick else 2000
    if args.certificates is None:
        args.certificates = 50 if args.quick else 500
    if args.storage_certificates is None:
        args.storage_certificates = 50 if args.quick else 300
    args.email = emailing.settings_for(
        quick=args.quick,
        emails=args.emails,
        rounds=args.email_rounds,
        rate=args.email_rate,
        seconds=args.email_seconds,
    )
    args.overhead = overhead.settings_for(
        quick=args.quick,
        certificates=args.overhead_certificates,
        rounds=args.overhead_rounds,
        attendance_batch=args.attendance_batch,
        features=args.overhead_with,
    )
    args.render = rendering.settings_for(
        quick=args.quick,
        rounds=args.render_rounds,
        typst=args.typst_renders,
        weasyprint=args.weasyprint_renders,
    )
    return args


def wanted(args: argparse.Namespace, *measurements: str) -> bool:
    return args.only is None or any(m in args.only for m in measurements)


def git_commit() -> str | None:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip() or None


def machine() -> dict[str, str | int | None]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "nx-27017": importlib.metadata.version("nx-27017"),
        "commit": git_commit(),
    }


def notes(args: argparse.Namespace) -> list[str]:
    if not wanted(args, "single", "bulk", "issue", "email", "overhead"):
        return []
    found = [
        f"the bench client, the service and nx-27017 share this machine's {os.cpu_count()} "
        "CPUs: the CPU lines show where the time went.",
    ]
    missing = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is None]
    if missing:
        found.append(
            f"{' and '.join(missing)} not installed: uvicorn runs the pure-Python defaults "
            "(asyncio loop, h11 parser) for the services and the baseline alike."
        )
    return found


async def measure(stack: Stack, args: argparse.Namespace, run: RunFigures) -> None:
    tag = uuid.uuid4().hex[:6]
    progress("measuring the idle stack's CPU use…")
    run.idle_cores = await scenarios.idle_cores(stack)
    progress("creating a partner and a course through the API…")
    tenant = await create_tenant(stack.urls["registration"], stack.admin_key, tag)
    if wanted(args, "single"):
        run.single = await scenarios.single_enrolments(
            stack,
            tenant,
            tag,
            total=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
            progress=progress,
        )
    if wanted(args, "bulk"):
        workdir = stack.root / "csv"
        workdir.mkdir(exist_ok=True)
        for size in args.sizes:
            run.bulk.append(
                await scenarios.bulk_upload(stack, tenant, tag, size, workdir, progress=progress)
            )


async def measure_issue(
    stack: Stack, args: argparse.Namespace, raw_render: RendererFigures
) -> IssueFigures:
    tag = uuid.uuid4().hex[:6]
    progress("creating a partner through the API…")
    tenant = await create_tenant(stack.urls["registration"], stack.admin_key, tag)
    workdir = stack.root / "csv"
    workdir.mkdir(exist_ok=True)
    return await issuing.issue_certificates(
        stack,
        tenant,
        tag,
        count=args.certificates,
        attendance_batch=args.attendance_batch,
        raw_render=raw_render,
        workdir=workdir,
        progress=progress,
    )


def measure_overhead(args: argparse.Namespace) -> OverheadFigures:
    """Two stacks of all three services, one with metrics and tracing off, one with both on
    (and a trace sink as its collector), up side by side for the whole measurement."""

    def on_stack(mode: str) -> Callable[[str], None]:
        return lambda message: progress(f"{overhead.LABEL}, {mode} stack: {message}")

    with (
        running_stack(
            on_stack("off"),
            services=SERVICES,
            keep=args.keep,
            interrupted=lambda: bool(_signalled),
            environment=args.overhead.environment("off"),
            baseline=False,
        ) as off,
        running_stack(
            on_stack("on"),
            services=SERVICES,
            keep=args.keep,
            interrupted=lambda: bool(_signalled),
            environment=args.overhead.environment("on"),
            trace_sink=args.overhead.tracing,
            baseline=False,
        ) as on,
    ):
        return asyncio.run(overhead.measure({"off": off, "on": on}, args.overhead, progress))


def report(run: RunFigures) -> str:
    """The results table, the email section before the notes (bench/emailing.py prints it)."""
    text = table(dataclasses.replace(run, notes=[]))
    if run.email is not None:
        text += "\n" + "\n".join(emailing.email_table(run.email)) + "\n"
    if run.flow is not None:
        text += "\n" + "\n".join(flow_table(run.flow)) + "\n"
    if run.notes:
        text += "\n" + "".join(f"Note: {note}\n" for note in run.notes)
    return text


def save(run: RunFigures, directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"registration-{stamp}.json"
    # Written aside, then renamed: an interrupted write never leaves half a result behind.
    partial = path.with_suffix(".json.tmp")
    partial.write_text(
        json.dumps(dataclasses.asdict(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    partial.replace(path)
    return path


_signalled: list[int] = []


def _interrupt(signum: int, _: FrameType | None) -> None:
    # A terminal's Ctrl-C reaches the children too, and uv forwards it again: once stopping,
    # further signals must not interrupt the stopping.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _signalled.append(signum)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    run = RunFigures(
        started_at=started.isoformat(timespec="seconds"),
        command=["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)],
        machine=machine(),
        settings={
            "requests": args.requests,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "sizes": args.sizes,
            "only": args.only,
            "all_services": args.all_services,
            "render": dataclasses.asdict(args.render),
            "certificates": args.certificates,
            "attendance_batch": args.attendance_batch,
            "email": dataclasses.asdict(args.email),
            "overhead": dataclasses.asdict(args.overhead),
            "flow": dataclasses.asdict(args.flow),
        },
        notes=notes(args),
    )
    # Ctrl-C and SIGTERM (`make`, `uv`) unwind alike, stopping the children on the way out.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    services = SERVICES if args.all_services else ("registration",)
    try:
        if wanted(args, "render"):
            # First, on a machine no stack is running on yet.
            run.render = rendering.measure(args.render, progress)
        if wanted(args, "storage"):
            # Needs only a database: an nx-27017 of its own, before any stack starts.
            run.storage = asyncio.run(storage.measure_storage(args.storage_certificates))
        if wanted(args, "single", "bulk"):
            with running_stack(
                progress, services=services, keep=args.keep, interrupted=lambda: bool(_signalled)
            ) as stack:
                asyncio.run(measure(stack, args, run))
        if wanted(args, "issue"):
            # Its baseline: Typst's rate measured above, or measured now on its own.
            raw_render = (
                run.render.typst if run.render else rendering.typst_rate(args.render, progress)
            )
            with running_stack(
                progress, services=SERVICES, keep=args.keep, interrupted=lambda: bool(_signalled)
            ) as stack:
                run.issue = asyncio.run(measure_issue(stack, args, raw_render))
        if wanted(args, "email"):
            # Notification alone: nothing else on the stack competes for the 2 cores.
            with running_stack(
                progress,
                services=("notification",),
                keep=args.keep,
                interrupted=lambda: bool(_signalled),
            ) as stack:
                run.email = asyncio.run(emailing.measure(stack, args.email, progress))
        if wanted(args, "overhead"):
            run.overhead = measure_overhead(args)
        if wanted(args, "flow"):
            run.flow = flow_run.measure(
                args.flow,
                progress,
                results_dir=args.results_dir,
                stamp=stamp,
                keep=args.keep,
                interrupted=lambda: bool(_signalled),
            )
    except BaseException as error:
        # The children get a terminal's Ctrl-C as well and may die first: whatever failed
        # after a signal failed because of it.
        if _signalled or isinstance(error, KeyboardInterrupt):
            print("\nInterrupted: the stack was stopped, nothing was saved.", file=sys.stderr)
            return 130
        if isinstance(error, RuntimeError):
            # A service that did not start, or answered setup with an error: its log says why.
            print(f"\nThe benchmark could not run: {error}", file=sys.stderr)
            return 1
        raise
    if run.flow is not None:
        drawn = args.results_dir / f"flow-{stamp}.png"
        run.flow.plot = str(plot.plot(json.loads(json.dumps(dataclasses.asdict(run))), drawn))
    path = save(run, args.results_dir, stamp)
    sys.stdout.write(report(run))
    print(f"\nSaved {path}", file=sys.stderr)
    failed = (
        (run.single is not None and run.single.service.failed > 0)
        or any(not b.complete for b in run.bulk)
        or (run.render is not None and not run.render.checked)
        or (run.issue is not None and not run.issue.complete)
        or (run.email is not None and not run.email.complete)
        or (run.overhead is not None and not run.overhead.complete)
        or (run.flow is not None and not run.flow.complete)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

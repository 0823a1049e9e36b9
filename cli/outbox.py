"""`attesta outbox …`: what each service's outbox holds, and publishing its events again after
a broker (or a topic) lost them."""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, datetime, timedelta

from cli.client import Client
from cli.config import SERVICE_PORTS, service_url
from cli.errors import OK, USAGE, CliError
from cli.output import print_json, print_table
from cli.registry import Context, Subcommands, command, group

SERVICES = tuple(SERVICE_PORTS)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register(commands: Subcommands) -> None:
    outbox = group(commands, "outbox", help="each service's outbox of events")
    status = command(
        outbox,
        "status",
        show_status,
        help="events waiting to be published, and events kept for replays",
    )
    status.add_argument("--service", choices=SERVICES, help="one service (default: all three)")
    replay = command(
        outbox,
        "replay",
        replay_outbox,
        help="publish again the events a service wrote since an instant",
        description=(
            "Publish again, in their original order, the events SERVICE wrote since --since:\n"
            "after the broker lost messages (the embedded broker keeps them in memory) or a\n"
            "topic was deleted. Consumers drop events they have already processed, so\n"
            "replaying more than was lost is safe.\n\n"
            "  attesta outbox replay --service certification --since 2h\n"
            "  attesta outbox replay --service all --since 2026-11-23T09:30:00+02:00"
        ),
    )
    replay.add_argument("--service", required=True, choices=(*SERVICES, "all"))
    replay.add_argument(
        "--since",
        required=True,
        help="an ISO 8601 instant with its offset (or Z), or a duration ago: 90s, 30m, 2h, 1d",
    )
    replay.add_argument(
        "--topic", action="append", dest="topics", help="only this topic (repeatable)"
    )


def parse_since(text: str, now: datetime) -> datetime:
    """An instant: ISO 8601 with an offset, or a duration before `now` ("30m", "2h")."""
    text = text.strip()
    if match := _DURATION.match(text):
        amount, unit = match.groups()
        return now - timedelta(**{_UNITS[unit]: float(amount)})
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CliError(
            f"--since {text!r} is neither an ISO 8601 instant nor a duration like 30m or 2h",
            exit_code=USAGE,
        ) from None
    if instant.tzinfo is None:
        raise CliError(
            f"--since {text!r} has no UTC offset; add one (Z, +02:00) so it means one instant",
            exit_code=USAGE,
        )
    return instant


def service_client(ctx: Context, service: str) -> Client:
    return Client(
        service_url(service, ctx.url, os.environ),
        ctx.required_key(),
        transport=ctx.transport,
        label=f"the {service} service",
    )


def show_status(ctx: Context, args: argparse.Namespace) -> int:
    states = []
    for service in [args.service] if args.service else SERVICES:
        client = service_client(ctx, service)
        try:
            states.append(client.json("GET", "/v1/ops/outbox"))
        finally:
            client.close()
    if ctx.as_json:
        print_json(states)
        return OK
    print_table(
        ["service", "pending", "oldest pending", "kept for replay"],
        [
            [s["service"], s["pending"], s.get("oldest_pending_at") or "", s["published_kept"]]
            for s in states
        ],
    )
    return OK


def replay_outbox(ctx: Context, args: argparse.Namespace) -> int:
    since = parse_since(args.since, datetime.now(UTC))
    services = SERVICES if args.service == "all" else (args.service,)
    answers = []
    for service in services:
        client = service_client(ctx, service)
        try:
            answers.append(
                client.json(
                    "POST",
                    "/v1/ops/outbox/replay",
                    json={"since": since.isoformat(), "topics": args.topics},
                )
            )
        finally:
            client.close()
    if ctx.as_json:
        print_json(answers)
        return OK
    for answer in answers:
        print(
            f"{answer['service']}: {answer['requeued']} events since {since.isoformat()} "
            "queued to be published again"
        )
    return OK

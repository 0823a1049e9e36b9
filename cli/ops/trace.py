"""`attesta ops trace ENROLMENT_ID`: every event about one trainee, on every topic (main,
retry and dead-letter) and in the three services' outboxes, in time order, with the service
that produced it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.table import Table

from cli import outbox
from cli.dead_letters import plural
from cli.errors import API_ERROR, OK, UNREACHABLE, CliError
from cli.ops import console, kafka
from cli.ops.options import OpsOptions, current
from cli.ops.timeline import Step, timeline
from cli.registry import Context
from shared.stream_inspection import StreamRecord, read_records, topic_names

OUTBOX_LIMIT = 1000  # the most the endpoint hands out; one trainee has a few dozen at most


@dataclass
class Outboxes:
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # One line per service that could not be asked, saying why.
    missed: list[str] = field(default_factory=list)


async def records_about(address: str, enrolment: str, all_partitions: bool) -> list[StreamRecord]:
    topics = await topic_names(address)
    return await read_records(address, topics, key=enrolment, all_partitions=all_partitions)


def read_outboxes(context: Context, enrolment: str) -> Outboxes:
    """Each service's outbox entries about `enrolment`; a service that cannot be reached is
    noted and the others are still asked. A refused key stops everything: it is for all."""
    found = Outboxes()
    if context.key is None:
        found.missed.append(
            "no admin key (--key, ATTESTA_KEY, ATTESTA_ADMIN_KEY or .data/admin-key): "
            "events still in an outbox are not shown"
        )
        return found
    for service in outbox.SERVICES:
        client = outbox.service_client(context, service)
        try:
            found.entries[service] = client.json(
                "GET",
                "/v1/ops/outbox/events",
                params={"key": enrolment, "limit": OUTBOX_LIMIT},
            )
        except CliError as error:
            if error.exit_code != UNREACHABLE:
                raise
            found.missed.append(error.message)  # it names the service and its address
        finally:
            client.close()
    return found


def trace_table(steps: Sequence[Step], title: str) -> Table:
    grid = console.table(
        "time", "service", "type", "where", "event", "correlation", "summary", title=title
    )
    for step in steps:
        grid.add_row(
            console.instant(step.time),
            console.cell(step.service),
            console.cell(step.type),
            step.where,
            console.cell(step.short_id),
            console.cell(step.correlation_id),
            step.summary,
            style="yellow" if step.where.startswith("outbox") or ".dlq" in step.where else None,
        )
    return grid


def trace_json(
    enrolment: str, address: str, steps: Sequence[Step], outboxes: Outboxes
) -> dict[str, Any]:
    return {
        "enrolment_id": enrolment,
        "kafka": address,
        "outboxes_read": sorted(outboxes.entries),
        "missed": outboxes.missed,
        "events": [step.as_json() for step in steps],
    }


def run_trace(options: OpsOptions, enrolment: str, all_partitions: bool) -> int:
    address = options.kafka_address
    records = kafka.run(address, records_about(address, enrolment, all_partitions))
    context = options.api_context()
    try:
        outboxes = read_outboxes(context, enrolment)
    finally:
        context.close()
    for line in outboxes.missed:
        console.console(stderr=True).print(f"warning: {line}", style="yellow", markup=False)
    steps = timeline(records, outboxes.entries)
    if options.as_json:
        console.print_json(trace_json(enrolment, address, steps, outboxes))
        return OK
    if not steps:
        raise CliError(
            f"no events about {enrolment} on Kafka at {address}"
            + (" or in the outboxes that answered" if outboxes.missed else " or in any outbox"),
            exit_code=UNREACHABLE if outboxes.missed else API_ERROR,
        )
    read = ", ".join(sorted(outboxes.entries)) or "none"
    title = (
        f"{enrolment}: {plural(len(steps), 'event')} (Kafka at {address}; outboxes read: {read})"
    )
    console.emit(trace_table(steps, title))
    return OK


def command(
    ctx: typer.Context,
    enrolment: Annotated[str, typer.Argument(metavar="ENROLMENT_ID")],
    all_partitions: Annotated[
        bool,
        typer.Option(
            "--all-partitions",
            help="read every partition, not only the one the enrolment id is keyed to "
            "(for records produced without that key)",
        ),
    ] = False,
    kafka_flag: Annotated[str | None, typer.Option("--kafka", metavar="HOST:PORT")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="registration API (env ATTESTA_REGISTRATION_URL)")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="admin key (env ATTESTA_KEY, else ATTESTA_ADMIN_KEY)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> int:
    """One trainee's events across every topic and outbox, in time order."""
    options = current(ctx, kafka=kafka_flag, url=url, key=key, as_json=as_json)
    return run_trace(options, enrolment, all_partitions)

"""`attesta ops dlq list|show|replay`: the `attesta dlq` commands (cli.dlq) under `ops`, with
the same options, output and exit codes."""

from __future__ import annotations

import argparse
from enum import StrEnum
from typing import Annotated

import typer

from cli import dlq
from cli.dead_letters import SERVICES, MessageId
from cli.ops.options import OpsOptions, current
from cli.registry import Handler

app = typer.Typer(
    name="dlq",
    help="Dead-lettered messages: list, show, replay (as `attesta dlq`).",
    no_args_is_help=True,
    add_completion=False,
)

Service = StrEnum("Service", {name: name for name in SERVICES})  # type: ignore[misc]
KafkaFlag = Annotated[str | None, typer.Option("--kafka", metavar="HOST:PORT")]
JsonFlag = Annotated[bool, typer.Option("--json", help="JSON instead of text")]
TOPIC_HELP = "one topic: enrolment.completed or enrolment.completed.dlq"


def message_id(text: str) -> MessageId:
    try:
        return MessageId.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def handle(options: OpsOptions, handler: Handler, **arguments: object) -> int:
    """Run one of cli.dlq's handlers with the namespace its argparse parser would build."""
    context = options.api_context()
    try:
        return handler(context, argparse.Namespace(kafka=options.kafka, **arguments))
    finally:
        context.close()


@app.command("list")
def list_command(
    ctx: typer.Context,
    topic: Annotated[str | None, typer.Option(metavar="T", help=TOPIC_HELP)] = None,
    service: Annotated[Service | None, typer.Option(help=dlq.SERVICE_HELP)] = None,
    limit: Annotated[int | None, typer.Option(metavar="N", min=1, help="only the N oldest")] = None,
    kafka_flag: KafkaFlag = None,
    as_json: JsonFlag = False,
) -> int:
    """Every dead-lettered message, oldest first."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json)
    return handle(
        options,
        dlq.list_dead_letters,
        topic=topic,
        service=service and str(service),
        limit=limit,
    )


@app.command("show")
def show_command(
    ctx: typer.Context,
    message: Annotated[
        MessageId, typer.Argument(metavar="ID", parser=message_id, help="as `list` prints it")
    ],
    kafka_flag: KafkaFlag = None,
    as_json: JsonFlag = False,
) -> int:
    """One message whole: headers (with the stack trace), key and body."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json)
    return handle(options, dlq.show_dead_letter, message_id=message)


@app.command("replay", help=dlq.REPLAY_DESCRIPTION)
def replay_command(
    ctx: typer.Context,
    messages: Annotated[
        list[MessageId] | None,
        typer.Argument(metavar="ID…", parser=message_id, help="as `list` prints them"),
    ] = None,
    topic: Annotated[
        str | None, typer.Option(metavar="T", help=f"with --all: {TOPIC_HELP}")
    ] = None,
    service: Annotated[Service | None, typer.Option(help=f"with --all: {dlq.SERVICE_HELP}")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="every message on --topic (of --service)")
    ] = False,
    kafka_flag: KafkaFlag = None,
    as_json: JsonFlag = False,
) -> int:
    """Send messages back to the service that failed."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json)
    return handle(
        options,
        dlq.replay_dead_letters,
        message_ids=messages or [],
        topic=topic,
        service=service and str(service),
        all=every,
    )

"""`attesta ops …`: looking at the event stream (Typer + Rich). `cli.main` hands every
command line whose command is `ops` to `main` here; argparse only lists `ops` in the help."""

from __future__ import annotations

import argparse
import sys
from typing import Annotated

import httpx
import typer
from typer import rich_utils

# Typer 0.29 ships its own copy of click: its exceptions are these, not `click`'s.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from cli.errors import INTERRUPTED, OK, USAGE, CliError
from cli.ops import dlq, lag, tail, topics, trace
from cli.ops.options import OpsOptions, split_ops
from cli.registry import Context, Subcommands

__all__ = ["app", "main", "register", "split_ops"]

HELP = "the event stream: topics, consumer lag, live tail, one trainee's trace, dead letters"
DESCRIPTION = """\
Talks to Kafka directly: --kafka, else ATTESTA_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.
`trace` also asks each service's outbox (admin key, as `attesta outbox`).
"""

app = typer.Typer(
    name="ops",
    help=f"{HELP[0].upper()}{HELP[1:]}.\n\n{DESCRIPTION}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("topics")(topics.command)
app.command("lag")(lag.command)
app.command("tail")(tail.command)
app.command("trace")(trace.command)
app.add_typer(dlq.app)


@app.callback()
def ops(
    ctx: typer.Context,
    kafka: Annotated[
        str | None, typer.Option("--kafka", metavar="HOST:PORT", help="Kafka bootstrap servers")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False,
) -> None:
    root = ctx.find_root()
    if isinstance(root.obj, OpsOptions):
        root.obj = root.obj.given(kafka=kafka, as_json=as_json)


def main(
    options: OpsOptions, argv: list[str], *, transport: httpx.BaseTransport | None = None
) -> int:
    """Run `attesta ops ARGV…` and turn failures into a message and an exit code, as cli.main
    does for the other commands."""
    options = OpsOptions(options.url, options.key, options.as_json, options.kafka, transport)
    try:
        code = app(args=argv, prog_name="attesta ops", standalone_mode=False, obj=options)
    except NoArgsIsHelpError as shown:
        # `attesta ops` alone prints its help, like a command group of argparse's.
        shown.show()
        return USAGE
    except ClickException as error:
        rich_utils.rich_format_error(error)
        return USAGE
    except typer.Abort:
        return INTERRUPTED
    except CliError as error:
        return error.report()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    return code if isinstance(code, int) else OK


def register(commands: Subcommands) -> None:
    """Lists `ops` in `attesta --help`; its arguments never reach argparse."""
    parser = commands.add_parser("ops", help=HELP, add_help=False)

    def hand_over(_: Context, args: argparse.Namespace) -> int:
        return main(OpsOptions(), list(args.rest))

    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=hand_over)

"""Entry point of the `attesta` command: parse, resolve URL and key, run one handler, and turn
failures into a message on stderr and an exit code (see cli.errors)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from cli import certificates, courses, dlq, enrolments, ops, outbox, partners, reports
from cli.client import user_agent
from cli.config import registration_url, resolve_key
from cli.errors import INTERRUPTED, OK, USAGE, CliError
from cli.registry import GLOBAL_OPTIONS, Context, Parser, Register, usage

# One `register` per command group (`ops` only lists itself: see `main`).
COMMAND_MODULES: tuple[Register, ...] = (
    partners.register,
    courses.register,
    enrolments.register,
    reports.register,
    certificates.register,
    outbox.register,
    dlq.register,
    ops.register,
)

EPILOG = """\
exit codes: 0 done; 1 the API refused the request (or a local file/key is unusable);
2 the API could not be reached; 3 every uploaded row was rejected; 4 verify-pdf: the
certificate is not genuine; 64 bad usage.
"""


def build_parser() -> Parser:
    parser = Parser(
        prog="attesta",
        description="Attesta staff command line: partners, courses, enrolments, reports, "
        "and checking a certificate PDF.",
        epilog=EPILOG,
        parents=[GLOBAL_OPTIONS],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=user_agent())
    parser.set_defaults(handler=usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in COMMAND_MODULES:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """`transport` lets tests answer for the API (httpx.MockTransport) without a server."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # `attesta ops …` is a Typer app: argparse never sees its arguments.
    if (to_ops := ops.split_ops(arguments)) is not None:
        return ops.main(*to_ops, transport=transport)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        # --help and --version stop with 0, usage errors with USAGE: a status, not a crash.
        return stop.code if isinstance(stop.code, int) else USAGE
    ctx = Context(
        url=registration_url(getattr(args, "url", None), os.environ),
        key=resolve_key(getattr(args, "key", None), os.environ, Path.cwd()),
        as_json=getattr(args, "json", False),
        transport=transport,
    )
    try:
        code: int = args.handler(ctx, args)
        return code
    except CliError as error:
        return error.report()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # `attesta partners list | head`: the reader left; nothing is wrong.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())

"""How command modules plug in: each exposes `register(commands)` and adds its subcommands with
`group()` and `command()`; `cli.main` lists the modules. A new group (`outbox`, `dlq`, `ops`)
is one new module and one line in `cli.main.COMMAND_MODULES`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn, TypeAlias

import httpx

from cli.client import Client
from cli.config import Key
from cli.errors import USAGE, CliError

# argparse keeps this class private; it is what add_subparsers() returns.
Subcommands: TypeAlias = "argparse._SubParsersAction[Parser]"
Handler = Callable[["Context", argparse.Namespace], int]
Register = Callable[[Subcommands], None]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def global_options() -> Parser:
    """Accepted before and after the subcommand (`attesta --json partners list` and
    `attesta partners list --json`). SUPPRESS as the default stops a subcommand's parser from
    overwriting with its default a value given before the subcommand."""
    options = Parser(add_help=False)
    options.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="registration API (env ATTESTA_REGISTRATION_URL; default http://127.0.0.1:8001)",
    )
    options.add_argument(
        "--key",
        default=argparse.SUPPRESS,
        help="API key (env ATTESTA_KEY, else ATTESTA_ADMIN_KEY, else .data/admin-key)",
    )
    options.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the API's JSON instead of tables",
    )
    return options


GLOBAL_OPTIONS = global_options()


@dataclass
class Context:
    """What a handler gets besides its arguments; the HTTP client is made on first use."""

    url: str
    key: Key | None
    as_json: bool = False
    transport: httpx.BaseTransport | None = None
    _client: Client | None = field(default=None, init=False, repr=False)

    @property
    def api(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.required_key(), transport=self.transport)
        return self._client

    def required_key(self) -> Key:
        if self.key is None:
            raise CliError(
                "no API key: pass --key, or set ATTESTA_KEY (or ATTESTA_ADMIN_KEY), "
                "or run from the directory where `make run` wrote .data/admin-key"
            )
        return self.key

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def group(commands: Subcommands, name: str, *, help: str) -> Subcommands:
    """A command with subcommands (`attesta partners …`); alone it prints its own help."""
    parser: Parser = commands.add_parser(
        name, help=help, description=help, parents=[GLOBAL_OPTIONS]
    )
    parser.set_defaults(handler=usage(parser))
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def command(
    commands: Subcommands,
    name: str,
    handler: Handler,
    *,
    help: str,
    description: str | None = None,
) -> Parser:
    parser: Parser = commands.add_parser(
        name,
        help=help,
        description=description or help,
        parents=[GLOBAL_OPTIONS],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def usage(parser: argparse.ArgumentParser) -> Handler:
    def show(_: Context, __: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return USAGE

    return show

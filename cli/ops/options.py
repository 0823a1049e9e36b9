"""Where and who for `attesta ops`: the same flags, environment variables and defaults as the
rest of `attesta` (Kafka as `attesta dlq` finds it, the services and the admin key as
`attesta outbox` does), given before `ops`, after it, or after the command."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import typer

from cli.config import registration_url, resolve_key
from cli.dead_letters import kafka_address
from cli.registry import Context

# The options `attesta` takes before any command (cli.registry.global_options): `--json` is a
# flag, the others take a value.
GLOBAL_FLAGS = ("--json",)
GLOBAL_VALUES = ("--url", "--key")
OPS = "ops"


@dataclass(frozen=True)
class OpsOptions:
    url: str | None = None
    key: str | None = None
    as_json: bool = False
    kafka: str | None = None
    # Tests answer for the services' APIs with an httpx transport, as for the other commands.
    transport: httpx.BaseTransport | None = None

    def given(
        self,
        *,
        url: str | None = None,
        key: str | None = None,
        as_json: bool = False,
        kafka: str | None = None,
    ) -> OpsOptions:
        """These options with the ones given later on the command line (which win)."""
        return replace(
            self,
            url=url or self.url,
            key=key or self.key,
            as_json=as_json or self.as_json,
            kafka=kafka or self.kafka,
        )

    @property
    def kafka_address(self) -> str:
        return kafka_address(self.kafka, os.environ)

    def api_context(self) -> Context:
        """What `attesta outbox` works with: the registration URL and the resolved key."""
        return Context(
            url=registration_url(self.url, os.environ),
            key=resolve_key(self.key, os.environ, Path.cwd()),
            as_json=self.as_json,
            transport=self.transport,
        )


def split_ops(argv: list[str]) -> tuple[OpsOptions, list[str]] | None:
    """(the global options given before `ops`, the arguments after it) when the command is
    `ops`; None for every other command, which argparse handles."""
    values: dict[str, str] = {}
    as_json = False
    index = 0
    while index < len(argv):
        arg = argv[index]
        name, has_value, value = arg.partition("=")
        if arg in GLOBAL_FLAGS:
            as_json = True
        elif name in GLOBAL_VALUES and has_value:
            values[name] = value
        elif arg in GLOBAL_VALUES and index + 1 < len(argv):
            values[arg] = argv[index + 1]
            index += 1
        else:
            if arg != OPS:
                return None
            options = OpsOptions(url=values.get("--url"), key=values.get("--key"), as_json=as_json)
            return options, argv[index + 1 :]
        index += 1
    return None


def current(
    ctx: typer.Context,
    *,
    url: str | None = None,
    key: str | None = None,
    as_json: bool = False,
    kafka: str | None = None,
) -> OpsOptions:
    """The options of this invocation: before `ops`, on `ops`, then on the command."""
    options = ctx.find_root().obj
    assert isinstance(options, OpsOptions), "the ops app runs through cli.ops.main"
    return options.given(url=url, key=key, as_json=as_json, kafka=kafka)

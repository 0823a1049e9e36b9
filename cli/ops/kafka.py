"""Running a broker call for a command: Kafka's failures become `attesta`'s exit codes, as
for `attesta dlq` (cli.dlq.run), plus a broker that stops sending records it has."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from cli import dlq
from cli.errors import UNREACHABLE, CliError
from shared.stream_inspection import StreamStalled

T = TypeVar("T")


def run(address: str, work: Coroutine[Any, Any, T]) -> T:
    try:
        return dlq.run(address, work)
    except StreamStalled as stalled:
        raise CliError(f"{stalled} (Kafka at {address})", exit_code=UNREACHABLE) from None
    except OSError as error:
        # A refused connection surfaces from the admin client as a bare OSError.
        raise CliError(
            f"cannot reach Kafka at {address} ({error})",
            exit_code=UNREACHABLE,
            details=[dlq.RUN_HINT],
        ) from None

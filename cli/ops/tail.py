"""`attesta ops tail TOPIC…`: records as they arrive, one decoded line each (or the raw
envelope as JSON), filtered by event type or enrolment."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.errors import OK, USAGE, CliError
from cli.ops import console, kafka
from cli.ops.describe import short_type, type_matches
from cli.ops.options import current
from shared.stream_inspection import StreamRecord, follow


def wanted(record: StreamRecord, types: list[str], enrolment: str | None) -> bool:
    if types and not any(type_matches(record.event_type, t) for t in types):
        return False
    return enrolment is None or record.is_about(enrolment)


def line(record: StreamRecord) -> Text:
    """time, where, type, subject, correlation id: one record per line, for people and grep."""
    text = Text()
    text.append(console.instant(record.time), style="dim")
    text.append(f"  {record.topic}[{record.partition}]@{record.offset}", style="cyan")
    if record.event is None:
        text.append(f"  (not an event: {len(record.value)} bytes)", style="red")
        text.append(f"  key={console.cell(record.key)}")
        return text
    text.append(f"  {short_type(record.event_type)}", style="bold")
    text.append(f"  subject={console.cell(record.subject)}")
    text.append(f"  correlation={console.cell(record.correlation_id)}", style="dim")
    return text


def as_json(record: StreamRecord) -> Any:
    """The envelope itself; for anything else where it is and what it holds."""
    if record.event is not None:
        return record.event
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key,
        "value": record.value.decode("utf-8", errors="replace"),
    }


async def tail(
    address: str,
    topics: list[str],
    *,
    types: list[str],
    enrolment: str | None,
    from_beginning: bool,
    limit: int | None,
    raw: bool,
) -> int:
    shown = 0
    if limit == 0:
        return shown
    records = follow(address, topics, from_beginning=from_beginning)
    async with contextlib.aclosing(records):
        async for record in records:
            if not wanted(record, types, enrolment):
                continue
            if raw:
                console.print_json(as_json(record), compact=True)
            else:
                console.emit(line(record))
            shown += 1
            if limit is not None and shown >= limit:
                break
    return shown


def command(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(help="topics to follow", metavar="TOPIC…")],
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="only this event type, e.g. certificate.issued (repeatable)"),
    ] = None,
    enrolment: Annotated[
        str | None, typer.Option("--enrolment", help="only events about this enrolment id")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="every record kept first, then new ones")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", help="stop after N records")
    ] = None,
    kafka_flag: Annotated[str | None, typer.Option("--kafka", metavar="HOST:PORT")] = None,
    as_json_flag: Annotated[
        bool, typer.Option("--json", help="each envelope as one line of JSON")
    ] = False,
) -> int:
    """Follow topics live, one decoded line per record (Ctrl-C stops)."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json_flag)
    if limit is not None and limit < 0:
        raise CliError("--limit cannot be negative", exit_code=USAGE)
    address = options.kafka_address
    kafka.run(
        address,
        tail(
            address,
            topics,
            types=event_type or [],
            enrolment=enrolment,
            from_beginning=from_beginning,
            limit=limit,
            raw=options.as_json,
        ),
    )
    return OK

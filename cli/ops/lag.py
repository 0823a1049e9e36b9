"""`attesta ops lag`: how far each consumer group is behind, per partition; groups that are
behind come first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from cli.dead_letters import plural
from cli.errors import OK
from cli.ops import console, kafka
from cli.ops.options import current
from shared.stream_inspection import PartitionLag, consumer_lag


def totals(rows: Iterable[PartitionLag]) -> dict[str, int]:
    per_group: dict[str, int] = defaultdict(int)
    for row in rows:
        per_group[row.group] += row.lag
    return dict(per_group)


def lagging_first(rows: Iterable[PartitionLag]) -> list[PartitionLag]:
    """Groups with the most lag first, then the others by name; a group's partitions stay
    together, in topic and partition order."""
    rows = list(rows)
    total = totals(rows)
    return sorted(rows, key=lambda r: (-total[r.group], r.group, r.topic, r.partition))


def lag_table(rows: Sequence[PartitionLag], title: str) -> Table:
    grid = console.table(
        "group",
        "topic",
        "partition",
        "committed",
        "end",
        "lag",
        right=("partition", "committed", "end", "lag"),
        title=title,
    )
    previous = None
    for row in rows:
        grid.add_row(
            # The group once per block: thirty identical names hide the ones that differ.
            row.group if row.group != previous else "",
            row.topic,
            str(row.partition),
            console.cell(row.committed),
            str(row.end),
            str(row.lag),
            style="bold" if row.lag else None,
        )
        previous = row.group
    return grid


def summary(rows: Sequence[PartitionLag]) -> str:
    total = totals(rows)
    behind = [group for group, lag in total.items() if lag]
    return f"{plural(len(total), 'group')}, {len(behind)} behind" + (
        f" by {plural(sum(total.values()), 'message')} in all" if behind else ""
    )


def command(
    ctx: typer.Context,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="only this consumer group (repeatable)"),
    ] = None,
    behind: Annotated[bool, typer.Option("--behind", help="only the partitions with lag")] = False,
    kafka_flag: Annotated[str | None, typer.Option("--kafka", metavar="HOST:PORT")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> int:
    """Consumer lag per group and partition: committed offset, end offset, lag."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json)
    address = options.kafka_address
    rows = lagging_first(kafka.run(address, consumer_lag(address, group)))
    shown = [r for r in rows if r.lag or not behind]
    if options.as_json:
        console.print_json([asdict(r) for r in shown])
        return OK
    if not rows:
        print(
            f"no consumer groups on Kafka at {address}"
            + (f" named {', '.join(group)}" if group else "")
        )
        return OK
    title = f"Kafka at {address}: {summary(rows)}"
    if not shown:
        print(f"{title}: no partition is behind")
        return OK
    console.emit(lag_table(shown, title))
    return OK

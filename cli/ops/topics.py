"""`attesta ops topics`: every topic's partitions, the offsets the broker keeps, and how many
messages a second arrive (two samples of the end offsets, `--interval` apart)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.dead_letters import plural
from cli.errors import OK, USAGE, CliError
from cli.ops import console, kafka
from cli.ops.options import current
from shared.stream_inspection import PartitionOffsets, topic_offsets

DEFAULT_INTERVAL = 1.5


@dataclass(frozen=True)
class PartitionRow:
    offsets: PartitionOffsets
    rate: float | None  # messages/s; None when unknown (one sample, new or emptied partition)


@dataclass(frozen=True)
class TopicRow:
    topic: str
    partitions: list[PartitionRow]

    @property
    def messages(self) -> int:
        return sum(p.offsets.messages for p in self.partitions)

    @property
    def written(self) -> int:
        """Every record ever appended (the sum of end offsets)."""
        return sum(p.offsets.end for p in self.partitions)

    @property
    def rate(self) -> float | None:
        known = [p.rate for p in self.partitions if p.rate is not None]
        return sum(known) if known else None


def rates(
    before: Iterable[PartitionOffsets], after: Iterable[PartitionOffsets], seconds: float
) -> dict[tuple[str, int], float | None]:
    """Messages per second on each partition of `after` between the two samples. A partition
    that was not there before, or whose end went down (a broker that lost its log), has no
    rate: guessing one would be a lie."""
    earlier = {(o.topic, o.partition): o.end for o in before}
    found: dict[tuple[str, int], float | None] = {}
    for o in after:
        start = earlier.get((o.topic, o.partition))
        if start is None or o.end < start or seconds <= 0:
            found[(o.topic, o.partition)] = None
        else:
            found[(o.topic, o.partition)] = (o.end - start) / seconds
    return found


def topic_rows(
    offsets: Iterable[PartitionOffsets], rate_of: dict[tuple[str, int], float | None]
) -> list[TopicRow]:
    per_topic: dict[str, list[PartitionRow]] = defaultdict(list)
    for o in offsets:
        per_topic[o.topic].append(PartitionRow(o, rate_of.get((o.topic, o.partition))))
    return [
        TopicRow(topic, sorted(rows, key=lambda r: r.offsets.partition))
        for topic, rows in sorted(per_topic.items())
    ]


def topics_table(rows: Sequence[TopicRow], *, per_partition: bool, title: str) -> Table:
    if per_partition:
        return partitions_table(rows, title)
    grid = console.table(
        "topic",
        "partitions",
        "messages",
        "end offsets",
        "msg/s",
        right=("partitions", "messages", "end offsets", "msg/s"),
        title=title,
    )
    for row in rows:
        grid.add_row(
            row.topic,
            str(len(row.partitions)),
            str(row.messages),
            str(row.written),
            console.rate(row.rate),
        )
    return grid


def partitions_table(rows: Sequence[TopicRow], title: str) -> Table:
    grid = console.table(
        "topic",
        "partition",
        "start",
        "end",
        "messages",
        "msg/s",
        right=("partition", "start", "end", "messages", "msg/s"),
        title=title,
    )
    for row in rows:
        for p in row.partitions:
            o = p.offsets
            grid.add_row(
                o.topic,
                str(o.partition),
                str(o.start),
                str(o.end),
                str(o.messages),
                console.rate(p.rate),
            )
    return grid


def topics_json(rows: Sequence[TopicRow], interval: float) -> dict[str, Any]:
    return {
        "interval_seconds": interval or None,
        "topics": [
            {
                "topic": row.topic,
                "messages": row.messages,
                "rate": row.rate,
                "partitions": [
                    {
                        "partition": p.offsets.partition,
                        "start": p.offsets.start,
                        "end": p.offsets.end,
                        "messages": p.offsets.messages,
                        "rate": p.rate,
                    }
                    for p in row.partitions
                ],
            }
            for row in rows
        ],
    }


async def sample(
    address: str, topics: list[str] | None, interval: float
) -> tuple[list[PartitionOffsets], dict[tuple[str, int], float | None]]:
    first = await topic_offsets(address, topics)
    if interval <= 0:
        return first, {}
    began = time.monotonic()
    await asyncio.sleep(interval)
    second = await topic_offsets(address, topics)
    # The measured time, not the asked one: the broker's answers take time too.
    return second, rates(first, second, time.monotonic() - began)


def command(
    ctx: typer.Context,
    topic: Annotated[
        list[str] | None, typer.Option("--topic", "-t", help="only this topic (repeatable)")
    ] = None,
    interval: Annotated[
        float,
        typer.Option(help="seconds between the two samples the rates come from (0: no rates)"),
    ] = DEFAULT_INTERVAL,
    partitions: Annotated[
        bool, typer.Option("--partitions", help="one line per partition")
    ] = False,
    non_empty: Annotated[
        bool, typer.Option("--non-empty", help="leave out topics that keep no message")
    ] = False,
    kafka_flag: Annotated[str | None, typer.Option("--kafka", metavar="HOST:PORT")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> int:
    """Topics: partitions, offsets kept, messages per second."""
    options = current(ctx, kafka=kafka_flag, as_json=as_json)
    if interval < 0:
        raise CliError("--interval cannot be negative", exit_code=USAGE)
    address = options.kafka_address
    offsets, rate_of = kafka.run(address, sample(address, topic, interval))
    rows = [r for r in topic_rows(offsets, rate_of) if r.messages or not non_empty]
    if options.as_json:
        console.print_json(topics_json(rows, interval))
        return OK
    if not rows:
        print(f"no topics on Kafka at {address}")
        return OK
    rated = f", msg/s over {interval:g} s" if interval > 0 else ""
    title = f"Kafka at {address}: {plural(len(rows), 'topic')}{rated}"
    console.emit(topics_table(rows, per_partition=partitions, title=title))
    return OK

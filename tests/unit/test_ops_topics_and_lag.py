"""`attesta ops topics` rates and `attesta ops lag` ordering, from offsets alone."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

from cli.ops.console import render_text
from cli.ops.lag import lag_table, lagging_first, summary
from cli.ops.topics import rates, topic_rows, topics_table
from shared.stream_inspection import PartitionLag, PartitionOffsets, group_lag


def offsets(topic: str, *ends: int, start: int = 0) -> list[PartitionOffsets]:
    return [PartitionOffsets(topic, p, start, end) for p, end in enumerate(ends)]


def test_messages_kept_are_end_minus_start() -> None:
    assert PartitionOffsets("t", 0, 40, 100).messages == 60


def test_rate_is_what_arrived_between_the_samples_per_second() -> None:
    before = offsets("enrolment.completed", 10, 0, 5)
    after = offsets("enrolment.completed", 30, 0, 9)

    rate_of = rates(before, after, seconds=2.0)

    assert rate_of == {
        ("enrolment.completed", 0): 10.0,
        ("enrolment.completed", 1): 0.0,
        ("enrolment.completed", 2): 2.0,
    }
    (row,) = topic_rows(after, rate_of)
    assert row.rate == 12.0
    assert row.messages == 39


def test_no_rate_is_made_up_for_a_new_or_emptied_partition() -> None:
    before = offsets("a", 50)
    after = [*offsets("a", 3), *offsets("b", 7)]  # `a` lost its log; `b` is new

    rate_of = rates(before, after, seconds=1.0)

    assert rate_of == {("a", 0): None, ("b", 0): None}
    assert [r.rate for r in topic_rows(after, rate_of)] == [None, None]


def test_topics_table_shows_one_line_per_topic_or_partition() -> None:
    after = [*offsets("certificate.issued", 4, 2), *offsets("partner.keys", 1)]
    rows = topic_rows(after, rates(offsets("certificate.issued", 1, 2), after, 3.0))

    per_topic = render_text(topics_table(rows, per_partition=False, title="t")).splitlines()
    per_partition = render_text(topics_table(rows, per_partition=True, title="t")).splitlines()

    (issued,) = [line for line in per_topic if line.startswith(" certificate.issued")]
    assert issued.split() == ["certificate.issued", "2", "6", "6", "1.0"]
    (keys,) = [line for line in per_topic if "partner.keys" in line]
    assert keys.split() == ["partner.keys", "1", "1", "1", "—"]
    assert sum("certificate.issued" in line for line in per_partition) == 2


def lag(group: str, partition: int, lag: int, topic: str = "t") -> PartitionLag:
    return PartitionLag(group, topic, partition, 10, 10 + lag, lag)


def test_groups_behind_come_first_most_behind_first() -> None:
    rows = [lag("a.t", 0, 0), lag("b.t", 0, 2), lag("b.t", 1, 0), lag("c.t", 0, 5)]

    ordered = lagging_first(rows)

    assert [(r.group, r.partition) for r in ordered] == [
        ("c.t", 0),
        ("b.t", 0),
        ("b.t", 1),
        ("a.t", 0),
    ]
    assert summary(ordered) == "3 groups, 2 behind by 7 messages in all"


def test_lag_table_names_each_group_once() -> None:
    text = render_text(lag_table(lagging_first([lag("b.t", 0, 2), lag("b.t", 1, 0)]), "lag"))

    assert text.count("b.t") == 1
    assert [
        line.split()[-1] for line in text.splitlines() if line.strip().startswith(("b.t", "t"))
    ] == [
        "2",
        "0",
    ]


def committed(**positions: int) -> dict[TopicPartition, SimpleNamespace]:
    """OffsetFetch's answer: `t_0=3` is topic t, partition 0, offset 3."""
    found = {}
    for name, offset in positions.items():
        topic, _, partition = name.rpartition("_")
        found[TopicPartition(topic, int(partition))] = SimpleNamespace(offset=offset)
    return found


KEPT = {
    ("enrolment", 0): PartitionOffsets("enrolment", 0, 0, 8),
    ("enrolment", 1): PartitionOffsets("enrolment", 1, 5, 9),
    ("other", 0): PartitionOffsets("other", 0, 0, 4),
}


def test_lag_counts_from_the_committed_offset() -> None:
    rows = group_lag(
        "svc.x", committed(enrolment_0=6, enrolment_1=9, other_0=-1), KEPT, ["enrolment", "other"]
    )

    assert [(r.topic, r.partition, r.committed, r.lag) for r in rows] == [
        ("enrolment", 0, 6, 2),
        ("enrolment", 1, 9, 0),
    ]


@pytest.mark.parametrize("position", [None, 2])
def test_a_group_that_never_committed_owes_everything_kept_of_the_topic_it_is_named_for(
    position: int | None,
) -> None:
    answer = committed(enrolment_0=-1, enrolment_1=-1 if position is None else position)

    rows = group_lag("certification.enrolment", answer, KEPT, ["enrolment", "other"])

    assert [(r.partition, r.committed, r.lag) for r in rows] == [
        (0, None, 8),
        # Below what the broker keeps (start 5), a group can only resume at the start.
        (1, position, 4),
    ]

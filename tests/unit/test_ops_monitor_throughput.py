"""Throughput per topic from samples of the end offsets: messages a second over the last 30 s,
the count of the last five minutes, the total and a trend of 10-second bars."""

from __future__ import annotations

import pytest

from services.registration.ops_monitor.snapshot import (
    OffsetHistory,
    OffsetSample,
    TopicThroughput,
    messages_between,
    offset_sample,
    throughput,
    trend,
)
from shared.stream_inspection import PartitionOffsets

T = "certificate.issued"


def samples(*points: tuple[float, int]) -> list[OffsetSample]:
    return [OffsetSample(at, {T: end}) for at, end in points]


def row(history: list[OffsetSample], topic: str = T) -> TopicThroughput:
    (found,) = [r for r in throughput(history, [topic]).topics if r.topic == topic]
    return found


def test_a_sample_sums_the_end_offsets_of_each_topics_partitions() -> None:
    sample = offset_sample(
        12.0,
        [
            PartitionOffsets(T, 0, start=0, end=5),
            PartitionOffsets(T, 1, start=2, end=7),
            PartitionOffsets("enrolment.completed", 0, start=0, end=3),
        ],
    )
    assert sample.at == 12.0
    assert sample.ends == {T: 12, "enrolment.completed": 3}


def test_the_rate_is_the_growth_over_the_last_thirty_seconds() -> None:
    history = samples((0.0, 100), (10.0, 100), (20.0, 130), (30.0, 160), (40.0, 190))
    found = row(history)
    # From the sample at 10 s (the last one 30 s before the newest) to 40 s: 90 in 30 s.
    assert found.per_second == pytest.approx(3.0)
    assert found.last_5_minutes == 90
    assert found.total == 190


def test_with_only_a_short_history_the_rate_is_over_what_there_is() -> None:
    found = row(samples((0.0, 10), (1.0, 14)))
    assert found.per_second == pytest.approx(4.0)
    assert found.last_5_minutes == 4


def test_one_sample_gives_totals_but_no_rate() -> None:
    found = row(samples((0.0, 10)))
    assert (found.per_second, found.last_5_minutes, found.total) == (0.0, 0, 10)


def test_no_samples_list_every_topic_with_zeros() -> None:
    result = throughput([], ["b", "a"])
    assert [(r.topic, r.per_second, r.total, r.trend) for r in result.topics] == [
        ("a", 0.0, 0, []),
        ("b", 0.0, 0, []),
    ]


def test_after_the_traffic_stops_the_rate_falls_to_zero_but_the_five_minutes_keep_it() -> None:
    history = samples((0.0, 0), (5.0, 50), (60.0, 50), (100.0, 50))
    found = row(history)
    assert found.per_second == 0.0
    assert found.last_5_minutes == 50


def test_a_topic_that_does_not_exist_yet_counts_from_zero() -> None:
    history = [OffsetSample(0.0, {}), OffsetSample(5.0, {T: 20})]
    assert row(history).last_5_minutes == 20


def test_a_broker_that_restarted_empty_counts_what_was_written_since() -> None:
    # 500 before the restart; the topic then holds 7 again.
    history = samples((0.0, 490), (5.0, 500), (10.0, 7))
    assert messages_between(history, T, 0.0, 10.0) == 10 + 7


def test_messages_between_start_at_the_last_sample_not_after_the_start() -> None:
    history = samples((0.0, 0), (10.0, 10), (20.0, 30), (30.0, 60))
    assert messages_between(history, T, 10.0, 30.0) == 50
    assert messages_between(history, T, 15.0, 30.0) == 50  # from the 10 s sample
    assert messages_between(history, T, 20.0, 25.0) == 0  # nothing sampled in between


def test_the_trend_has_one_bar_per_ten_seconds_newest_last() -> None:
    history = samples((0.0, 0), (10.0, 4), (20.0, 4), (30.0, 10))
    bars = trend(history, T, buckets=4, width=10.0)
    assert bars == [0, 4, 0, 6]


def test_the_default_trend_covers_five_minutes_in_thirty_bars() -> None:
    history = samples((0.0, 0), (300.0, 30))
    bars = trend(history, T)
    assert len(bars) == 30
    assert sum(bars) == 30
    assert bars[-1] == 30


def test_the_history_keeps_five_minutes_and_one_sample_before() -> None:
    history = OffsetHistory()
    for second in range(0, 601, 5):
        history.add(OffsetSample(float(second), {T: second}))
    kept = history.samples
    assert kept[-1].at == 600.0
    assert kept[0].at == 300.0  # the baseline of the five minutes
    assert history.latest == kept[-1]

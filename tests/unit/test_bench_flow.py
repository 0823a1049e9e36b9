"""The whole-flow measurement's arithmetic and its reading of the flow's events."""

from __future__ import annotations

import json

import pytest

import bench.__main__ as bench_main
from bench.figures import Spread
from bench.flow import (
    FlowWatcher,
    cpu_share,
    latencies,
    percentile,
    settings_for,
    slowest,
    spread,
    stage_ratios,
    steady_rate,
    summarise,
    throughput_key,
)
from bench.flow_figures import Baseline, FlowFigures, FlowRound, LatencyRun
from shared import topics


def event(enrolment: str, time: str, course: str | None = "c1", **data: object) -> bytes:
    body: dict[str, object] = {"enrolment_id": enrolment, **data}
    if course is not None:
        body["course"] = {"id": course}
    return json.dumps({"time": time, "data": body}).encode()


def flow_round(per_second: float, *, instances: int = 1, error: str | None = None) -> FlowRound:
    return FlowRound(
        size=100,
        instances=instances,
        number=1,
        completed=100,
        issued=100,
        emailed=100,
        seconds=100 / per_second,
        per_second=per_second,
        cpu_seconds={"certification": 6.0, "mongodb": 3.0, "bench client": 50.0, "kafka": 1.0},
        stack_cpu_ms_per_certificate=100.0,
        load_average=1.0,
        error=error,
    )


def base(stage: str, what: str, median: float) -> Baseline:
    return Baseline(stage, what, "per second", [median], Spread(median, median, median))


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([], 50) is None


def test_a_single_slow_email_shows_in_p99_not_in_p50() -> None:
    found = [0.2] * 99 + [5.0]
    assert percentile(found, 50) == 0.2
    assert percentile(found, 100) == 5.0


def test_steady_rate_counts_the_gaps_between_the_first_and_the_last_event() -> None:
    assert steady_rate([10.0, 11.0, 12.0]) == 1.0
    assert steady_rate([5.0]) is None
    assert steady_rate([5.0, 5.0]) is None


def test_latency_is_paired_by_enrolment_and_skips_those_not_emailed() -> None:
    completed = {"a": 1.0, "b": 2.0, "c": 3.0}
    emailed = {"a": 1.5, "c": 4.0, "z": 9.0}
    assert sorted(latencies(completed, emailed)) == [0.5, 1.0]


def test_spread_gives_the_median_and_the_extremes() -> None:
    assert spread([3.0, 1.0, 2.0]) == Spread(2.0, 1.0, 3.0)
    assert spread([]) is None


def test_cpu_share_leaves_out_the_bench_client_and_sorts_largest_first() -> None:
    share = cpu_share([flow_round(10.0), flow_round(10.0)])
    assert list(share) == ["certification", "mongodb", "kafka"]
    assert share["certification"] == 0.6


def test_the_slowest_baseline_bounds_the_flow() -> None:
    found = [base("kafka", "k", 900.0), base("renderer", "typst", 80.0), base("smtp", "s", 300.0)]
    assert slowest(found) == found[1]
    assert slowest([]) is None


def test_watcher_keeps_the_times_the_services_stamped_for_its_course_only() -> None:
    watcher = FlowWatcher("unused:9092", "c1")
    watcher.read(topics.ENROLMENT_COMPLETED, event("e1", "2026-11-23T10:00:00+00:00"))
    watcher.read(topics.ENROLMENT_COMPLETED, event("e9", "2026-11-23T10:00:00+00:00", "other"))
    watcher.read(topics.CERTIFICATE_ISSUED, event("e1", "2026-11-23T10:00:01+00:00"))
    sent = event("e1", "2026-11-23T09:00:00+00:00", None, sent_at="2026-11-23T10:00:02+00:00")
    watcher.read(topics.NOTIFICATION_SENT, sent)
    watcher.read(topics.NOTIFICATION_SENT, b"not json")
    assert list(watcher.completed) == ["e1"]
    assert watcher.issued["e1"] - watcher.completed["e1"] == 1.0
    # The email's time is when the server accepted it, not when the event was written.
    assert watcher.emailed["e1"] - watcher.completed["e1"] == 2.0


def test_an_email_read_before_its_completion_is_counted_once_the_completion_arrives() -> None:
    watcher = FlowWatcher("unused:9092", "c1")
    sent = event("e1", "2026-11-23T10:00:05+00:00", None, sent_at="2026-11-23T10:00:05+00:00")
    watcher.read(topics.NOTIFICATION_SENT, sent)
    assert watcher.emailed == {}
    watcher.read(topics.ENROLMENT_COMPLETED, event("e1", "2026-11-23T10:00:00+00:00"))
    assert latencies(watcher.completed, watcher.emailed) == [5.0]


def test_emails_of_other_courses_are_never_counted() -> None:
    watcher = FlowWatcher("unused:9092", "c1")
    sent = event("x", "2026-11-23T10:00:05+00:00", None, sent_at="2026-11-23T10:00:05+00:00")
    watcher.read(topics.NOTIFICATION_SENT, sent)
    assert watcher.emailed == {}


def test_summary_compares_end_to_end_with_the_slowest_stage_and_keeps_scaled_rounds_apart() -> None:
    figures = FlowFigures(
        baselines=[base("renderer", "typst", 80.0), base("smtp", "aiosmtplib", 300.0)],
        rounds=[flow_round(8.0), flow_round(10.0), flow_round(9.0), flow_round(12.0, instances=2)],
        latency=[
            LatencyRun(20, 15, 300, 19.9, 300, 100.0, 200.0, 400.0, 500.0, None),
            LatencyRun(20, 15, 300, 19.9, 300, 100.0, 200.0, 600.0, 700.0, None),
        ],
    )
    summarise(figures, [])
    assert figures.throughput[throughput_key(100, 1)] == Spread(9.0, 8.0, 10.0)
    assert figures.throughput[throughput_key(100, 2)] == Spread(12.0, 12.0, 12.0)
    assert figures.latency_p99["20/s"] == Spread(500.0, 400.0, 600.0)
    assert figures.slowest_baseline == "typst"
    assert figures.share_of_slowest_baseline == round(9.0 / 80.0, 3)


def test_a_failed_round_counts_in_no_figure() -> None:
    figures = FlowFigures(rounds=[flow_round(8.0), flow_round(1.0, error="stalled")])
    summarise(figures, [])
    assert figures.throughput[throughput_key(100, 1)] == Spread(8.0, 8.0, 8.0)


def test_stage_ratios_name_each_stage_against_the_baseline_of_its_parts() -> None:
    watcher = FlowWatcher("unused:9092", "c1")
    for i in range(11):
        watcher.completed[f"e{i}"] = 100.0 + i * 0.1
        watcher.issued[f"e{i}"] = 100.0 + i * 0.5
        watcher.emailed[f"e{i}"] = 101.0 + i * 0.5
    found = [
        base("kafka", "aiokafka, 50,000-byte records (certificate.issued)", 400.0),
        base("mongodb", "PyMongo insert_one", 3000.0),
        base("mongodb", "PyMongo find_one_and_update", 2000.0),
        base("renderer", "typst", 80.0),
        base("smtp", "aiosmtplib", 200.0),
    ]
    ratios = {r.stage: r for r in stage_ratios(found, [watcher], [flow_round(2.0)])}
    assert ratios["registration"].system_per_second == 10.0
    assert ratios["registration"].ratio == 10.0 / 2000.0
    assert ratios["certification"].ratio == 2.0 / 80.0
    assert ratios["notification"].baseline == "aiosmtplib"
    assert ratios["kafka"].baseline_per_second == 400.0
    assert ratios["end to end"].baseline == "typst"


def test_smoke_settings_are_tiny_and_the_defaults_repeat_each_figure_three_times() -> None:
    smoke = settings_for(smoke=True)
    full = settings_for(smoke=False)
    assert smoke.sizes == (20,) and smoke.instances == (1,)
    assert full.repeats >= 3 and full.baseline_repeats >= 3
    assert full.rates == (20.0, 100.0) and full.instances == (1, 2)
    assert settings_for(smoke=False, sizes=[1000, 10000]).scaled_size == 1000


def test_only_takes_several_measurements_and_names_the_choices_when_one_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = bench_main.parse_args(["--only", "bulk,flow"])
    assert bench_main.wanted(args, "bulk") and bench_main.wanted(args, "flow")
    assert not bench_main.wanted(args, "render")
    with pytest.raises(SystemExit):
        bench_main.parse_args(["--only", "bulk,speed"])
    assert "unknown measurement speed" in capsys.readouterr().err


def test_smoke_runs_the_flow_alone_tiny_and_keeps_its_results_apart() -> None:
    args = bench_main.parse_args(["--smoke"])
    assert args.only == ["flow"] and args.flow.sizes == (20,)
    assert args.results_dir == bench_main.RESULTS / "smoke"

"""The overhead measurement's arithmetic (bench/overhead.py): no timing is asserted here, the
figures come only from the bench."""

from __future__ import annotations

import dataclasses

import pytest

from bench.figures import OverheadFigures, OverheadRound, Spread
from bench.overhead import (
    by_service,
    cpu_ms_per_certificate,
    growth,
    metric_total,
    overhead,
    round_order,
    settings_for,
    spans_in_window,
    spread,
    stack_cpu_ms,
)


def test_rounds_alternate_and_flip_every_pair() -> None:
    assert round_order(1) == ["off", "on"]
    assert round_order(3) == ["off", "on", "on", "off", "off", "on"]
    order = round_order(4)
    assert order.count("off") == order.count("on") == 4
    assert [order[i] for i in range(0, 8, 2)] == ["off", "on", "off", "on"]


def test_spread_is_the_median_and_the_extremes() -> None:
    assert spread([3.0, 1.0, 2.0]) == Spread(median=2.0, low=1.0, high=3.0)
    assert spread([4.0, 1.0]) == Spread(median=2.5, low=1.0, high=4.0)
    assert spread([]) is None


def test_overhead_is_the_share_of_the_off_rate_lost() -> None:
    assert overhead(9.0, 10.0) == pytest.approx(0.10)
    assert overhead(10.0, 10.0) == 0
    assert overhead(11.0, 10.0) == pytest.approx(-0.10)  # on faster: noise, shown negative
    assert overhead(5.0, 0.0) is None
    assert overhead(None, 10.0) is None


def test_growth_is_how_much_more_the_on_stack_spends() -> None:
    assert growth(120.0, 100.0) == pytest.approx(0.20)
    assert growth(100.0, 0.0) is None


METRICS = """# HELP attesta_http_requests_total HTTP requests.
# TYPE attesta_http_requests_total counter
attesta_http_requests_total{method="GET",route="/metrics",status="200"} 3.0
attesta_http_requests_total{method="POST",route="/v1/courses",status="201"} 2.0
# HELP attesta_http_requests_created HTTP requests.
# TYPE attesta_http_requests_created gauge
attesta_http_requests_created{method="GET",route="/metrics",status="200"} 1.7e9
"""


def test_a_metric_is_summed_over_its_labels() -> None:
    assert metric_total(METRICS, "attesta_http_requests_total") == 5.0


def test_a_missing_metric_is_none_not_zero() -> None:
    assert metric_total("# nothing\n", "attesta_http_requests_total") is None
    assert metric_total(METRICS, "attesta_other_total") is None


def test_only_spans_started_in_the_window_count() -> None:
    spans = [
        {"service": "attesta-registration", "name": "POST /attendance", "start_ns": 100},
        {
            "service": "attesta-certification",
            "name": "enrolment.completed process",
            "start_ns": 150,
        },
        {
            "service": "attesta-certification",
            "name": "enrolment.completed process",
            "start_ns": 200,
        },
        {"service": "attesta-notification", "name": "smtp send", "start_ns": 201},
        {"service": "attesta-registration", "name": "POST /enrolments/bulk", "start_ns": 99},
    ]
    counted = spans_in_window(spans, 100, 200)
    assert counted == {
        "attesta-registration: POST /attendance": 1,
        "attesta-certification: enrolment.completed process": 2,
    }
    assert by_service(counted) == {"attesta-certification": 2, "attesta-registration": 1}


def _round(mode: str, notified: int, cpu_seconds: dict[str, float]) -> OverheadRound:
    return OverheadRound(
        mode=mode,
        number=1,
        certificates=notified,
        issued=notified,
        notified=notified,
        issued_seconds=1.0,
        notified_seconds=1.0,
        issued_per_second=1.0,
        end_to_end_per_second=1.0,
        cpu_seconds=cpu_seconds,
        stack_cpu_ms_per_certificate=None,
        spans=0,
        spans_by_service={},
        scrapes=0,
        load_average=1.0,
        error=None,
    )


def test_the_stack_cpu_leaves_out_the_bench_and_the_collector() -> None:
    spent = {"registration": 1.0, "mongodb": 2.0, "bench client": 5.0, "trace sink": 7.0}
    assert stack_cpu_ms(spent, 100) == pytest.approx(30.0)
    assert stack_cpu_ms(spent, 0) is None


def test_cpu_per_certificate_is_the_median_over_rounds_by_process() -> None:
    rounds = [
        _round("on", 100, {"certification": 3.0, "trace sink": 1.0}),
        _round("on", 200, {"certification": 4.0}),
        _round("on", 100, {"certification": 5.0, "trace sink": 2.0}),
        _round("on", 0, {"certification": 9.0}),  # nothing sent: left out
    ]
    assert cpu_ms_per_certificate(rounds) == {"certification": 30.0, "trace sink": 15.0}


def test_the_off_stack_neither_measures_nor_traces_whatever_is_measured() -> None:
    for features in ("both", "metrics", "tracing"):
        settings = settings_for(
            quick=True, certificates=None, rounds=None, attendance_batch=100, features=features
        )
        assert settings.environment("off") == {
            "ATTESTA_METRICS_ENABLED": "false",
            "ATTESTA_OTLP_ENDPOINT": "",
        }


def test_the_on_stack_has_on_what_is_measured() -> None:
    def on(features: str) -> dict[str, str]:
        settings = settings_for(
            quick=False, certificates=None, rounds=None, attendance_batch=100, features=features
        )
        return settings.environment("on")

    assert on("both") == {"ATTESTA_METRICS_ENABLED": "true", "ATTESTA_TRACE_SAMPLE_RATIO": "1.0"}
    assert on("metrics") == {"ATTESTA_METRICS_ENABLED": "true", "ATTESTA_OTLP_ENDPOINT": ""}
    assert on("tracing") == {
        "ATTESTA_METRICS_ENABLED": "false",
        "ATTESTA_TRACE_SAMPLE_RATIO": "1.0",
    }
    with pytest.raises(ValueError):
        on("logging")


def test_quick_settings_shrink_and_given_ones_win() -> None:
    quick = settings_for(quick=True, certificates=None, rounds=None, attendance_batch=100)
    assert (quick.certificates, quick.rounds) == (40, 1)
    full = settings_for(quick=False, certificates=None, rounds=None, attendance_batch=100)
    assert (full.certificates, full.rounds) == (300, 3)
    given = settings_for(quick=True, certificates=120, rounds=4, attendance_batch=50)
    assert (given.certificates, given.rounds, given.attendance_batch) == (120, 4, 50)


def _figures(
    features: str,
    *,
    spans: int,
    metrics_on: dict[str, float | None],
    metrics_off: dict[str, float | None],
) -> OverheadFigures:
    on = dataclasses.replace(_round("on", 10, {}), spans=spans)
    return OverheadFigures(
        features=features,
        certificates=10,
        rounds=1,
        warmup=1,
        attendance_batch=100,
        scrape_seconds=5.0,
        order=["off", "on"],
        off=[_round("off", 10, {})],
        on=[on],
        off_per_second=None,
        on_per_second=None,
        off_issued_per_second=None,
        on_issued_per_second=None,
        overhead=None,
        issue_overhead=None,
        off_cpu_ms_per_certificate={},
        on_cpu_ms_per_certificate={},
        off_stack_cpu_ms_per_certificate=None,
        on_stack_cpu_ms_per_certificate=None,
        cpu_overhead=None,
        spans_per_certificate=None,
        span_names={},
        dropped_spans=0,
        metrics_on=metrics_on,
        metrics_off=metrics_off,
        scrape_ms=None,
        scrape_bytes={},
        idle_cores={},
        dead_letters={},
        error=None,
    )


ABSENT: dict[str, float | None] = {"registration": None, "certification": None}
COUNTED: dict[str, float | None] = {"registration": 12.0, "certification": 3.0}


def test_the_comparison_is_verified_only_when_each_stack_did_what_its_mode_says() -> None:
    assert _figures("both", spans=110, metrics_on=COUNTED, metrics_off=ABSENT).verified
    # No span on the on stack, a service that counted nothing, the off stack counting.
    assert not _figures("both", spans=0, metrics_on=COUNTED, metrics_off=ABSENT).verified
    assert not _figures(
        "both", spans=110, metrics_on={**COUNTED, "certification": None}, metrics_off=ABSENT
    ).verified
    assert not _figures("both", spans=110, metrics_on=COUNTED, metrics_off=COUNTED).verified
    # A service whose /metrics did not answer on the off stack proves nothing.
    assert not _figures(
        "both", spans=110, metrics_on=COUNTED, metrics_off={"registration": None}
    ).verified


def test_one_feature_alone_is_verified_against_what_it_leaves_off() -> None:
    assert _figures("tracing", spans=110, metrics_on=ABSENT, metrics_off=ABSENT).verified
    assert not _figures("tracing", spans=110, metrics_on=COUNTED, metrics_off=ABSENT).verified
    assert _figures("metrics", spans=0, metrics_on=COUNTED, metrics_off=ABSENT).verified
    assert not _figures("metrics", spans=5, metrics_on=COUNTED, metrics_off=ABSENT).verified

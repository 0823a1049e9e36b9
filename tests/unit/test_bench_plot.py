"""The run chart: what it reads from a run's JSON, and that it always draws a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread

from bench.figures import Spread
from bench.plot import (
    DPI,
    SIZE_INCHES,
    bulk_series,
    caption,
    main,
    monolith_median,
    parse_throughput_key,
    plot,
    slowest_baseline,
    throughput_series,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bulk(size: int, rate: float, raw: float, peak: float) -> dict[str, Any]:
    return {
        "size": size,
        "service_rows_per_second": rate,
        "service_rss": {"before_mib": 80.0, "peak_mib": peak},
        "raw": {"rows_per_second": raw},
    }


def spread(median: float, low: float | None = None, high: float | None = None) -> dict[str, float]:
    return {
        "median": median,
        "low": median if low is None else low,
        "high": median if high is None else high,
    }


def baseline(stage: str, median: float) -> dict[str, Any]:
    return {
        "stage": stage,
        "what": f"{stage} alone",
        "unit": "per second",
        "runs": [median],
        "spread": spread(median),
    }


def full_run() -> dict[str, Any]:
    return {
        "started_at": "2025-01-02T03:04:05+00:00",
        "command": ["python", "-m", "bench"],
        "machine": {"cpus": 2, "python": "3.11.9", "platform": "Linux-6.1", "commit": None},
        "settings": {},
        "bulk": [
            bulk(1000, 9000.0, 20000.0, 110.0),
            bulk(10000, 12000.0, 25000.0, 130.0),
            bulk(100000, 11000.0, 26000.0, 190.0),
        ],
        "flow": {
            "baselines": [baseline("kafka", 30000.0), baseline("renderer", 60.0)],
            "throughput": {
                "1000 x1": spread(40.0, 38.0, 43.0),
                "10000 x1": spread(42.0, 40.0, 44.0),
                "1000 x2": spread(55.0, 50.0, 57.0),
            },
            "monolith": {
                "certificates": 1000,
                "runs": [70.0],
                "spread": spread(70.0),
                "cpu_ms_per_certificate": 14.0,
                "what": "direct calls",
                "error": None,
            },
        },
    }


def empty_run() -> dict[str, Any]:
    return {
        "started_at": "2025-01-02T03:04:05+00:00",
        "command": [],
        "machine": {},
        "settings": {},
        "bulk": [],
        "flow": None,
    }


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000
    height, width = imread(path).shape[:2]
    assert (width, height) == (round(SIZE_INCHES[0] * DPI), round(SIZE_INCHES[1] * DPI))


# Reading the run --------------------------------------------------------------------------------


def test_bulk_series_takes_the_median_of_each_figure_per_repeated_size_sorted_by_size() -> None:
    run = {
        "bulk": [
            bulk(10000, 100.0, 1000.0, 300.0),
            bulk(1000, 50.0, 500.0, 100.0),
            bulk(10000, 300.0, 3000.0, 100.0),
            bulk(10000, 200.0, 2000.0, 200.0),
        ]
    }
    assert bulk_series(run) == [(1000, 50.0, 500.0, 100.0), (10000, 200.0, 2000.0, 200.0)]


def test_bulk_series_leaves_out_failed_uploads() -> None:
    failed = bulk(1000, 5.0, 500.0, 900.0) | {"error": "the service answered 500"}
    run = {"bulk": [bulk(1000, 50.0, 500.0, 100.0), failed]}
    assert bulk_series(run) == [(1000, 50.0, 500.0, 100.0)]


def test_bulk_series_is_empty_when_bulk_was_not_measured() -> None:
    assert bulk_series({"bulk": []}) == []
    assert bulk_series({"bulk": None}) == []
    assert bulk_series({}) == []


def test_throughput_key_gives_trainees_and_instances() -> None:
    assert parse_throughput_key("10000 x2") == (10000, 2)
    assert parse_throughput_key("1000 x1") == (1000, 1)
    assert parse_throughput_key("1000") is None
    assert parse_throughput_key("many x2") is None


def test_throughput_series_groups_by_instances_and_sorts_by_trainees() -> None:
    run = {
        "flow": {
            "throughput": {
                "10000 x1": spread(42.0, 40.0, 44.0),
                "1000 x2": spread(55.0),
                "1000 x1": spread(40.0),
                "odd key": spread(1.0),
            }
        }
    }
    assert throughput_series(run) == {
        1: [(1000, Spread(40.0, 40.0, 40.0)), (10000, Spread(42.0, 40.0, 44.0))],
        2: [(1000, Spread(55.0, 55.0, 55.0))],
    }


def test_throughput_series_is_empty_without_a_flow() -> None:
    assert throughput_series({"flow": None}) == {}
    assert throughput_series({"flow": {"throughput": {}}}) == {}


def test_slowest_baseline_is_the_stage_with_the_lowest_median() -> None:
    run = {
        "flow": {
            "baselines": [
                baseline("kafka", 30000.0),
                baseline("smtp", 400.0),
                baseline("renderer", 60.0),
                baseline("mongodb", 9000.0),
            ]
        }
    }
    assert slowest_baseline(run) == ("renderer", 60.0)
    assert slowest_baseline({"flow": {"baselines": []}}) is None
    assert slowest_baseline({}) is None


def test_monolith_line_only_for_a_peer_that_ran_without_error() -> None:
    run = full_run()
    assert monolith_median(run) == 70.0
    run["flow"]["monolith"]["error"] = "it crashed"
    assert monolith_median(run) is None
    run["flow"]["monolith"] = None
    assert monolith_median(run) is None


def test_caption_names_the_start_and_the_known_machine_facts() -> None:
    text = caption(full_run())
    assert "2025-01-02T03:04:05+00:00" in text
    assert "cpus 2" in text
    assert "commit" not in text
    assert caption({"started_at": "then", "machine": {}}) == "Attesta benchmark, then"


# Drawing ----------------------------------------------------------------------------------------


def test_plot_writes_a_png_of_the_full_run(tmp_path: Path) -> None:
    path = tmp_path / "charts" / "flow.png"
    assert plot(full_run(), path) == path
    assert_png(path)


def test_plot_still_writes_a_png_when_nothing_was_measured(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    assert plot(empty_run(), path) == path
    assert_png(path)


def test_plot_draws_a_flow_whose_monolith_failed_and_has_no_baselines(tmp_path: Path) -> None:
    run = full_run()
    run["flow"]["monolith"] = {"spread": spread(0.0), "error": "no Mongo"}
    run["flow"]["baselines"] = []
    assert_png(plot(run, tmp_path / "partial.png"))


# The command line -------------------------------------------------------------------------------


def test_main_draws_next_to_the_json_by_default(tmp_path: Path) -> None:
    result = tmp_path / "registration-20250102.json"
    result.write_text(json.dumps(full_run()), encoding="utf-8")
    assert main([str(result)]) == 0
    assert_png(tmp_path / "registration-20250102.png")


def test_main_writes_where_asked(tmp_path: Path) -> None:
    result = tmp_path / "run.json"
    result.write_text(json.dumps(empty_run()), encoding="utf-8")
    assert main([str(result), "-o", str(tmp_path / "elsewhere.png")]) == 0
    assert_png(tmp_path / "elsewhere.png")
    assert not (tmp_path / "run.png").exists()


def test_main_fails_with_a_message_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.json"
    assert main([str(missing)]) != 0
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "nowhere.png").exists()


def test_main_fails_with_a_message_on_a_file_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = tmp_path / "broken.json"
    result.write_text("{not json", encoding="utf-8")
    assert main([str(result)]) != 0
    assert "not JSON" in capsys.readouterr().err

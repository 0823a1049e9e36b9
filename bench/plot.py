"""Draws a run's JSON as one PNG: bulk upload scaling and end-to-end throughput side by side.

The report's tables hold every figure, but how the rate and memory move with the number of
rows, and how the services compare with the monolith peer and the slowest raw stage, is read at
a glance only from a chart. `bench` draws it after a flow run; `python -m bench.plot RESULT.json`
redraws any saved run (older ones too) without running anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The object API with the Agg canvas: no display here, and importing this module (bench's
# __main__ does) must not switch a backend pyplot users elsewhere rely on.
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from bench.figures import Spread

NOT_MEASURED = "not measured in this run"
SIZE_INCHES = (11.0, 4.5)
DPI = 120

SERVICE_COLOUR = "tab:blue"
RAW_COLOUR = "tab:gray"
RSS_COLOUR = "tab:red"


def _thousands(value: float, _position: object = None) -> str:
    return f"{value:,.0f}"


# Reading the run -----------------------------------------------------------------------------


def bulk_series(run: Mapping[str, Any]) -> list[tuple[int, float, float, float]]:
    """(rows, service rows/s, raw insert_many rows/s, service peak RSS MiB) per size, sorted.

    A size uploaded in several rounds gets the median of each figure: one slow round on a
    shared machine should not bend the line. Failed uploads are left out."""
    by_size: dict[int, list[Mapping[str, Any]]] = {}
    for item in run.get("bulk") or []:
        if item.get("error"):
            continue  # a failed upload's rate says nothing about the curve
        by_size.setdefault(int(item["size"]), []).append(item)
    return [
        (
            size,
            statistics.median(float(i["service_rows_per_second"]) for i in items),
            statistics.median(float(i["raw"]["rows_per_second"]) for i in items),
            statistics.median(float(i["service_rss"]["peak_mib"]) for i in items),
        )
        for size, items in sorted(by_size.items())
    ]


def parse_throughput_key(key: str) -> tuple[int, int] | None:
    """Trainees and instances of certification and notification: "10000 x2" → (10000, 2).
    None for anything else, so a key a later bench writes differently is skipped, not fatal."""
    size, _, instances = key.partition(" x")
    try:
        return int(size), int(instances)
    except ValueError:
        return None


def _spread(found: Any) -> Spread | None:
    if not isinstance(found, Mapping):
        return None
    try:
        return Spread(float(found["median"]), float(found["low"]), float(found["high"]))
    except (KeyError, TypeError, ValueError):
        return None


def throughput_series(run: Mapping[str, Any]) -> dict[int, list[tuple[int, Spread]]]:
    """End-to-end certificates/s by instance count, each a list of (trainees, spread) sorted by
    trainees: one bar series per instance count."""
    flow = run.get("flow") or {}
    series: dict[int, list[tuple[int, Spread]]] = {}
    for key, value in (flow.get("throughput") or {}).items():
        parsed, spread = parse_throughput_key(key), _spread(value)
        if parsed is None or spread is None:
            continue
        size, instances = parsed
        series.setdefault(instances, []).append((size, spread))
    return {instances: sorted(series[instances]) for instances in sorted(series)}


def monolith_median(run: Mapping[str, Any]) -> float | None:
    """The monolith peer's median certificates/s; None when it did not run or failed (a
    failed peer's figure would flatter the services)."""
    monolith = (run.get("flow") or {}).get("monolith")
    if not isinstance(monolith, Mapping) or monolith.get("error"):
        return None
    spread = _spread(monolith.get("spread"))
    return spread.median if spread is not None else None


def slowest_baseline(run: Mapping[str, Any]) -> tuple[str, float] | None:
    """(stage, median per second) of the raw baseline with the lowest median: every certificate
    needs one of each stage, so the slowest bounds what the flow can reach."""
    found: list[tuple[str, float]] = []
    for baseline in (run.get("flow") or {}).get("baselines") or []:
        spread = _spread(baseline.get("spread"))
        if spread is not None:
            found.append((str(baseline.get("stage", "?")), spread.median))
    return min(found, key=lambda pair: pair[1], default=None)


def caption(run: Mapping[str, Any]) -> str:
    """The run's start and machine, as the report's table heads it."""
    machine = run.get("machine") or {}
    described = ", ".join(f"{k} {v}" for k, v in machine.items() if v is not None)
    started = f"Attesta benchmark, {run.get('started_at', 'unknown start')}"
    return f"{started}  ({described})" if described else started


# Drawing -------------------------------------------------------------------------------------


def _not_measured(axes: Axes) -> None:
    axes.text(
        0.5, 0.5, NOT_MEASURED, ha="center", va="center", transform=axes.transAxes, color="gray"
    )
    axes.set_xticks([])
    axes.set_yticks([])


def _draw_bulk(axes: Axes, series: Sequence[tuple[int, float, float, float]]) -> None:
    axes.set_title("Bulk upload: rate and memory vs rows")
    if not series:
        _not_measured(axes)
        return
    sizes = [s[0] for s in series]
    axes.plot(sizes, [s[1] for s in series], "o-", color=SERVICE_COLOUR, label="service rows/s")
    axes.plot(
        sizes, [s[2] for s in series], "s--", color=RAW_COLOUR, label="raw insert_many rows/s"
    )
    axes.set_xscale("log")
    # Ticks on the sizes measured only: log decades' minor labels (2×10³…) crowd them.
    axes.xaxis.set_major_locator(FixedLocator(sizes))
    axes.xaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_xlabel("rows")
    axes.set_ylabel("rows per second")
    axes.set_ylim(bottom=0)

    memory = axes.twinx()
    memory.plot(
        sizes, [s[3] for s in series], "^-", color=RSS_COLOUR, label="service peak RSS (MiB)"
    )
    memory.set_ylabel("peak RSS (MiB)", color=RSS_COLOUR)
    memory.tick_params(axis="y", colors=RSS_COLOUR)
    memory.set_ylim(bottom=0)

    # One legend for both y axes, else the twin's hides the first's.
    lines, labels = axes.get_legend_handles_labels()
    more_lines, more_labels = memory.get_legend_handles_labels()
    axes.legend(lines + more_lines, labels + more_labels, loc="lower left", fontsize="small")


def _draw_flow(
    axes: Axes,
    series: Mapping[int, Sequence[tuple[int, Spread]]],
    monolith: float | None,
    slowest: tuple[str, float] | None,
) -> None:
    axes.set_title("End to end: certificates/s (first completion → last email)")
    if not series:
        _not_measured(axes)
        return
    # Sizes as categories: 1,000 and 100,000 trainees side by side, not a log axis of two bars.
    sizes = sorted({size for points in series.values() for size, _ in points})
    place = {size: i for i, size in enumerate(sizes)}
    width = 0.8 / len(series)
    for n, (instances, points) in enumerate(series.items()):
        offset = (n - (len(series) - 1) / 2) * width
        medians = [spread.median for _, spread in points]
        axes.bar(
            [place[size] + offset for size, _ in points],
            medians,
            width,
            yerr=[
                [max(s.median - s.low, 0.0) for _, s in points],
                [max(s.high - s.median, 0.0) for _, s in points],
            ],
            capsize=3,
            label=f"{instances} instance{'s' if instances != 1 else ''} each",
        )
    if monolith is not None:
        axes.axhline(
            monolith, linestyle="--", color="black", label="monolith (direct calls)", linewidth=1
        )
    if slowest is not None:
        stage, rate = slowest
        axes.axhline(
            rate,
            linestyle=":",
            color="tab:red",
            label=f"slowest raw stage: {stage} ({rate:,.0f}/s)",
            linewidth=1.5,
        )
    axes.set_xticks(range(len(sizes)), [f"{_thousands(size)} trainees" for size in sizes])
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_ylabel("certificates per second")
    # Headroom above the highest bar or line, for the legend: "best" lays it over the bars.
    tops = [s.high for points in series.values() for _, s in points]
    tops += [line for line in (monolith, slowest[1] if slowest else None) if line is not None]
    axes.set_ylim(0, max(max(tops), 1.0) * 1.4)
    axes.legend(loc="upper left", ncols=2, fontsize="small")


def plot(run: Mapping[str, Any], path: Path) -> Path:
    """Draws `run` (a RunFigures as JSON data) into a PNG at `path`, and returns `path`."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    bulk_axes, flow_axes = figure.subplots(1, 2)
    _draw_bulk(bulk_axes, bulk_series(run))
    _draw_flow(flow_axes, throughput_series(run), monolith_median(run), slowest_baseline(run))
    figure.suptitle(caption(run), fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.plot", description="Draw a saved benchmark run as a PNG."
    )
    parser.add_argument("result", type=Path, help="a run's JSON, as bench saved it")
    parser.add_argument(
        "-o", "--output", type=Path, help="the PNG to write (default: next to RESULT, .png)"
    )
    args = parser.parse_args(argv)
    try:
        run = json.loads(args.result.read_text(encoding="utf-8"))
    except OSError as error:
        print(f"Cannot read {args.result}: {error.strerror or error}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as error:
        print(f"{args.result} is not JSON: {error}", file=sys.stderr)
        return 1
    if not isinstance(run, dict):
        print(f"{args.result} does not hold a run (a JSON object)", file=sys.stderr)
        return 1
    written = plot(run, args.output or args.result.with_suffix(".png"))
    print(f"Drew {written}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The whole-flow measurement's part of the results table, with issue #8's goals."""

from __future__ import annotations

from bench.figures import Spread
from bench.flow_figures import FlowFigures

GOAL_PER_SECOND = 100.0
GOAL_SHARE_OF_SLOWEST = 0.50
GOAL_P99_MS_AT_20 = 1000.0


def _spread(s: Spread | None, unit: str = "") -> str:
    if s is None:
        return "n/a"
    return f"{s.median:,.2f}{unit} ({s.low:,.2f}–{s.high:,.2f})"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def flow_table(f: FlowFigures) -> list[str]:
    lines = ["Whole flow (issue #8): median (lowest–highest) of the repeats"]
    if f.baselines:
        lines.append("  raw baselines, through the same servers:")
        for b in f.baselines:
            lines.append(f"    {b.stage:<9} {_spread(b.spread, '/s'):<34} {b.what}")
    if f.throughput:
        lines.append("  end to end, first completion to last email (certificates/s):")
        for key, found in f.throughput.items():
            size, instances = key.split(" x")
            lines.append(
                f"    {int(size):>7,} trainees, {instances} instance(s) of certification and "
                f"notification: {_spread(found)}"
            )
    one = [v for k, v in f.throughput.items() if k.endswith(" x1")]
    if one:
        best = max(s.median for s in one)
        lines.append(
            f"    goal ≥ {GOAL_PER_SECOND:.0f}/s: {_met(best >= GOAL_PER_SECOND)} "
            f"({best:.2f}/s, {best / GOAL_PER_SECOND:.1%} of it)"
        )
    if f.stages:
        lines.append("  each stage against its baseline (stage rate / baseline rate):")
        for s in f.stages:
            rate = "n/a" if s.system_per_second is None else f"{s.system_per_second:,.2f}/s"
            lines.append(
                f"    {s.stage:<13} {rate:>11} / {s.baseline_per_second:>9,.1f}/s = "
                f"{_ratio(s.ratio):>6}   {s.system}; vs {s.baseline}"
            )
    if f.share_of_slowest_baseline is not None:
        ok = f.share_of_slowest_baseline >= GOAL_SHARE_OF_SLOWEST
        lines.append(
            f"    end to end is {_ratio(f.share_of_slowest_baseline)} of the slowest raw stage "
            f"({f.slowest_baseline}); goal ≥ 50%: {_met(ok)}"
        )
    if f.latency:
        lines.append("  completion → email latency at a steady offered load (ms):")
        for run in f.latency:
            lines.append(
                f"    {run.rate:>5g}/s offered ({run.achieved_rate:g}/s answered, "
                f"{run.emailed}/{run.offered} emailed): p50 {run.p50_ms}, p95 {run.p95_ms}, "
                f"p99 {run.p99_ms}, max {run.max_ms}" + (f"  ! {run.error}" if run.error else "")
            )
        at20 = f.latency_p99.get("20/s")
        if at20 is not None:
            lines.append(
                f"    p99 at 20/s: {_spread(at20, ' ms')}; goal ≤ 1,000 ms: "
                f"{_met(at20.median <= GOAL_P99_MS_AT_20)}"
            )
    if f.monolith is not None:
        m = f.monolith
        cpu = "" if m.cpu_ms_per_certificate is None else f", {m.cpu_ms_per_certificate} ms CPU"
        lines.append(
            f"  monolith peer (direct calls, one process): {_spread(m.spread, '/s')}{cpu}"
            + (f"  ! {m.error}" if m.error else "")
        )
        lines.append(f"    {m.what}")
    if f.cpu_share:
        lines.append(
            "  the stack's CPU in the rounds: "
            + ", ".join(f"{k} {v:.0%}" for k, v in f.cpu_share.items())
        )
    if f.profile is not None:
        p = f.profile
        if p.error:
            lines.append(f"  profile of {p.process}: not taken: {p.error}")
        else:
            lines.append(
                f"  profile of {p.process} ({p.tool}, {p.seconds:g}s, {p.samples:,} samples, "
                f"{p.working_samples:,} of them working; {p.speedscope})"
            )
            lines.append("    most time spent in (self, share of the working samples):")
            lines += [f"    {share:>6.1%}  {name}" for name, share in p.top_self[:8]]
            lines.append("    most time under (total):")
            lines += [f"    {share:>6.1%}  {name}" for name, share in p.top_total[:8]]
    if f.plot:
        lines.append(f"  plot: {f.plot}")
    lines += [f"  ! {error}" for error in f.errors]
    return lines

"""A sampling profile of one running service during the flow measurement (`--only flow`).

The flow's figures say how fast the stack goes; this says where the busiest process spends its
CPU while it goes that fast, so that a slow stage can be explained rather than guessed at. It
drives py-spy from outside the process (nothing to install in the services), keeps the samples
as a speedscope file and as collapsed stacks, and sums them into the few functions that matter.
A profile is a bonus: when py-spy cannot attach (no ptrace, process gone) the run goes on, with
the reason recorded instead of the figures.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.flow_figures import ProfileFigures

Stack = tuple[str, ...]
Stacks = Sequence[tuple[Stack, int]]

RATE = 200  # samples per second: fine enough for a few seconds' profile, cheap for the target
SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):(?P<line>\d+)\)$")
_ERROR_CHARS = 400  # enough of py-spy's complaint to act on, short enough for a report line


def parse_collapsed(text: str) -> list[tuple[Stack, int]]:
    """py-spy's raw output: one `outer;...;leaf count` line per distinct stack."""
    stacks: list[tuple[Stack, int]] = []
    for line in text.splitlines():
        frames, _, count = line.strip().rpartition(" ")
        # A line without a count is not a stack (a truncated write, a stray message): skipped
        # rather than failing the whole profile.
        if not frames or not count.isdigit():
            continue
        stacks.append((tuple(frames.split(";")), int(count)))
    return stacks


def simplify(frame: str) -> str:
    """`handle (/abs/.../services/x.py:42)` → `handle (services/x.py)`: one entry per function,
    whichever line was running, and paths short enough to read in a table."""
    m = _FRAME.match(frame)
    if m is None:
        return frame
    return f"{m['function']} ({_short_path(m['file'])})"


def _short_path(file: str) -> str:
    if not file.startswith("/"):
        return file  # already short: py-spy trims to the package part unless told otherwise
    _, site, inside = file.rpartition("site-packages/")
    if site:
        return inside
    try:
        return str(Path(file).relative_to(_PROJECT_ROOT))
    except ValueError:
        return file


# Leaves where a thread waits rather than works. py-spy tells idle threads by their state in
# the kernel, which inside this container it often cannot read: a thread blocked in C (a
# thread pool's queue, the event loop's epoll) then shows up as on-CPU in its last Python frame.
WAITING_LEAVES = frozenset(
    {
        "_worker (concurrent/futures/thread.py)",
        "select (selectors.py)",
        "EpollSelector.select (selectors.py)",
        "wait (threading.py)",
        "Condition.wait (threading.py)",
        "Event.wait (threading.py)",
        "_wait_for_tstate_lock (threading.py)",
        "Thread._wait_for_tstate_lock (threading.py)",
        # uvloop's loop runs in C under this frame: its epoll wait shows up here, and so does
        # its transports' work, which cannot be told apart from waiting; counted as waiting.
        "Runner.run (asyncio/runners.py)",
        "run (asyncio/runners.py)",
    }
)


def working(stacks: Stacks) -> list[tuple[Stack, int]]:
    """The samples of threads at work: those whose leaf is a known wait are left out."""
    return [(stack, count) for stack, count in stacks if simplify(stack[-1]) not in WAITING_LEAVES]


def top_self(stacks: Stacks, n: int = 10) -> list[tuple[str, float]]:
    """The functions the samples were *in* (the leaf), as shares of all samples."""
    counts: Counter[str] = Counter()
    for frames, count in stacks:
        if frames:
            counts[simplify(frames[-1])] += count
    return _shares(counts, _total(stacks), n)


def top_total(stacks: Stacks, n: int = 10) -> list[tuple[str, float]]:
    """The functions on the stack at all, as shares of all samples: a recursive function is
    counted once per sample, so no share goes above 1."""
    counts: Counter[str] = Counter()
    for frames, count in stacks:
        for function in {simplify(f) for f in frames}:
            counts[function] += count
    return _shares(counts, _total(stacks), n)


def _total(stacks: Stacks) -> int:
    return sum(count for _, count in stacks)


def _shares(counts: Counter[str], total: int, n: int) -> list[tuple[str, float]]:
    if total <= 0:
        return []
    # By name as well, so that ties come out the same from run to run.
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(function, count / total) for function, count in ranked[:n]]


def to_speedscope(stacks: Stacks, name: str) -> dict[str, Any]:
    """A speedscope file (one sampled profile) holding every stack as py-spy recorded it, with
    line numbers, for looking at interactively."""
    index: dict[str, int] = {}
    frames: list[dict[str, Any]] = []
    samples: list[list[int]] = []
    weights: list[int] = []
    for stack, count in stacks:
        sample: list[int] = []
        for frame in stack:
            if frame not in index:
                index[frame] = len(frames)
                frames.append(_speedscope_frame(frame))
            sample.append(index[frame])
        samples.append(sample)
        weights.append(count)
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "name": name,
        "exporter": "bench.profiling (py-spy raw)",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }


def _speedscope_frame(frame: str) -> dict[str, Any]:
    m = _FRAME.match(frame)
    if m is None:
        return {"name": frame}
    return {"name": m["function"], "file": m["file"], "line": int(m["line"])}


async def profile(
    pid: int, process: str, seconds: float, out_dir: Path, stamp: str
) -> ProfileFigures:
    """Samples `pid` for `seconds` and saves what was seen next to the run's results. Never
    raises for what can be expected of a profiler (missing, not allowed, target gone): the
    figures carry the reason instead."""

    def failed(tool: str, error: str) -> ProfileFigures:
        return ProfileFigures(process, tool, seconds, 0, None, [], [], error=error)

    py_spy = _py_spy_path()
    if py_spy is None:
        return failed("py-spy", "py-spy is not installed (neither next to Python nor on PATH)")
    tool = await _tool_name(py_spy)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        raw = Path(tmp) / "profile.txt"
        args = [
            "record",
            *("--pid", str(pid)),
            *("--duration", str(max(1, math.ceil(seconds)))),
            *("--rate", str(RATE)),
            *("--format", "raw"),
            *("--output", str(raw)),
            # Not pausing the target keeps the round's timings honest, at the price of an
            # occasional torn stack. No --idle: only on-CPU samples, which is what is costly.
            # No --gil: work in C with the GIL released (rendering, hashing) is CPU too.
            "--nonblocking",
        ]
        code, output = await _run(py_spy, args, allowed=seconds + 30)
        if code is None:
            return failed(tool, f"py-spy did not finish in {seconds + 30:g}s: {output}")
        if code != 0:
            return failed(tool, _explain(code, output, pid))
        try:
            text = await asyncio.to_thread(raw.read_text, encoding="utf-8", errors="replace")
        except OSError as e:
            return failed(tool, f"py-spy wrote no profile ({e}): {output}")
    stacks = parse_collapsed(text)
    samples = _total(stacks)
    if samples == 0:
        return failed(tool, f"no on-CPU samples of {process} in {seconds:g}s (was it idle?)")
    try:
        # Off the event loop: the round being profiled is still running on it.
        speedscope = await asyncio.to_thread(_save, stacks, text, out_dir, f"{process}-{stamp}")
    except OSError as e:
        return failed(tool, f"could not save the profile: {e}")
    busy = working(stacks)
    return ProfileFigures(
        process=process,
        tool=tool,
        seconds=seconds,
        samples=samples,
        speedscope=str(speedscope),
        top_self=top_self(busy),
        top_total=top_total(busy),
        working_samples=_total(busy),
    )


def _save(stacks: Stacks, text: str, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    speedscope = out_dir / f"profile-{name}.speedscope.json"
    speedscope.write_text(json.dumps(to_speedscope(stacks, name)), encoding="utf-8")
    # Kept as well, as py-spy wrote it: flamegraph.pl and inferno read this, not speedscope.
    (out_dir / f"profile-{name}.collapsed.txt").write_text(text, encoding="utf-8")
    return speedscope


def _py_spy_path() -> Path | None:
    # The project's own environment first: the version pinned in the lock, whatever PATH says.
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


async def _tool_name(py_spy: Path) -> str:
    code, output = await _run(py_spy, ["--version"], allowed=10)
    words = output.split()
    if code == 0 and len(words) >= 2 and words[0] == "py-spy":
        return f"py-spy {words[1]}"
    return "py-spy"


async def _run(py_spy: Path, args: list[str], allowed: float) -> tuple[int | None, str]:
    """py-spy's exit code (None if it had to be killed) and its output, made one line."""
    # Without this, py-spy's errors end in a Rust backtrace that buries the one useful line.
    env = {**os.environ, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
    try:
        proc = await asyncio.create_subprocess_exec(
            str(py_spy),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as e:
        return -1, f"could not start {py_spy}: {e}"
    try:
        out, err = await asyncio.wait_for(proc.communicate(), allowed)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return None, _one_line(err.decode(errors="replace") or out.decode(errors="replace"))
    text = err.decode(errors="replace").strip() or out.decode(errors="replace")
    return proc.returncode, _one_line(text)


def _one_line(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("Stack backtrace"):
            break
        if line.strip():
            lines.append(line.strip())
    joined = " / ".join(lines)
    return joined if len(joined) <= _ERROR_CHARS else "…" + joined[-_ERROR_CHARS:]


def _explain(code: int, output: str, pid: int) -> str:
    said = output.lower()
    if any(w in said for w in ("permission", "root", "ptrace", "operation not permitted")):
        why = "py-spy may not attach here (needs root or CAP_SYS_PTRACE)"
    elif "process is running" in said or "no such process" in said:
        why = f"process {pid} is gone"
    else:
        why = "py-spy failed"
    return f"{why} (exit {code}): {output or 'no output'}"

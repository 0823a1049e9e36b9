"""The flow measurement's profile: reading py-spy's collapsed stacks, summing them into the
functions that matter, the speedscope file, and py-spy itself against a real process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from bench import profiling
from bench.profiling import (
    parse_collapsed,
    profile,
    simplify,
    to_speedscope,
    top_self,
    top_total,
    working,
)

RAW = """\
<module> (app.py:10);main (app.py:5);handle (services/certification/issuing.py:42) 6
<module> (app.py:10);main (app.py:5);render (services/certification/pdf.py:7) 3
<module> (app.py:10);main (app.py:6) 1
"""


def test_collapsed_lines_become_stacks_with_the_leaf_last_and_their_counts() -> None:
    stacks = parse_collapsed(RAW)

    assert len(stacks) == 3
    frames, count = stacks[0]
    assert frames == (
        "<module> (app.py:10)",
        "main (app.py:5)",
        "handle (services/certification/issuing.py:42)",
    )
    assert count == 6
    assert [c for _, c in stacks] == [6, 3, 1]


def test_blank_and_countless_lines_are_skipped_rather_than_failing() -> None:
    text = "\n   \nnot a stack\nf (a.py:1);g (a.py:2) x\nf (a.py:1) 2\n"

    assert parse_collapsed(text) == [(("f (a.py:1)",), 2)]


def test_frame_names_keep_function_and_file_but_lose_the_line_number() -> None:
    assert simplify("handle (services/certification/issuing.py:42)") == (
        "handle (services/certification/issuing.py)"
    )
    assert simplify("<genexpr> (<string>:1)") == "<genexpr> (<string>)"
    assert simplify("no location here") == "no location here"


def test_absolute_paths_are_shortened_to_site_packages_or_the_project() -> None:
    site = "send (/x/.venv/lib/python3.11/site-packages/aiosmtplib/smtp.py:300)"
    project = f"handle ({profiling._PROJECT_ROOT}/services/certification/issuing.py:42)"

    assert simplify(site) == "send (aiosmtplib/smtp.py)"
    assert simplify(project) == "handle (services/certification/issuing.py)"
    assert simplify("f (/usr/lib/python3.11/json/x.py:1)") == "f (/usr/lib/python3.11/json/x.py)"


def test_self_share_counts_only_the_leaf_and_is_sorted_descending() -> None:
    shares = dict(top_self(parse_collapsed(RAW)))

    assert list(shares) == [
        "handle (services/certification/issuing.py)",
        "render (services/certification/pdf.py)",
        "main (app.py)",
    ]
    assert shares["handle (services/certification/issuing.py)"] == pytest.approx(0.6)
    assert shares["main (app.py)"] == pytest.approx(0.1)
    assert "<module> (app.py)" not in shares


def test_total_share_counts_every_function_on_the_stack() -> None:
    shares = dict(top_total(parse_collapsed(RAW)))

    assert shares["<module> (app.py)"] == pytest.approx(1.0)
    assert shares["main (app.py)"] == pytest.approx(1.0)  # lines 5 and 6 are one function
    assert shares["render (services/certification/pdf.py)"] == pytest.approx(0.3)


def test_a_recursive_function_counts_once_per_sample_in_the_total() -> None:
    stacks = parse_collapsed("walk (t.py:1);walk (t.py:2);walk (t.py:2) 4\nother (t.py:9) 4\n")

    assert dict(top_total(stacks)) == {"walk (t.py)": 0.5, "other (t.py)": 0.5}
    assert dict(top_self(stacks)) == {"walk (t.py)": 0.5, "other (t.py)": 0.5}


def test_tops_are_cut_to_n_and_empty_without_samples() -> None:
    stacks = [((f"f{i} (a.py:1)",), i + 1) for i in range(20)]

    assert len(top_self(stacks, n=5)) == 5
    first, share = top_self(stacks, n=5)[0]
    assert first == "f19 (a.py)"
    assert share == pytest.approx(20 / 210)
    assert top_self([]) == []
    assert top_total([]) == []


def test_threads_waiting_in_a_pool_or_the_event_loop_are_not_counted_as_work() -> None:
    stacks = [
        (("_bootstrap (threading.py:1)", "_worker (concurrent/futures/thread.py:81)"), 50),
        (("run (asyncio/base_events.py:9)", "EpollSelector.select (selectors.py:468)"), 30),
        (("_worker (concurrent/futures/thread.py:83)", "execute (neosqlite/cursor.py:7)"), 20),
    ]
    busy = working(stacks)
    assert busy == [stacks[2]]
    assert top_self(busy) == [("execute (neosqlite/cursor.py)", 1.0)]


def test_speedscope_file_indexes_each_frame_once_and_consistently() -> None:
    stacks = parse_collapsed(RAW)

    doc = to_speedscope(stacks, "certification")

    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    (p,) = doc["profiles"]
    assert p["type"] == "sampled"
    assert p["unit"] == "none"
    assert p["weights"] == [6, 3, 1]
    assert p["endValue"] == 10
    assert len(frames) == 5  # <module>, main:5, handle, render, main:6
    for sample, (stack, _) in zip(p["samples"], stacks, strict=True):
        rebuilt = [f"{frames[i]['name']} ({frames[i]['file']}:{frames[i]['line']})" for i in sample]
        assert tuple(rebuilt) == stack
    assert frames[p["samples"][0][0]] == {"name": "<module>", "file": "app.py", "line": 10}
    json.dumps(doc)  # what is saved must be JSON as it stands


def assert_saved(speedscope: Path, samples: int) -> None:
    assert speedscope.name == "profile-busy-20260101-000000.speedscope.json"
    assert json.loads(speedscope.read_text())["profiles"][0]["type"] == "sampled"
    collapsed = speedscope.with_name("profile-busy-20260101-000000.collapsed.txt")
    assert sum(c for _, c in parse_collapsed(collapsed.read_text())) == samples


def nothing_in(directory: Path) -> bool:
    return not any(directory.iterdir())


async def test_a_busy_python_process_is_profiled_and_saved(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "while True: sum(i*i for i in range(10000))"
    )
    try:
        await asyncio.sleep(0.3)  # past the interpreter's start, into the loop
        figures = await profile(child.pid, "busy", 1.5, tmp_path / "results", "20260101-000000")
    finally:
        child.kill()
        await child.wait()

    assert figures.error is None
    assert figures.samples > 0
    assert figures.tool.startswith("py-spy 0.4")
    assert any("<genexpr>" in f or "<module>" in f for f, _ in figures.top_total)
    assert all(0 < share <= 1 for _, share in figures.top_self + figures.top_total)
    assert figures.speedscope is not None
    assert_saved(Path(figures.speedscope), figures.samples)


async def test_a_process_that_does_not_exist_gives_an_error_not_an_exception(
    tmp_path: Path,
) -> None:
    no_such_pid = 2**22 + 1  # above the largest pid Linux hands out

    figures = await profile(no_such_pid, "gone", 1, tmp_path, "s")

    assert figures.error is not None
    assert "\n" not in figures.error
    assert "Stack backtrace" not in figures.error
    assert figures.samples == 0
    assert figures.speedscope is None
    assert figures.top_self == []
    assert figures.top_total == []
    assert nothing_in(tmp_path)


async def test_missing_py_spy_gives_an_error_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiling, "_py_spy_path", lambda: None)

    figures = await profile(1, "any", 1, tmp_path, "s")

    assert figures.tool == "py-spy"
    assert figures.error is not None
    assert "not installed" in figures.error
    assert figures.speedscope is None


def test_a_uvloop_event_loop_waiting_in_c_is_not_counted_as_work() -> None:
    stacks = [
        (("<module> (nx_27017/__main__.py:3)", "Runner.run (asyncio/runners.py:118)"), 40),
        (("Runner.run (asyncio/runners.py:118)", "handle (nx_27017/handler.py:5)"), 10),
    ]

    assert working(stacks) == [stacks[1]]

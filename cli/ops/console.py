"""Rich output for `attesta ops`: tables and lines for people, JSON for scripts."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

# Piped or captured output is not cut to 80 columns: a trace line is wider, and a script
# reading it wants whole values.
PIPE_WIDTH = 250
NONE = "—"


def console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        width=None if stream.isatty() else PIPE_WIDTH,
        highlight=False,
        soft_wrap=False,
    )


def table(*headers: str, right: tuple[str, ...] = (), title: str | None = None) -> Table:
    """Columns never wrap: one record per line is what people grep."""
    grid = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    for header in headers:
        grid.add_column(header, justify="right" if header in right else "left", no_wrap=True)
    return grid


def render_text(renderable: RenderableType, width: int = PIPE_WIDTH) -> str:
    """What `renderable` prints without colours, as plain text without the spaces Rich pads
    lines with to the console's width."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def emit(renderable: RenderableType) -> None:
    """Colours on a terminal; plain, unpadded text into a pipe or a file."""
    if sys.stdout.isatty():
        console().print(renderable)
    else:
        sys.stdout.write(render_text(renderable))
        sys.stdout.flush()


def cell(value: Any) -> str:
    if value is None or value == "":
        return NONE
    if isinstance(value, datetime):
        return instant(value)
    return str(value)


def instant(moment: datetime) -> str:
    """UTC to the millisecond: events of one trainee are often milliseconds apart."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def rate(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def print_json(value: Any, *, compact: bool = False) -> None:
    # Names are Cyrillic and Polish: \u escapes would hide them.
    text = json.dumps(value, ensure_ascii=False, default=str, indent=None if compact else 2)
    print(text, flush=compact)

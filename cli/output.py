"""Plain-text tables and documents for people; JSON as the API sent it for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

EMPTY = "—"


def cell(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or EMPTY
    return str(value)


def print_json(value: Any, out: TextIO | None = None) -> None:
    # ensure_ascii=False: names and titles are Cyrillic and Polish; \u escapes are unreadable.
    print(json.dumps(value, indent=2, ensure_ascii=False), file=out or sys.stdout)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None
) -> None:
    stream = out or sys.stdout
    if not rows:
        print("(none)", file=stream)
        return
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    print(line([h.upper() for h in headers]), file=stream)
    for row in text:
        print(line(row), file=stream)


def print_fields(pairs: Sequence[tuple[str, Any]], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        print(f"{name + ':':<{width + 1}} {cell(value)}", file=stream)


def print_document(doc: Any, out: TextIO | None = None, indent: str = "") -> None:
    """Any JSON document readably: fields aligned, lists of objects as tables."""
    stream = out or sys.stdout
    if not isinstance(doc, Mapping):
        if is_records(doc):
            print_table(list(doc[0]), [list(r.values()) for r in doc], stream)
        else:
            print(indent + cell(doc), file=stream)
        return
    scalars = [(k, v) for k, v in doc.items() if not isinstance(v, Mapping) and not is_records(v)]
    if scalars:
        width = max(len(k) for k, _ in scalars)
        for name, value in scalars:
            print(f"{indent}{name + ':':<{width + 1}} {cell(value)}", file=stream)
    for name, value in doc.items():
        if isinstance(value, Mapping):
            print(f"{indent}{name}:", file=stream)
            print_document(value, stream, indent + "  ")
        elif is_records(value):
            print(f"{indent}{name}:", file=stream)
            headers = list(dict.fromkeys(k for row in value for k in row))
            rows = [[row.get(h) for h in headers] for row in value]
            print_table(headers, rows, stream)


def is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)

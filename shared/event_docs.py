"""`docs/events.md`, generated from the event models (`shared/events.py`) and the event catalog
(`shared/event_catalog.py`): every topic with its producer and consumers, the envelope, and
each event type field by field. The file is checked in and a unit test fails when it is stale.

    python -m shared.event_docs            # print it
    python -m shared.event_docs --write    # rewrite docs/events.md (`make docs`)
    python -m shared.event_docs --check    # exit 1 when docs/events.md is not current
"""

from __future__ import annotations

import argparse
import inspect
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shared.event_catalog import CATALOG, EventFlow
from shared.events import EVENT_TYPES, Envelope, Payload
from shared.topics import dead_letter_topic, retry_topic

DOCS = Path(__file__).resolve().parent.parent / "docs" / "events.md"
REGENERATE = "make docs"

HEADER = f"""\
# Events

<!-- Generated from shared/events.py and shared/event_catalog.py by
     `python -m shared.event_docs --write` ({REGENERATE}). Do not edit by hand:
     tests/unit/test_event_docs.py fails when this file is not current. -->

The services talk only through these Kafka topics. Every message is one JSON
[CloudEvents 1.0](https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md) envelope
in structured mode (below), whose `data` is the event. An event type carries its version
(`attesta.certificate.issued.v1`); a breaking change is a new type, read alongside the old one
until every producer has moved. Events are written to the producer's outbox in the transaction
that caused them and published after it commits: delivery is at least once, in order per key,
and every consumer is idempotent on the envelope's `id`. Each service also serves these topics,
with JSON schemas, as its AsyncAPI document at `/asyncapi`.
"""

FAILURES = f"""\
## Retries and dead letters

A consumer that fails on an event for an unexpected reason puts it on its own retry topic,
`<topic>.retry.<service>` (for example `{retry_topic("certificate.issued", "notification")}`),
with the headers `attesta_retries`, `attesta_retry_at` and `attesta_retry_error`, and reads it
again when it is due. A message that can never be processed (not JSON, the wrong shape, an event
that cannot be acted on), or that failed on every retry, goes to `<topic>.dlq` (for example
`{dead_letter_topic("certificate.issued")}`) with its key and body unchanged and the headers
`dlq_original_topic`, `dlq_received_topic`, `dlq_original_partition`, `dlq_original_offset`,
`dlq_service`, `dlq_error_type`, `dlq_error`, `dlq_stack`, `dlq_attempts` and `dlq_failed_at`.
`attesta dlq list|show|replay` reads them and sends them back.
"""


def render() -> str:
    """The whole of docs/events.md."""
    flows = {event: flow for flow in CATALOG for event in flow.events}
    parts = [HEADER, _topics(), _envelope()]
    parts.append("## Event types\n")
    parts.extend(_event(payload, flows[payload]) for payload in EVENT_TYPES.values())
    parts.append("## Types used in events\n")
    parts.extend(_model(model, level=3) for model in _nested_models())
    parts.append(FAILURES)
    return "\n".join(parts)


def _topics() -> str:
    rows = [
        "## Topics\n",
        "| topic | event types | producer | consumers | key | what it means |",
        "|---|---|---|---|---|---|",
    ]
    for flow in CATALOG:
        events = "<br>".join(f"[`{e.EVENT_TYPE}`](#{_anchor(e.__name__)})" for e in flow.events)
        rows.append(
            f"| `{flow.topic}` | {events} | {flow.producer} | {', '.join(flow.consumers)} "
            f"| {flow.key} | {flow.summary} |"
        )
    return "\n".join(rows) + "\n"


def _envelope() -> str:
    intro = _docstring(Envelope)
    table = _fields_table(Envelope)
    return f"## The envelope\n\n{intro}\n\n{table}\n\nThe Kafka key is the envelope's `subject`.\n"


def _event(payload: type[Payload], flow: EventFlow) -> str:
    readers = ", ".join(f"**{c}**" for c in flow.consumers)
    lines = [
        f"### {payload.__name__}",
        f"`{payload.EVENT_TYPE}` on `{flow.topic}` (key: the {flow.key}), produced by "
        f"**{flow.producer}**, consumed by {readers}.",
    ]
    if doc := _docstring(payload):
        lines.append(doc)
    lines.append(_fields_table(payload))
    return "\n\n".join(lines) + "\n"


def _model(model: type[BaseModel], *, level: int) -> str:
    lines = [f"{'#' * level} {model.__name__}"]
    if doc := _docstring(model):
        lines.append(doc)
    lines.append(_fields_table(model))
    return "\n\n".join(lines) + "\n"


def _docstring(model: type[BaseModel]) -> str:
    doc = model.__doc__
    if not doc or doc == BaseModel.__doc__ or "__doc__" not in vars(model):
        return ""
    return " ".join(inspect.cleandoc(doc).split())


def _fields_table(model: type[BaseModel]) -> str:
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(
            f"| `{name}` | {_type(field.annotation)} | {_required(field)} | {description} |"
        )
    return "\n".join(rows)


def _required(field: FieldInfo) -> str:
    if field.is_required():
        return "yes"
    if field.default_factory is not None:
        default: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "no"
    else:
        default = field.default
    return f"no (`{_literal(default)}`)"


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        return " \\| ".join(_type(arg) for arg in args)
    if origin is Literal:
        return " \\| ".join(f"`{_literal(arg)}`" for arg in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, TypeVar):
        return "the event (see [Event types](#event-types))"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{_anchor(annotation.__name__)})"
    names = {
        "str": "string",
        "int": "integer",
        "bool": "boolean",
        "date": "date (`YYYY-MM-DD`)",
        "datetime": "date-time (ISO 8601)",
    }
    name = getattr(annotation, "__name__", str(annotation))
    return names.get(name, name)


def _anchor(heading: str) -> str:
    return heading.lower()


def _nested_models() -> list[type[BaseModel]]:
    """Every model a payload refers to, in the order they first appear."""
    seen: dict[type[BaseModel], None] = {}

    def walk(annotation: Any) -> Iterator[type[BaseModel]]:
        for arg in get_args(annotation):
            yield from walk(arg)
        if (
            inspect.isclass(annotation)
            and issubclass(annotation, BaseModel)
            and not issubclass(annotation, Payload)
        ):
            yield annotation
            for field in annotation.model_fields.values():
                yield from walk(field.annotation)

    for payload in EVENT_TYPES.values():
        for field in payload.model_fields.values():
            for model in walk(field.annotation):
                seen.setdefault(model, None)
    return list(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.event_docs", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"rewrite {DOCS.name}")
    action.add_argument("--check", action="store_true", help=f"fail when {DOCS.name} is stale")
    parser.add_argument("--path", type=Path, default=DOCS, help="the file (docs/events.md)")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
        return 0
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is not current: run `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.path} is current")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

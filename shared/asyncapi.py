"""Each service's AsyncAPI document: what it reads, what it writes, and the schema of each.

FastStream documents subscribers by themselves (a handler's signature is the envelope of the
event it reads). What a service writes is invisible to it: events leave through the
transactional outbox with a raw `broker.publish`. So the publishers are declared here, from the
event catalog (`shared/event_catalog.py`): one per topic the service produces, with the envelope
of that topic's payloads as its schema, plus the retry and dead-letter topics its consumers
write to. The code never calls these publishers; they exist for the document.

Served without a key (like `/health` and `/metrics`: it is the public contract):
`GET /asyncapi` (an HTML page for a browser, the JSON document for any other client),
`GET /asyncapi.json` and `GET /asyncapi.yaml`. The page's interactive viewer is FastStream's,
loaded from a CDN; the page also lists every channel itself and links the JSON and YAML, so it
is useful offline.
"""

from __future__ import annotations

import functools
import html
import json
import operator
import weakref
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI, get_asyncapi_html

from shared.event_catalog import EventFlow, consumed_by, flow_of, produced_by
from shared.events import Envelope
from shared.topics import dead_letter_topic, original_topic, retry_topic

Document = dict[str, Any]

OUTBOX_NOTE = (
    "Written through the transactional outbox: published after the transaction that caused it "
    "commits, at least once and in order per key, so consumers are idempotent on the event id."
)
ABOUT = (
    "Every message is a CloudEvents 1.0 envelope in structured mode (JSON): `id`, `source`, "
    "`type` (versioned, e.g. `attesta.certificate.issued.v1`), `time`, `subject`, "
    "`datacontenttype`, `correlationid` and the event in `data`. A message that can never be "
    "processed goes to `<topic>.dlq`; one that failed for an unexpected reason to "
    "`<topic>.retry.<service>` first. Every event type is described in docs/events.md."
)

_declared: weakref.WeakSet[KafkaBroker] = weakref.WeakSet()


def envelope_schema(flow: EventFlow) -> Any:
    """The message schema of a topic: the envelope of its payload, or a union of envelopes."""
    envelopes = [Envelope[event] for event in flow.events]  # type: ignore[valid-type]
    return functools.reduce(operator.or_, envelopes)


def _types(flow: EventFlow) -> str:
    return ", ".join(f"`{event.EVENT_TYPE}`" for event in flow.events)


def declare_publishers(broker: KafkaBroker, service: str) -> None:
    """Declare what `service` publishes, so that its AsyncAPI document is complete. Call it
    after the subscribers are registered: a retry and a dead-letter publisher is declared for
    each topic they read. Declaring twice on one broker does nothing."""
    if broker in _declared:
        return
    _declared.add(broker)
    for flow in produced_by(service):
        readers = ", ".join(flow.consumers)
        broker.publisher(
            flow.topic,
            title=f"{flow.topic}:Outbox",
            description=f"{flow.summary}\n\nEvent types: {_types(flow)}. Key: the "
            f"{flow.key}. Read by: {readers}. {OUTBOX_NOTE}",
            schema=envelope_schema(flow),
        )
    read = sorted({original_topic(topic) for topic in subscribed_topics(broker)})
    for topic in read:
        flow = flow_of(topic)
        broker.publisher(
            retry_topic(topic, service),
            title=f"{retry_topic(topic, service)}:Retry",
            description=f"Events of `{topic}` that {service} failed to process for an "
            "unexpected reason, to be tried again after a delay (headers `attesta_retries`, "
            "`attesta_retry_at`, `attesta_retry_error`); read back by its own retry consumer.",
            schema=envelope_schema(flow),
        )
        broker.publisher(
            dead_letter_topic(topic),
            title=f"{dead_letter_topic(topic)}:DeadLetter",
            description=f"Messages of `{topic}` (or of its retry topic) that {service} can "
            "never process: not JSON, the wrong shape, or an event that cannot be acted on. "
            "The original key and body, unchanged (so of any shape), with the headers "
            "`dlq_original_topic`, `dlq_received_topic`, `dlq_original_partition`, "
            "`dlq_original_offset`, `dlq_service`, `dlq_error_type`, `dlq_error`, "
            "`dlq_stack`, `dlq_attempts` and `dlq_failed_at`. "
            "See them with `attesta dlq list|show`, send them back with `attesta dlq replay`.",
        )


def subscribed_topics(broker: KafkaBroker) -> list[str]:
    """Every topic the broker's subscribers read, retry topics included."""
    return sorted({name for sub in broker.subscribers for name in getattr(sub, "topic_names", ())})


def build_specification(
    broker: KafkaBroker, *, service: str, version: str, description: str
) -> Document:
    """The AsyncAPI 3.0 document of the service, as JSON-ready data."""
    declare_publishers(broker, service)
    reads = ", ".join(f"`{flow.topic}`" for flow in consumed_by(service)) or "nothing"
    writes = ", ".join(f"`{flow.topic}`" for flow in produced_by(service)) or "nothing"
    spec = AsyncAPI(
        broker,
        title=f"Attesta {service} events",
        version=version,
        description=f"{description}\n\nReads {reads}; writes {writes}.\n\n{ABOUT}",
    )
    document: Document = spec.to_specification().to_jsonable()
    return document


def to_yaml(value: Any) -> str:
    """YAML of JSON-ready data, without PyYAML (a development dependency only): block style,
    every string double-quoted in JSON's syntax, which YAML reads the same."""
    lines = _yaml_lines(value, 0)
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            head = f"{pad}{_yaml_scalar(str(key))}:"
            if isinstance(item, dict | list) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent + 2))
            else:
                lines.append(f"{head} {_yaml_scalar(item)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = _yaml_lines(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
        return lines
    return [f"{pad}{_yaml_scalar(value)}"]


def _resolve(document: Document, reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def channel_rows(document: Document) -> list[tuple[str, str, str]]:
    """(direction, topic, payload schema names) of each operation, sorted by topic."""
    rows = []
    for operation in document.get("operations", {}).values():
        channel = _resolve(document, operation["channel"]["$ref"])
        names = []
        for message_ref in channel.get("messages", {}).values():
            payload = _resolve(document, message_ref["$ref"]).get("payload", {})
            if "$ref" in payload:
                payload = _resolve(document, payload["$ref"])
            options = payload.get("anyOf") or payload.get("oneOf") or [payload]
            for option in options:
                if "$ref" in option:
                    option = _resolve(document, option["$ref"])
                names.append(option.get("title", "any bytes"))
        direction = "writes" if operation["action"] == "send" else "reads"
        rows.append((direction, channel["address"], ", ".join(names) or "any bytes"))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def render_html(document: Document) -> str:
    """FastStream's AsyncAPI viewer (its script comes from a CDN), preceded by links to the
    document and a plain list of the channels that need no script."""
    title = html.escape(document["info"]["title"])
    rows = "\n".join(
        f"<tr><td>{direction}</td><td><code>{html.escape(topic)}</code></td>"
        f"<td>{html.escape(payload)}</td></tr>"
        for direction, topic, payload in channel_rows(document)
    )
    summary = f"""
        <section style="margin: 1rem 2rem">
          <h1 style="font-size: 1.4rem">{title}</h1>
          <p>The AsyncAPI 3.0 document: <a href="asyncapi.json">asyncapi.json</a> ·
             <a href="asyncapi.yaml">asyncapi.yaml</a>. The viewer below loads its script from
             a CDN; without network access, open the document in any AsyncAPI tool.</p>
          <table style="border-collapse: collapse" cellpadding="4">
            <tr><th align="left">this service</th><th align="left">topic</th>
                <th align="left">message</th></tr>
            {rows}
          </table>
        </section>"""
    page = get_asyncapi_html(_Loaded(document), try_it_out_path=None)
    return page.replace("<body>", "<body>" + summary, 1)


class _Loaded:
    """The little of FastStream's `Specification` that `get_asyncapi_html` reads."""

    def __init__(self, document: Document) -> None:
        self._document = document

    @property
    def title(self) -> str:
        return str(self._document["info"]["title"])

    def to_json(self) -> str:
        return json.dumps(self._document)

    def to_jsonable(self) -> Any:
        return self._document

    def to_yaml(self) -> str:
        return to_yaml(self._document)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def install_asyncapi(
    app: FastAPI, broker: KafkaBroker, *, service: str, version: str, description: str
) -> None:
    """Serve the service's AsyncAPI document on `/asyncapi`, `/asyncapi.json` and
    `/asyncapi.yaml`. Call it once the subscribers are registered; the document is built at the
    first request and kept."""
    declare_publishers(broker, service)

    @functools.cache
    def document() -> Document:
        return build_specification(
            broker, service=service, version=version, description=description
        )

    @app.get(
        "/asyncapi",
        tags=["asyncapi"],
        summary="AsyncAPI document of this service's events (HTML for a browser, else JSON)",
        response_model=None,
    )
    async def asyncapi(request: Request) -> Response:
        headers = {"Vary": "Accept"}
        if _wants_html(request):
            return HTMLResponse(render_html(document()), headers=headers)
        return JSONResponse(document(), headers=headers)

    @app.get("/asyncapi.json", tags=["asyncapi"], summary="AsyncAPI document, JSON")
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(document())

    @app.get(
        "/asyncapi.yaml",
        tags=["asyncapi"],
        summary="AsyncAPI document, YAML",
        response_class=Response,
    )
    async def asyncapi_yaml() -> Response:
        return Response(to_yaml(document()), media_type="application/yaml")

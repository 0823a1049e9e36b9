"""What a log line carries (service, correlation id, trace ids) and what it must not (an email
address), and how a correlation id is accepted, bound and answered."""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared import correlation, tracing
from shared.events import new_event
from shared.logging import ContextFilter, JsonFormatter, ReadableFormatter, mask_emails
from tests.unit.samples import issued


def record(message: str, *args: object) -> logging.LogRecord:
    entry = logging.LogRecord("attesta.test", logging.WARNING, __file__, 1, message, args, None)
    ContextFilter("notification").filter(entry)
    return entry


def test_a_mail_server_reply_quoting_an_address_is_logged_without_it() -> None:
    line = JsonFormatter().format(
        record("delivery %s: %s", "certificate:1", "550 5.1.1 <ivan.petrov@obshtina.bg>: no")
    )
    entry = json.loads(line)
    assert entry["message"] == "delivery certificate:1: 550 5.1.1 <<email>>: no"
    assert "ivan.petrov" not in line


def test_addresses_with_plus_and_subdomains_are_masked_and_ids_are_not() -> None:
    text = "to a.b+c@mail.sofia.bg, enrolment 6563a1f0c2, certificate FRMS-2026-000001"
    assert mask_emails(text) == ("to <email>, enrolment 6563a1f0c2, certificate FRMS-2026-000001")


def test_a_line_written_while_handling_a_request_carries_its_correlation_id() -> None:
    with correlation.bound("req-42"):
        entry = json.loads(JsonFormatter().format(record("handled")))
    assert entry["service"] == "notification"
    assert entry["correlation_id"] == "req-42"
    assert "trace_id" not in entry  # nothing is traced here


def test_a_line_written_inside_a_span_names_its_trace() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        entry = json.loads(JsonFormatter().format(record("inside")))
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")


def test_readable_lines_show_the_correlation_id_after_the_message() -> None:
    with correlation.bound("0123456789abcdef"):
        line = ReadableFormatter("registration").format(record("started"))
    assert line.endswith("started [0123456789ab]")


def test_only_short_plain_correlation_ids_are_taken_from_callers() -> None:
    assert correlation.acceptable(" batch-2026-11:row7 ") == "batch-2026-11:row7"
    assert correlation.acceptable("two words") is None
    assert correlation.acceptable("line\nbreak") is None
    assert correlation.acceptable("x" * 129) is None
    assert correlation.acceptable(None) is None


def test_an_event_written_under_a_correlation_id_carries_it_and_one_outside_gets_none() -> None:
    data = issued()
    with correlation.bound("upload-7"):
        inside = new_event(data, source="attesta/registration", subject="e1")
    outside = new_event(data, source="attesta/registration", subject="e1")
    assert inside.correlationid == "upload-7"
    assert outside.correlationid is None


def test_a_stored_trace_context_is_continued_by_later_work() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as request:
        stored = tracing.carrier()
    assert stored["traceparent"].split("-")[1] == format(
        request.get_span_context().trace_id, "032x"
    )
    with tracing.continued(stored), tracer.start_as_current_span("later") as later:
        assert later.parent is not None
        assert later.parent.span_id == request.get_span_context().span_id
    assert tracing.carrier() == {}  # outside any span nothing is stored


async def test_a_request_keeps_the_caller_s_correlation_id_or_gets_a_new_one() -> None:
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/")
    async def root() -> dict[str, str]:
        seen.append(correlation.current())
        return {}

    app.add_middleware(correlation.CorrelationMiddleware)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        given = await client.get("/", headers={"X-Correlation-ID": "partner-upload-1"})
        made = await client.get("/")
        refused = await client.get("/", headers={"X-Correlation-ID": "no spaces please"})
    assert given.headers["X-Correlation-ID"] == "partner-upload-1" == seen[0]
    assert made.headers["X-Correlation-ID"] == seen[1] and len(seen[1] or "") == 32
    assert refused.headers["X-Correlation-ID"] == seen[2] != "no spaces please"

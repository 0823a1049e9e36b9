"""OpenTelemetry tracing, off unless `ATTESTA_OTLP_ENDPOINT` names a collector.

One trace follows a trainee from the partner's HTTP request through every Kafka hop to the
SMTP send. Kafka hops carry the W3C `traceparent` in message headers (FastStream's telemetry
middleware). Two hops are not a direct call: an event waits in the transactional outbox, and
an email waits in notification's delivery queue; both store the context they were written in
(`carrier()`) and the code that later publishes or sends goes on from it (`continued()`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import FastAPI
from opentelemetry import context, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

# Probes and scrapes every few seconds would bury the traces worth reading.
UNTRACED_URLS = "health/.*,metrics,asyncapi.*,docs,openapi.json"


def tracer_provider(
    service: str, endpoint: str | None, *, sample_ratio: float = 1.0
) -> TracerProvider | None:
    """The process's tracer provider exporting to `endpoint` (OTLP over HTTP), or None when
    tracing is off. Installed globally: one process is one service, and the outbox relay and
    the mail senders find it there."""
    if not endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"attesta-{service}", "service.namespace": "attesta"}
        ),
        # A trace started upstream is kept or dropped as a whole.
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
    )
    trace.set_tracer_provider(provider)
    return provider


def instrument_http(app: FastAPI, provider: TracerProvider) -> None:
    # One span per request: the ASGI layer's spans for each chunk sent say nothing to ops.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )


def carrier() -> dict[str, str]:
    """The current trace context as headers (empty when nothing is being traced), to store
    with work that another task picks up later."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextmanager
def continued(headers: Mapping[str, str] | None) -> Iterator[None]:
    """Spans started inside belong to the trace `headers` (from `carrier()`) came from."""
    if not headers:
        yield
        return
    token = context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        context.detach(token)

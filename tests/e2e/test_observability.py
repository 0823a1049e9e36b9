"""What ops see of a trainee's path: one trace across every hop, one correlation id on every
log line and event, metrics that move, and logs that name nobody."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.devstack.trace_sink import read_spans
from tests.conftest import Services, eventually
from tests.e2e.conftest import Training

SERVER, PRODUCER, CONSUMER, CLIENT = 2, 4, 5, 3  # OTLP SpanKind values


async def notified(training: Training, enrolment_id: str) -> None:
    async def done() -> bool:
        return str((await training.partner.enrolment(enrolment_id))["status"]) == "notified"

    await eventually(done, what="the enrolment to reach 'notified'")


async def complete_with_correlation_id(
    training: Training, ref: str, name: str, correlation_id: str
) -> str:
    enrolment_id = await training.partner.enrol(
        training.course["id"], ref, name, training.address(ref)
    )
    response = await training.partner.call(
        "registration",
        "POST",
        f"/v1/enrolments/{enrolment_id}/complete",
        headers={"X-Correlation-ID": correlation_id},
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Correlation-ID"] == correlation_id
    return enrolment_id


async def test_a_trainee_s_path_is_one_trace_from_the_request_to_the_smtp_send(
    training: Training, services: Services
) -> None:
    enrolment_id = await complete_with_correlation_id(
        training, "traced", "Радка Трасирова", f"trace-{training.tag}"
    )
    await notified(training, enrolment_id)
    number = (await training.partner.enrolment(enrolment_id))["certificate_number"]
    spans_file = training.stack.spans_file

    def smtp_span() -> dict[str, Any] | None:
        for span in read_spans(spans_file):
            attributes = span["attributes"]
            if (
                attributes.get("attesta.delivery.id") == f"certificate:{number}"
                and attributes.get("attesta.email.outcome") == "sent"
            ):
                return span
        return None

    send = await eventually(smtp_span, what="the successful SMTP send's span in the trace sink")
    assert send["kind"] == CLIENT

    expected = [
        ("attesta-registration", SERVER, "POST /v1/enrolments/{enrolment_id}/complete"),
        ("attesta-registration", PRODUCER, "enrolment.completed publish"),
        ("attesta-certification", CONSUMER, "enrolment.completed process"),
        ("attesta-certification", PRODUCER, "certificate.issued publish"),
        ("attesta-notification", CONSUMER, "certificate.issued process"),
        ("attesta-notification", CLIENT, "smtp send"),
        ("attesta-notification", PRODUCER, "notification.sent publish"),
        ("attesta-registration", CONSUMER, "notification.sent process"),
    ]

    def whole_trace() -> list[dict[str, Any]] | None:
        # Each service exports its spans in its own batches: wait for every hop, not the last.
        spans = [s for s in read_spans(spans_file) if s["trace_id"] == send["trace_id"]]
        hops = {(s["service"], s["kind"], s["name"]) for s in spans}
        return spans if all(hop in hops for hop in expected) else None

    spans = await eventually(whole_trace, timeout=30, what=f"every hop of the trace: {expected}")
    # Every span but the request's has its parent in the same trace: no hop started afresh.
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if s["parent_span_id"] not in ids]
    assert [(r["service"], r["kind"]) for r in roots] == [("attesta-registration", SERVER)]


async def test_one_correlation_id_follows_the_trainee_through_events_and_logs(
    training: Training, services: Services
) -> None:
    correlation_id = f"corr-{training.tag}"
    enrolment_id = await complete_with_correlation_id(
        training, "correlated", "Корнелия Корелова", correlation_id
    )
    await notified(training, enrolment_id)

    def lines_by_service() -> dict[str, list[dict[str, Any]]] | None:
        found: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for path in services.log_dir.glob("*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if correlation_id in line:
                    found[json.loads(line)["service"]].append(json.loads(line))
        # The sender logs each delivery it settles; the other two log the request and events
        # only at debug level, so their lines are looked for in the events instead.
        return found if "notification" in found else None

    lines = await eventually(lines_by_service, what="a notification log line with the id")
    delivery = [entry for entry in lines["notification"] if "delivery" in entry["message"]]
    assert delivery and all(entry["correlation_id"] == correlation_id for entry in delivery)

    deliveries = await training.admin.ok(
        "notification", "GET", f"/v1/deliveries?enrolment_id={enrolment_id}"
    )
    assert deliveries and deliveries[0]["status"] == "sent"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and wanted <= ls)


async def scrape(
    services: Services,
) -> dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    async with httpx.AsyncClient(timeout=10) as http:
        return {
            name: samples((await http.get(f"{url}/metrics")).text)
            for name, url in services.urls.items()
        }


async def test_metrics_move_with_the_traffic_they_count(
    training: Training, services: Services
) -> None:
    before = await scrape(services)
    refs = [f"m{i}" for i in range(3)]
    ids = [await training.complete(ref, f"Метрика {ref}") for ref in refs]
    for enrolment_id in ids:
        await notified(training, enrolment_id)

    async def refreshed() -> dict[str, Any] | None:
        after = await scrape(services)
        lag = total(after["certification"], "attesta_consumer_lag_messages")
        # The background round measures lag every second; with everything processed it is 0
        # and present for every group.
        groups = {
            dict(labels)["group"]
            for (name, labels) in after["certification"]
            if name == "attesta_consumer_lag_messages"
        }
        drained = all(
            total(metrics, "attesta_outbox_pending_events", service=service) == 0
            for service, metrics in after.items()
        )
        return (
            after
            if drained and lag == 0 and "certification.enrolment.completed" in groups
            else None
        )

    after = await eventually(refreshed, what="empty outboxes and no lag in the gauges")

    def grew(service: str, name: str, by: float, **labels: str) -> None:
        was, now = total(before[service], name, **labels), total(after[service], name, **labels)
        assert now - was >= by, f"{service} {name}{labels}: {was} -> {now}"

    route = "/v1/enrolments/{enrolment_id}/complete"
    grew("registration", "attesta_http_requests_total", 3, route=route, status="200")
    grew("registration", "attesta_http_request_duration_seconds_count", 3, route=route)
    grew("registration", "attesta_outbox_published_events_total", 3, topic="enrolment.completed")
    grew(
        "certification",
        "attesta_received_processed_messages_total",
        3,
        handler="enrolment.completed",
        status="acked",
    )
    grew("certification", "attesta_certificates_issued_total", 3, language="bg")
    grew("certification", "attesta_outbox_published_events_total", 3, topic="certificate.issued")
    grew("notification", "attesta_email_attempts_total", 3, outcome="sent")
    grew("notification", "attesta_email_send_seconds_count", 3)
    for service, metrics in after.items():
        assert ("attesta_outbox_oldest_pending_age_seconds", frozenset({("service", service)})) in (
            metrics
        )
        assert any(name == "attesta_dlq_messages" for name, _ in metrics), service


async def test_no_log_line_names_a_trainee_or_their_address(
    training: Training, services: Services
) -> None:
    # A refused address: the mail server's refusal quotes it, and the sender logs the refusal.
    name = f"Неназована Анонимова {uuid.uuid4().hex[:6]}"
    refused = f"bounce.anon.{training.tag}@example.bg"
    kept = f"anon.{training.tag}@example.bg"
    refused_id = await training.partner.enrol(training.course["id"], "anon-b", name, refused)
    kept_id = await training.partner.enrol(training.course["id"], "anon-k", name + " II", kept)
    for enrolment_id in (refused_id, kept_id):
        await training.partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")

    async def settled() -> bool:
        deliveries = [
            d
            for i in (refused_id, kept_id)
            for d in await training.admin.ok(
                "notification", "GET", f"/v1/deliveries?enrolment_id={i}"
            )
        ]
        return sorted(d["status"] for d in deliveries) == ["failed", "sent"]

    await eventually(settled, what="one email refused and one sent")
    logs = {p.name: p.read_text(errors="replace") for p in services.log_dir.glob("*.log")}
    assert any("550" in text and "<email>" in text for text in logs.values()), (
        "the refusal is logged, its address masked"
    )
    for file, text in logs.items():
        # Every line our logging writes is one JSON object naming its service (the
        # interpreter's own warnings at exit, on stderr too, are not ours to shape).
        for line in text.splitlines():
            if line.startswith("{"):
                assert json.loads(line)["service"], f"{file}: {line[:200]}"
        for secret in (refused, kept, "Неназована", "Анонимова", refused.split("@")[0]):
            assert secret not in text, f"{file} names the trainee: {secret}"


async def test_every_metric_the_alerts_and_dashboard_may_use_is_exposed(
    services: Services,
) -> None:
    listed = {}
    for line in (Path(__file__).parents[2] / "deploy" / "metrics.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind = line.split()[:2]
            # The exposition format names a counter's family without its `_total`.
            listed[name.removesuffix("_total") if kind == "counter" else name] = kind
    exposed: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for url in services.urls.values():
            text = (await http.get(f"{url}/metrics")).text
            exposed |= {f.name: f.type for f in text_string_to_metric_families(text)}
    listed.pop("up")  # Prometheus' own, not the services'
    missing = {name: kind for name, kind in listed.items() if exposed.get(name) != kind}
    assert not missing, f"listed in deploy/metrics.txt but not exposed as such: {missing}"

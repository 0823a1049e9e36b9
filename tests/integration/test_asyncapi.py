"""Each service's AsyncAPI document names what it reads and what it writes, with the envelope of
each event as the schema. The document needs no broker or database: the apps are built as
`python -m services.<name>` builds them and asked over ASGI before they have started, which
also shows that the routes are outside the starting gate's 503 and need no key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import yaml
from fastapi import FastAPI

from services.certification.app import create_app as certification_app
from services.notification.app import create_app as notification_app
from services.registration.app import create_app as registration_app
from shared.asyncapi import subscribed_topics
from shared.event_catalog import SERVICES, EventFlow, consumed_by, produced_by
from shared.topics import dead_letter_topic, original_topic, retry_topic

Document = dict[str, Any]
FACTORIES: dict[str, Callable[[], FastAPI]] = {
    "registration": registration_app,
    "certification": certification_app,
    "notification": notification_app,
}


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {name: factory() for name, factory in FACTORIES.items()}


@pytest.fixture
async def documents(apps: dict[str, FastAPI]) -> AsyncIterator[dict[str, Document]]:
    found = {}
    for name, app in apps.items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/asyncapi.json")
            assert response.status_code == 200, (name, response.text)
            found[name] = response.json()
    yield found


def resolve(document: Document, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[unquote(part).replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations(document: Document, action: str, address: str) -> list[Document]:
    """The payload schemas of the `action` ("send" or "receive") operations on `address`."""
    payloads = []
    for operation in document["operations"].values():
        channel = resolve(document, operation["channel"])
        if operation["action"] != action or channel["address"] != address:
            continue
        for message in channel["messages"].values():
            payloads.append(resolve(document, resolve(document, message)["payload"]))
    return payloads


def envelope_payloads(document: Document, schema: Document) -> dict[str, Document]:
    """{event title: its data schema} of an envelope, or of a union of envelopes."""
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    found = {}
    for option in options:
        envelope = resolve(document, option)
        assert {"id", "source", "type", "time", "subject", "data"} <= set(envelope["properties"]), (
            envelope
        )
        data = resolve(document, envelope["properties"]["data"])
        found[data["title"]] = data
    return found


def assert_carries(document: Document, action: str, flow: EventFlow) -> None:
    schemas = operations(document, action, flow.topic)
    assert len(schemas) == 1, f"{action} {flow.topic}: {len(schemas)} operations"
    data = envelope_payloads(document, schemas[0])
    assert sorted(data) == sorted(event.__name__ for event in flow.events)
    for event in flow.events:
        properties = set(data[event.__name__]["properties"])
        assert properties == set(event.model_fields), (flow.topic, event.__name__)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_document_lists_every_topic_read_and_written_with_its_event(
    documents: dict[str, Document], service: str
) -> None:
    document = documents[service]
    assert document["asyncapi"].startswith("3.")
    assert document["info"]["title"] == f"Attesta {service} events"
    for flow in produced_by(service):
        assert_carries(document, "send", flow)
    for flow in consumed_by(service):
        assert_carries(document, "receive", flow)
        retry = retry_topic(flow.topic, service)
        assert_carries(document, "receive", EventFlow(retry, flow.events, "", (), ""))
        assert_carries(document, "send", EventFlow(retry, flow.events, "", (), ""))
        assert len(operations(document, "send", dead_letter_topic(flow.topic))) == 1
    # Nothing but those: every operation's topic is one of the service's.
    addresses = {
        resolve(document, op["channel"])["address"] for op in document["operations"].values()
    }
    expected = {flow.topic for flow in (*produced_by(service), *consumed_by(service))}
    expected |= {retry_topic(flow.topic, service) for flow in consumed_by(service)}
    expected |= {dead_letter_topic(flow.topic) for flow in consumed_by(service)}
    assert addresses == expected
    # Schema names an AsyncAPI tool accepts as component keys.
    for key in document["components"]["schemas"]:
        assert "[" not in key and "]" not in key, key


async def test_certification_writes_certificates_with_their_number_and_pdf(
    documents: dict[str, Document],
) -> None:
    document = documents["certification"]
    [schema] = operations(document, "send", "certificate.issued")
    data = envelope_payloads(document, schema)["CertificateIssuedV1"]
    assert {"certificate_number", "verification_url", "pdf_base64", "holder"} <= set(
        data["required"]
    )
    [schema] = operations(document, "receive", "enrolment.completed")
    assert "completed_on" in envelope_payloads(document, schema)["EnrolmentCompletedV1"]["required"]
    [schema] = operations(document, "receive", "partner.keys")
    assert sorted(envelope_payloads(document, schema)) == [
        "PartnerKeyIssuedV1",
        "PartnerKeyRevokedV1",
    ]
    channel_descriptions = " ".join(c.get("description", "") for c in document["channels"].values())
    assert "Read by: registration, notification" in channel_descriptions


async def test_the_catalog_names_each_service_s_subscribers(apps: dict[str, FastAPI]) -> None:
    for service, app in apps.items():
        read = {
            topic
            for topic in subscribed_topics(app.state.core.broker)
            if original_topic(topic) == topic
        }
        assert read == {flow.topic for flow in consumed_by(service)}, service


async def test_asyncapi_is_served_as_html_json_and_yaml_without_a_key_while_starting(
    apps: dict[str, FastAPI],
) -> None:
    app = apps["notification"]
    assert not app.state.core.started
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/v1/deliveries")).status_code == 503, "the gate is closed"
        as_json = (await http.get("/asyncapi.json")).json()
        page = await http.get("/asyncapi", headers={"accept": "text/html,*/*;q=0.8"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'href="asyncapi.json"' in page.text and 'href="asyncapi.yaml"' in page.text
        assert "<code>certificate.issued</code>" in page.text
        assert "<code>notification.sent</code>" in page.text
        plain = await http.get("/asyncapi")
        assert plain.headers["content-type"] == "application/json"
        assert plain.json() == as_json
        as_yaml = await http.get("/asyncapi.yaml")
        assert as_yaml.status_code == 200
        assert as_yaml.headers["content-type"].startswith("application/yaml")
        assert yaml.safe_load(as_yaml.text) == as_json

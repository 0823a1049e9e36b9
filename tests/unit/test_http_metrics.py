"""Request metrics are labelled by route template and status, never by raw path."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.observability import install_http_metrics


def app_with_metrics(registry: CollectorRegistry) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    install_http_metrics(app, registry)
    return app


async def test_requests_are_counted_by_route_template_and_status() -> None:
    registry = CollectorRegistry()
    transport = httpx.ASGITransport(app=app_with_metrics(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for item_id in ("a", "b", "c"):
            assert (await client.get(f"/v1/items/{item_id}")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404

    def count(route: str, status: str) -> float | None:
        labels = {"method": "GET", "route": route, "status": status}
        return registry.get_sample_value("attesta_http_requests_total", labels)

    assert count("/v1/items/{item_id}", "200") == 3
    assert count("unmatched", "404") == 1
    timed = registry.get_sample_value(
        "attesta_http_request_duration_seconds_count",
        {"method": "GET", "route": "/v1/items/{item_id}"},
    )
    assert timed == 3

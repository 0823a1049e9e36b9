"""Health, readiness and Prometheus metrics routes, the same on every service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ReadinessCheck = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_SECONDS = 1.5


def health_router(checks: dict[str, ReadinessCheck], registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    async def answer(check: ReadinessCheck) -> bool:
        # A dependency that is down makes its client wait for seconds; a probe must not.
        try:
            return await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return False

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        answers = await asyncio.gather(*(answer(check) for check in checks.values()))
        results = dict(zip(checks, answers, strict=True))
        ok = all(results.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": results},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


class HttpMetrics:
    """Counts requests and times them by route template (pure ASGI: a `BaseHTTPMiddleware`
    runs every request in a task group of its own, which costs more than the request's work)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "attesta_http_requests_total",
            "HTTP requests.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "attesta_http_request_duration_seconds",
            "HTTP request latency.",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            # The route template, not the raw path, so ids do not explode the label set; the
            # router records the matched route in the scope it was given.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            method = scope["method"]
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(time.perf_counter() - started)


def install_http_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    app.add_middleware(HttpMetrics, registry=registry)

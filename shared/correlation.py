"""The correlation id: one id for everything that one request set going, across services.

A request's id comes from its `X-Correlation-ID` header (a caller that has one keeps it) or is
made up; every event written while handling it carries it (`correlationid`, a CloudEvents
extension), and a consumer handling such an event adopts it, so the log lines and events of a
trainee's whole path share one id even with tracing off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Correlation-ID"
KAFKA_HEADER = "correlation_id"  # on every event the outbox relay publishes
_current: ContextVar[str | None] = ContextVar("attesta_correlation_id", default=None)
# What a caller may hand us: short, and nothing that could forge a log line or a header.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current() -> str | None:
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def acceptable(value: str | None) -> str | None:
    """`value` when a caller may set the id to it, else None."""
    if value is None:
        return None
    value = value.strip()
    return value if _ACCEPTABLE.fullmatch(value) else None


@contextmanager
def bound(correlation_id: str | None) -> Iterator[str]:
    """Everything inside (log lines, events written) carries `correlation_id`, or a new one."""
    value = correlation_id or new_id()
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


class CorrelationMiddleware:
    """Binds each HTTP request to its correlation id and answers it in `X-Correlation-ID`
    (pure ASGI, like the metrics middleware, so it costs no task of its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name.decode("latin-1").lower() == HEADER.lower():
                given = acceptable(value.decode("latin-1"))
                break

        with bound(given) as correlation_id:

            async def answering_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[HEADER] = correlation_id
                await send(message)

            await self.app(scope, receive, answering_send)

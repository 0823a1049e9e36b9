"""How the monitor asks the other services for their outbox backlog: with the admin key, and a
service that is down, slow or answers an error is shown as such instead of failing the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from services.registration.ops_monitor.monitor import OUTBOX_TIMEOUT_SECONDS, remote_outbox

KEY = "the-admin-key"


def client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_the_backlog_is_read_with_the_admin_key() -> None:
    seen: list[httpx.Request] = []
    oldest = datetime.now(UTC) - timedelta(seconds=30)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "service": "certification",
                "pending": 4,
                "oldest_pending_at": oldest.isoformat(),
                "published_kept": 9,
            },
        )

    async with client(httpx.MockTransport(answer)) as http:
        backlog = await remote_outbox(http, "certification", "http://cert:8002/", KEY)
    assert [str(r.url) for r in seen] == ["http://cert:8002/v1/ops/outbox"]
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert (backlog.reachable, backlog.pending, backlog.published_kept) == (True, 4, 9)
    assert backlog.oldest_pending_seconds is not None
    assert 29 <= backlog.oldest_pending_seconds < 60


async def test_a_service_that_refuses_the_connection_is_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client(httpx.MockTransport(refuse)) as http:
        backlog = await remote_outbox(http, "notification", "http://n:8003", KEY)
    assert (backlog.reachable, backlog.pending) == (False, None)
    assert backlog.problem == "unreachable (ConnectError)"


async def test_a_service_that_does_not_answer_in_time_says_so() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client(httpx.MockTransport(hang)) as http:
        backlog = await remote_outbox(http, "notification", "http://n:8003", KEY)
    assert not backlog.reachable
    assert backlog.problem == f"no answer within {OUTBOX_TIMEOUT_SECONDS:g} s"


async def test_an_error_or_a_strange_answer_is_not_a_backlog_of_zero() -> None:
    answers = iter([httpx.Response(503, json={}), httpx.Response(200, json={"pending": "x"})])
    async with client(httpx.MockTransport(lambda _: next(answers))) as http:
        starting = await remote_outbox(http, "notification", "http://n:8003", KEY)
        strange = await remote_outbox(http, "notification", "http://n:8003", KEY)
    assert (starting.reachable, starting.problem) == (False, "answered HTTP 503")
    assert (strange.reachable, strange.pending) == (False, None)

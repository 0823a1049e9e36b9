"""The registration API over HTTP: Bearer key, JSON, pagination, and problem+json turned into
messages a person can act on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from typing import Any
from urllib.parse import quote

import httpx

from cli.config import Key
from cli.errors import API_ERROR, UNREACHABLE, CliError

PAGE_SIZE = 100
RUN_HINT = "is `make run` running? (or pass --url / set ATTESTA_REGISTRATION_URL)"


def user_agent() -> str:
    try:
        return f"attesta-cli/{metadata.version('attesta')}"
    except metadata.PackageNotFoundError:
        return "attesta-cli"


def error_from_response(response: httpx.Response, key: Key | None) -> CliError:
    """RFC 9457 problem details (or whatever the server sent) as a CliError."""
    body: Any = None
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
    status = response.status_code
    if isinstance(body, dict) and body.get("detail"):
        message = f"{body['detail']} (HTTP {status})"
        errors = body.get("errors") or []
        details = [
            f"{e.get('field', '?')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
        ]
    else:
        text = response.text.strip()[:500] or response.reason_phrase
        message = f"HTTP {status} from {response.request.url}: {text}"
        details = []
    if status == 401 and key is not None:
        details.append(f"the key came from {key.source}")
    return CliError(message, exit_code=API_ERROR, details=details)


class Client:
    def __init__(
        self,
        base_url: str,
        key: Key | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        label: str = "the registration API",
    ) -> None:
        self.base_url = base_url
        self.label = label
        self.key = key
        headers = {"Accept": "application/json", "User-Agent": user_agent()}
        if key is not None:
            headers["Authorization"] = f"Bearer {key.value}"
        self._http = httpx.Client(
            base_url=base_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | None] | None = None,
        json: Any = None,
        content: Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = self._http.request(
                method,
                path,
                params=query,
                json=json,
                content=content,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.ConnectError as error:
            raise CliError(
                f"cannot reach {self.label} at {self.base_url} ({reason(error)})",
                exit_code=UNREACHABLE,
                details=[RUN_HINT],
            ) from None
        except httpx.TimeoutException:
            raise CliError(
                f"{self.label} at {self.base_url} did not answer in time",
                exit_code=UNREACHABLE,
            ) from None
        except httpx.TransportError as error:
            raise CliError(
                f"talking to {self.base_url} failed: {reason(error)}", exit_code=UNREACHABLE
            ) from None
        if response.is_error:
            raise error_from_response(response, self.key)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"{method} {path} answered {response.status_code} with a body that is not JSON"
            ) from None

    def pages(self, path: str, params: Mapping[str, str | None] | None = None) -> Iterator[Any]:
        """Every item of a cursor-paginated listing, following `next_cursor` to the end."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self.json(
                "GET", path, params={**(params or {}), "cursor": cursor, "limit": PAGE_SIZE}
            )
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return
            # A server bug that hands back a cursor twice must not loop the CLI for ever.
            if cursor in seen:
                raise CliError(f"GET {path} returned cursor {cursor!r} twice; stopping")
            seen.add(cursor)


def reason(error: httpx.TransportError) -> str:
    text = str(error)
    if "refused" in text.lower() or "Errno 111" in text:
        return "connection refused"
    return text or type(error).__name__


def segment(value: str) -> str:
    """An id as one path segment: a stray '/' or '?' must not reach another route."""
    return quote(value, safe="")

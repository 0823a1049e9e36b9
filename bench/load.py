"""Closed-loop HTTP load: N workers, each sending its next request as soon as the last one is
answered, every request's latency recorded."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import math
import ssl
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

Body = dict[str, Any]

if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    # httpcore runs `import sniffio` for every lock it sets up, several times a request, and a
    # missing module is searched for on disk every time (~1.4 ms of CPU a request here, taken
    # from the servers sharing the machine). None in sys.modules fails that import at once,
    # which httpcore already handles: it then assumes asyncio, which is what runs here.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    first_failure: str | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        """Successful requests per second of wall time."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful requests' latency, in seconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    def absorb(self, other: LoadResult) -> None:
        """Add another run's requests and time to this one's (rounds of the same target)."""
        self.seconds += other.seconds
        self.latencies.extend(other.latencies)
        self.failures.update(other.failures)
        self.first_failure = self.first_failure or other.first_failure

    def fail(self, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        if self.first_failure is None:
            self.first_failure = f"{kind}: {detail[:300]}"


async def _worker(
    client: httpx.AsyncClient,
    url: str,
    make_body: Callable[[int], Body],
    numbers: Iterator[int],
    expect: int,
    result: LoadResult,
) -> None:
    # One event loop: taking the next number from the shared iterator needs no lock.
    for number in numbers:
        body = make_body(number)
        started = time.perf_counter()
        try:
            response = await client.post(url, json=body)
        except httpx.HTTPError as error:
            result.fail(type(error).__name__, str(error))
            continue
        elapsed = time.perf_counter() - started
        if response.status_code == expect:
            result.latencies.append(elapsed)
        else:
            result.fail(f"HTTP {response.status_code}", response.text)


async def _run(
    clients: list[httpx.AsyncClient],
    url: str,
    make_body: Callable[[int], Body],
    numbers: range,
    expect: int,
) -> LoadResult:
    result = LoadResult()
    shared = iter(numbers)
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for client in clients:
            group.create_task(_worker(client, url, make_body, shared, expect, result))
    result.seconds = time.perf_counter() - started
    return result


async def post_load(
    url: str,
    make_body: Callable[[int], Body],
    numbers: range,
    *,
    concurrency: int,
    warmup: int,
    expect: int = 201,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """POST `make_body(i)` for each i in `numbers` to `url` from `concurrency` workers, after
    `warmup` untimed requests (the numbers just before `numbers`: the caller keeps them
    unused) that open the connections and warm both ends. Any status but `expect` is a
    failure: a repeated body answered 200 instead of 201 would measure the wrong thing."""
    # Loading the CA bundle costs ~0.1 s of CPU per client: load it once for all of them.
    tls = ssl.create_default_context()
    async with contextlib.AsyncExitStack() as stack:
        # A client per worker, each with one connection: one shared pool of N connections
        # costs the load generator O(N) work per request (httpcore checks every connection),
        # CPU that the servers on the same machine would miss.
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    timeout=httpx.Timeout(60.0),
                    headers=dict(headers or {}),
                    verify=tls,
                )
            )
            for _ in range(concurrency)
        ]
        if warmup:
            start = numbers.start - warmup
            await _run(clients, url, make_body, range(start, numbers.start), expect)
        return await _run(clients, url, make_body, numbers, expect)

"""FastAPI dependencies that hand a route what the composition root put in `app.state`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")


def from_app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning `app.state.<name>`, checked to be a `kind`."""

    # Async, though it only reads app state: FastAPI runs a plain `def` dependency in a worker
    # thread, a hop that costs more than the lookup.
    async def dependency(request: Request) -> T:
        value = getattr(request.app.state, name)
        if not isinstance(value, kind):
            raise TypeError(f"app.state.{name} is {type(value).__name__}, not {kind.__name__}")
        return value

    dependency.__name__ = f"{name}_from_app_state"
    return dependency

"""A graceful stop is bounded: a step that hangs (a consumer waiting for a group's rebalance)
is logged and abandoned, and the stop goes on."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.lifecycle import stop_within


async def test_a_step_that_hangs_is_cancelled_and_logged_after_its_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hanging = asyncio.get_running_loop().create_future()

    async def leave_group() -> None:
        await hanging

    step = asyncio.ensure_future(leave_group())
    with caplog.at_level(logging.WARNING, logger="shared.lifecycle"):
        finished = await stop_within(0.05, "certification: the broker", step)

    assert finished is False
    assert step.cancelled()
    assert "stopping certification: the broker took over 0.05s" in caplog.text


async def test_a_step_within_its_limit_finishes_quietly(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    async def close() -> None:
        await asyncio.sleep(0)
        done.append("closed")

    with caplog.at_level(logging.INFO, logger="shared.lifecycle"):
        finished = await stop_within(5.0, "the database client", close())

    assert finished is True
    assert done == ["closed"]
    assert caplog.text == ""

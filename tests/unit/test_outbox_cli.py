"""`attesta outbox replay --since`: what staff may type for an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cli.errors import USAGE, CliError
from cli.outbox import parse_since

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1.5d", timedelta(days=1.5)),
    ],
)
def test_a_duration_means_that_long_before_now(text: str, ago: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - ago


def test_an_instant_with_an_offset_or_z_is_taken_as_is() -> None:
    assert parse_since("2026-11-23T09:30:00+02:00", NOW) == datetime(
        2026, 11, 23, 7, 30, tzinfo=UTC
    )
    assert parse_since("2026-11-23T07:30:00Z", NOW) == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-23T09:30", "yesterday", "5 weeks", ""])
def test_anything_else_is_a_usage_error_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(CliError) as refused:
        parse_since(text, NOW)
    assert refused.value.exit_code == USAGE

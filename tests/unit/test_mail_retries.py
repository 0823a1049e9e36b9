"""When an email is tried again, and how many go to one address per minute."""

from __future__ import annotations

import random

from services.notification.recipient_limits import RecipientRateLimit
from services.notification.retrying import RetryPolicy, is_permanent

POLICY = RetryPolicy(first_delay=30, max_delay=900, give_up_after=72 * 3600)


def test_the_wait_doubles_per_attempt_up_to_the_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900), (20, 900)]:
        delays = [POLICY.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt


def test_the_wait_is_spread_so_refused_emails_do_not_return_together() -> None:
    rng = random.Random(1)
    delays = [POLICY.delay(4, rng) for _ in range(1000)]
    assert max(delays) - min(delays) > 100
    assert len({round(d, 3) for d in delays}) > 900


def test_retrying_stops_after_the_give_up_time() -> None:
    assert not POLICY.gives_up(first_attempt_at=0, now=72 * 3600 - 1)
    assert POLICY.gives_up(first_attempt_at=0, now=72 * 3600)


def test_only_5xx_answers_are_permanent() -> None:
    assert [is_permanent(c) for c in (421, 450, 451, 452, 550, 552, 554)] == [
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_over_its_limit_waits_until_the_oldest_email_leaves_the_window() -> None:
    clock = Clock()
    limit = RecipientRateLimit(per_minute=2, clock=clock)
    assert limit.wait(["hr@town.bg"]) == 0
    limit.record(["hr@town.bg"])
    clock.now += 10
    limit.record(["HR@town.bg"])
    assert limit.wait(["hr@town.bg"]) == 50
    assert limit.wait(["other@town.bg"]) == 0
    clock.now += 50
    assert limit.wait(["hr@town.bg"]) == 0


def test_a_message_waits_for_the_busiest_of_its_recipients() -> None:
    clock = Clock()
    limit = RecipientRateLimit(per_minute=1, clock=clock)
    limit.record(["hr@town.bg"])
    clock.now += 20
    assert limit.wait(["ivan@town.bg", "hr@town.bg"]) == 40


def test_a_limit_of_zero_means_no_limit() -> None:
    limit = RecipientRateLimit(per_minute=0, clock=Clock())
    for _ in range(1000):
        limit.record(["a@b.bg"])
    assert limit.wait(["a@b.bg"]) == 0


def test_idle_addresses_are_forgotten() -> None:
    clock = Clock()
    limit = RecipientRateLimit(per_minute=5, clock=clock)
    for n in range(100):
        limit.record([f"t{n}@town.bg"])
    assert limit.tracked() == 100
    clock.now += 61
    limit.record(["new@town.bg"])
    assert limit.tracked() == 1

"""When to try a delivery again, and when to stop: plain rules, no I/O.

A temporary refusal (4xx, connection refused, timeout) is retried with exponential backoff and
jitter: the delay doubles per attempt up to a ceiling, and each actual delay is drawn from the
upper half of it, so that a thousand emails refused together by a server that was down do not
all come back in the same second. A permanent refusal (5xx) is never retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 30.0
    max_delay: float = 900.0
    # Mail servers themselves give up on a message after days (RFC 5321 §4.5.4.1 suggests 4-5);
    # a certificate that has not gone out in three days needs a person anyway.
    give_up_after: float = 3 * 24 * 3600.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** max(attempt - 1, 0))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def gives_up(self, first_attempt_at: float, now: float) -> bool:
        """Whether a delivery first tried at `first_attempt_at` has been retried long enough."""
        return now - first_attempt_at >= self.give_up_after


def is_permanent(code: int) -> bool:
    """An SMTP reply code that will not change by trying again (RFC 5321 §4.2.1)."""
    return 500 <= code < 600

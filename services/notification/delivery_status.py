"""Where a delivery stands: `held` with its course, `pending` (due now or at its next retry),
`sending` under a sender's lease, and finished as `sent`, `failed` or `unconfirmed`."""

from __future__ import annotations


class Status:
    HELD = "held"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"


FINISHED = (Status.SENT, Status.FAILED, Status.UNCONFIRMED)
QUEUED = (Status.HELD, Status.PENDING, Status.SENDING)

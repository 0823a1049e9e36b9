"""A development SMTP sink: every message it accepts is written as one `.eml` file.

`python -m shared.devstack.mailsink --port 1025 --dir .data/mail`

On SIGTERM it answers 421 to new messages for a second, so that those under way finish, and
stops. To see a bounce without a real mail server, send to an address whose local part starts with
`bounce` (e.g. `bounce.ivan@example.bg`): the sink refuses it with 550, as a server refuses a
mailbox that does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

BOUNCE_PREFIX = "bounce"


# On SIGTERM: how long transactions under way get to finish before the sink closes.
GRACE_SECONDS = 1.0


class WriteToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.closing = False
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.closing:
            # What a mail server says while it shuts down: come back later.
            return "421 4.3.2 Service shutting down, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower().startswith(BOUNCE_PREFIX):
            return (
                f"550 5.1.1 <{address}>: mailbox unavailable (the sink refuses bounce* addresses)"
            )
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        # Written aside and renamed: a reader never sees half a message.
        tmp.write_bytes(content)
        os.replace(tmp, self.folder / name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args(argv)

    kwargs: dict[str, Any] = {"data_size_limit": 50 * 1024 * 1024}
    handler = WriteToFolder(args.dir)
    controller = Controller(handler, hostname=args.host, port=args.port, server_kwargs=kwargs)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
        # Like an MTA stopping: no new transaction, the ones under way finish and are
        # answered, so no sender is left not knowing whether its message was taken.
        handler.closing = True
        loop.run_until_complete(asyncio.sleep(GRACE_SECONDS))
    finally:
        controller.stop()
        loop.close()


if __name__ == "__main__":
    main()

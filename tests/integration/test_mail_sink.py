"""The development SMTP sink: each message it accepts becomes one .eml file."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib

from tests.conftest import Stack, eventually


async def test_each_accepted_message_is_written_as_one_eml_file(stack: Stack) -> None:
    marker = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = "a@attesta.example"
    message["To"] = f"{marker}@example.bg"
    message["Subject"] = "Проверка"
    message.set_content("Здравейте")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=stack.smtp_port)

    def mine() -> list[EmailMessage] | None:
        found = [m for m in stack.emails() if marker in str(m["To"])]
        return found or None

    [received] = await eventually(mine, what="the message in the sink folder")
    assert str(received["Subject"]) == "Проверка"
    assert not list(stack.mail_dir.glob(".*.tmp")), "no half-written files are left"

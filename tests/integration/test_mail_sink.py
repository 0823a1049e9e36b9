"""The development SMTP sink: each message it accepts becomes one .eml file."""

from __future__ import annotations

import asyncio
import signal
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from shared.devstack import servers
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


async def test_a_stopping_sink_answers_421_to_new_messages_and_exits(tmp_path: Path) -> None:
    port = servers.free_port()
    sink = servers.start_mail_sink(port, tmp_path / "mail", tmp_path / "logs")
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    try:
        await client.connect()
        await client.ehlo()

        sink.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.2)
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await client.mail("a@attesta.example")

        assert refused.value.code == 421  # "try again later": a sender retries, never fails
        assert await asyncio.to_thread(sink.process.wait, 10) is not None
    finally:
        client.close()
        sink.kill()

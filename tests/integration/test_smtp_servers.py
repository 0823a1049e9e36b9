"""The scripted SMTP servers answer the real client as scripted."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
import pytest

from tests.smtp_servers import ScriptedSmtpServer, self_signed_context

USER, PASSWORD = "attesta", "s3cret"


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return self_signed_context()


def letter(to: str = "ivan@example.bg") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@attesta.example"
    message["To"] = to
    message["Subject"] = "Удостоверение"
    message.set_content("Здравейте")
    return message


async def send(server: ScriptedSmtpServer, message: EmailMessage | None = None) -> None:
    await aiosmtplib.send(message or letter(), hostname="127.0.0.1", port=server.port, timeout=5)


async def test_temporary_failures_then_acceptance(server: ScriptedSmtpServer) -> None:
    server.answer_data("451 4.7.1 Try again later")

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send(server)
    assert refused.value.code == 451
    assert server.received == []
    await send(server)

    [received] = server.received
    assert received.mail_from == "noreply@attesta.example"
    assert received.rcpt_tos == ["ivan@example.bg"]
    assert str(received.message["Subject"]) == "Удостоверение"
    assert server.data_attempts == 2
    assert server.connections == 2


async def test_permanent_failure_every_time(server: ScriptedSmtpServer) -> None:
    server.answer_data(then="550 5.1.1 No such user")

    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await send(server)
        assert refused.value.code == 550
    assert server.received == []
    assert server.data_attempts == 2


async def test_refused_recipient(server: ScriptedSmtpServer) -> None:
    server.refuse_recipient("nobody@example.bg", "550 5.1.1 unknown")

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(server, letter("nobody@example.bg"))
    assert [error.code for error in refused.value.recipients] == [550]
    assert server.data_attempts == 0

    message = letter("nobody@example.bg, ivan@example.bg")
    errors, _ = await aiosmtplib.send(message, hostname="127.0.0.1", port=server.port)
    assert errors["nobody@example.bg"].code == 550
    assert server.received[0].rcpt_tos == ["ivan@example.bg"]


async def test_starttls_and_auth(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls

    async def send_over(start_tls: bool, password: str | None = None) -> None:
        await aiosmtplib.send(
            letter(),
            hostname="127.0.0.1",
            port=secure.port,
            start_tls=start_tls,
            tls_context=client_context,
            username=USER if password else None,
            password=password,
            timeout=5,
        )

    with ScriptedSmtpServer(
        tls_context=server_context, require_starttls=True, auth=(USER, PASSWORD)
    ) as secure:
        await send_over(start_tls=True, password=PASSWORD)
        assert len(secure.received) == 1

        with pytest.raises(aiosmtplib.SMTPSenderRefused) as in_clear:
            await send_over(start_tls=False)
        assert in_clear.value.code == 530
        assert "STARTTLS" in in_clear.value.message
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as anonymous:
            await send_over(start_tls=True)
        assert anonymous.value.code == 530
        assert "Authentication required" in anonymous.value.message
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as wrong:
            await send_over(start_tls=True, password="wrong")
        assert wrong.value.code == 535
        assert len(secure.received) == 1


async def test_implicit_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    with ScriptedSmtpServer(
        tls_context=server_context, implicit_tls=True, auth=(USER, PASSWORD)
    ) as server:
        await aiosmtplib.send(
            letter(),
            hostname="127.0.0.1",
            port=server.port,
            use_tls=True,
            tls_context=client_context,
            username=USER,
            password=PASSWORD,
            timeout=5,
        )
        await server.received_count(1, timeout=5)


async def arrived(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 5), "the server never got there"


async def test_held_data_counts_once_released_even_if_the_client_is_gone(
    server: ScriptedSmtpServer,
) -> None:
    """The client crashes after sending the whole message but before the server's 250."""
    release = server.hold_data()
    sending = asyncio.create_task(send(server))
    await arrived(server.data_arrived)
    sending.cancel()
    await asyncio.sleep(0.1)
    assert server.received == []

    release.set()
    with pytest.raises(asyncio.CancelledError):
        await sending
    [received] = await server.received_count(1, timeout=5)
    assert received.rcpt_tos == ["ivan@example.bg"]


async def test_held_data_dropped_connection_and_a_refusal(server: ScriptedSmtpServer) -> None:
    server.answer_data("451 4.3.0 Queue full")
    release = server.hold_data()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port, timeout=5)
    await client.connect()
    sending = asyncio.create_task(client.send_message(letter()))
    await arrived(server.data_arrived)
    client.close()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await sending

    release.set()
    await asyncio.sleep(0.1)
    assert server.data_attempts == 1
    assert server.received == []


async def test_held_recipient_means_no_data(server: ScriptedSmtpServer) -> None:
    release = server.hold_rcpt()
    sending = asyncio.create_task(send(server))
    await arrived(server.rcpt_arrived)
    sending.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert server.data_attempts == 0
    assert server.received == []


async def test_a_server_stopped_while_holding_loses_the_message_and_comes_back(
    server: ScriptedSmtpServer,
) -> None:
    release = server.hold_data()
    sending = asyncio.create_task(send(server))
    await arrived(server.data_arrived)
    server.stop()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await sending
    assert release.is_set()
    assert server.received == []

    server.start()
    await send(server)
    assert len(server.received) == 1

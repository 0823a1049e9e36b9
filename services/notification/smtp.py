"""Sending over SMTP on a kept-open connection, with the server's answer classified.

One `SmtpChannel` is one connection (opened on first use, reopened after the server drops it):
sending many certificates over one connection saves a TCP and TLS handshake, EHLO and AUTH per
email. The channel calls `before_data` once the server has accepted the envelope and before the
message itself goes out: the caller records there that the server may from now on accept the
message, which is how a crash is later told apart from a send that never happened.
"""

from __future__ import annotations

import email.policy
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiosmtplib

from services.notification.retrying import is_permanent

# 7-bit and CRLF: headers are RFC 2047-encoded, bodies are already quoted-printable or base64.
# Lines fold at RFC 5322's limit of 998, not at 78: folded inside a display name, the encoded
# words of a long Cyrillic name come back from Python's own parser with a space in the middle of
# a word ("ме стното"); one longer encoded word is read right by every client we know.
WIRE = email.policy.SMTP.clone(cte_type="7bit", max_line_length=998)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None
    ca_file: str | None = None


class DeliveryRefused(Exception):
    """The server answered no to this message (to its sender, its holder, or its content)."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = reply

    @property
    def permanent(self) -> bool:
        return is_permanent(self.code)


class MailServerUnavailable(Exception):
    """No answer about this message at all: connection refused or dropped, TLS or login failed,
    timeout. Always worth trying again later."""


@dataclass
class Accepted:
    reply: str
    refused_copies: dict[str, str] = field(default_factory=dict)


class SmtpChannel:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(
        self,
        wire: bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        before_data: Callable[[], Awaitable[None]],
    ) -> Accepted:
        """Send the message `wire` (as flattened with `WIRE`) to `recipients`; the first
        recipient must accept, the others (copies) may be refused without failing the send."""
        smtp = await self._open()
        try:
            try:
                await smtp.mail(sender)
            except aiosmtplib.SMTPServerDisconnected:
                # The server closed our idle connection since the last message: reopen once.
                await self.close()
                smtp = await self._open()
                await smtp.mail(sender)
            refused: dict[str, str] = {}
            for index, recipient in enumerate(recipients):
                try:
                    await smtp.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as error:
                    if index == 0:
                        raise
                    refused[recipient] = f"{error.code} {error.message}"
            try:
                await before_data()
            except BaseException:
                # Not sending after all: leave the kept-open connection ready for the next.
                await self._reset()
                raise
            response = await smtp.data(wire)
        except aiosmtplib.SMTPServerDisconnected as error:
            await self.close()
            raise MailServerUnavailable(f"connection lost: {error}") from error
        except aiosmtplib.SMTPResponseException as error:
            await self._reset()
            raise DeliveryRefused(error.code, error.message) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            raise MailServerUnavailable(f"{type(error).__name__}: {error}") from error
        return Accepted(reply=f"{response.code} {response.message}", refused_copies=refused)

    async def _open(self) -> aiosmtplib.SMTP:
        """The open connection; failing to open one (refused, greeting 421, TLS, login) is the
        server's or the configuration's problem, never the message's."""
        try:
            return await self._connection()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            raise MailServerUnavailable(f"{type(error).__name__}: {error}") from error

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        config = self.config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls,
            start_tls=config.starttls,
            timeout=config.timeout,
            tls_context=config.tls_context,
            cert_bundle=config.ca_file,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def _reset(self) -> None:
        # A refused message leaves its envelope open on the server: clear it, so the next
        # message starts clean on the same connection.
        if self._smtp is None or not self._smtp.is_connected:
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()

"""Real SMTP servers for tests, whose answers a test scripts.

Each server runs aiosmtpd on 127.0.0.1 in a thread of its own, so a pytest-asyncio test in the
same process can talk to it with the real client while the server's answers stay scripted.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DATA_SIZE_LIMIT = 50 * 1024 * 1024


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class ScriptedSmtpServer:
    """A real SMTP server whose answers a test scripts.

    By default it accepts everything. `answer_data` scripts the answers to the end of DATA,
    `refuse_recipient` the answers to RCPT TO, and `hold_data` / `hold_rcpt` make the server
    go silent at those points until the test releases it.

    `received` holds the accepted messages, `data_attempts` counts the ends of DATA reached
    whatever the answer, `connections` the client connections; all survive a restart.
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth: tuple[str, str] | None = None,
        implicit_tls: bool = False,
    ) -> None:
        if (require_starttls or implicit_tls) and tls_context is None:
            raise ValueError("require_starttls and implicit_tls need a tls_context")
        if require_starttls and implicit_tls:
            raise ValueError("a connection is either TLS from the start or upgraded, not both")
        self._tls_context = tls_context
        self._require_starttls = require_starttls
        self._auth = auth
        self._implicit_tls = implicit_tls

        self.port = 0
        self.received: list[Received] = []
        self.data_attempts = 0
        self.connections = 0
        self.data_arrived = threading.Event()
        self.rcpt_arrived = threading.Event()

        self._lock = threading.Condition()
        self._answers: deque[str] = deque()
        self._then = "250 OK"
        self._refusals: dict[str, str] = {}
        self._data_holds: deque[threading.Event] = deque()
        self._rcpt_holds: deque[threading.Event] = deque()
        self._releases: list[threading.Event] = []
        # asyncio keeps only weak references to tasks: these must outlive their connection.
        self._settling: set[asyncio.Task[str]] = set()
        self._controller: _Controller | None = None

    # -- scripting, from the test's thread --

    def answer_data(self, *answers: str, then: str = "250 OK") -> None:
        """Answer the next ends of DATA with `answers` in order, then always with `then`."""
        with self._lock:
            self._answers = deque(answers)
            self._then = then

    def refuse_recipient(self, address: str, answer: str) -> None:
        with self._lock:
            self._refusals[address.lower()] = answer

    def hold_data(self) -> threading.Event:
        """Leave the next end of DATA unanswered until the returned event is set.

        `data_arrived` is set once the held message has fully arrived. When released, the
        server gives its scripted answer and, if that answer is 2xx, counts the message as
        received, even if the client has gone in the meantime: like a real server, it has
        the whole message and commits it whatever happened to the connection.
        """
        return self._hold(self._data_holds)

    def hold_rcpt(self) -> threading.Event:
        """Leave the next RCPT TO unanswered until the returned event is set.

        `rcpt_arrived` is set when the held RCPT TO arrives; no message data can have been sent.
        """
        return self._hold(self._rcpt_holds)

    def _hold(self, holds: deque[threading.Event]) -> threading.Event:
        release = threading.Event()
        with self._lock:
            holds.append(release)
            self._releases.append(release)
        return release

    # -- waiting --

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until at least `count` messages were accepted; return all accepted so far."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(
                    f"SMTP server accepted {len(self.received)} messages, "
                    f"not {count}, within {timeout:.0f}s"
                )
            return list(self.received)

    # The timeout is the waiting thread's: cancelling this coroutine would not stop that thread.
    async def received_count(self, count: int, timeout: float = 30.0) -> list[Received]:  # noqa: ASYNC109
        return await asyncio.to_thread(self.wait_for, count, timeout)

    # -- lifecycle --

    def start(self) -> None:
        """Listen; after a stop, listen again on the same port (a server coming back)."""
        if not self.port:
            self.port = free_port()
        implicit = self._tls_context if self._implicit_tls else None
        upgrade = None if self._implicit_tls else self._tls_context
        self._controller = _Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="127.0.0.1",
            ssl_context=implicit,
            tls_context=upgrade,
            require_starttls=self._require_starttls,
            data_size_limit=DATA_SIZE_LIMIT,
            authenticator=self._authenticate,
            auth_required=self._auth is not None,
            # Over implicit TLS aiosmtpd does not know the connection is encrypted.
            auth_require_tls=upgrade is not None,
        )
        self._controller.start()
        with self._lock:
            # Controller.start() opens a connection of its own to check the server is up.
            self.connections = 0

    def stop(self) -> None:
        """Stop like a crash: whatever is held is dropped, unanswered and not counted."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        # Only now: released earlier, a held message could still be answered and counted.
        with self._lock:
            for release in self._releases:
                release.set()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- aiosmtpd's hooks, on the server's thread --

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: object,
    ) -> AuthResult:
        expected = None if self._auth is None else LoginPassword(*map(str.encode, self._auth))
        return AuthResult(success=auth_data == expected, handled=False)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self._lock:
            release = self._rcpt_holds.popleft() if self._rcpt_holds else None
            refusal = self._refusals.get(address.lower())
        if release is not None:
            self.rcpt_arrived.set()
            await _released(release)
        if refusal is not None:
            return refusal
        # aiosmtpd leaves the envelope to a hook that answers itself.
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.data_attempts += 1
            answer = self._answers.popleft() if self._answers else self._then
            release = self._data_holds.popleft() if self._data_holds else None
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        received = Received(envelope.mail_from or "", list(envelope.rcpt_tos), message, raw)
        # Shielded: a client that disconnects cancels this hook, but must not change the verdict.
        return await asyncio.shield(self._keep(self._settle(answer, received, release)))

    async def _settle(
        self, answer: str, received: Received, release: threading.Event | None
    ) -> str:
        if release is not None:
            self.data_arrived.set()
            await _released(release)
        if answer.startswith("2"):
            with self._lock:
                self.received.append(received)
                self._lock.notify_all()
        return answer

    def _keep(self, coroutine: Coroutine[Any, Any, str]) -> asyncio.Task[str]:
        task = asyncio.ensure_future(coroutine)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return task


class _Controller(Controller):
    def __init__(self, server: ScriptedSmtpServer, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self._scripted = server

    def factory(self) -> SMTP:
        # aiosmtpd builds one SMTP protocol per accepted connection.
        self._scripted._connected()
        with warnings.catch_warnings():
            # Over implicit TLS the AUTH is encrypted all the same: aiosmtpd cannot tell.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return SMTP(self.handler, **self.SMTP_kwargs)


async def _released(release: threading.Event) -> None:
    # The release is a threading.Event, set from the test's thread. Polled: a worker thread
    # blocked on it would keep the process from exiting if a test never released it.
    while not release.is_set():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_context() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A fresh server context for 127.0.0.1 and localhost, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # The ssl module loads a certificate chain from files only.
    with tempfile.TemporaryDirectory() as directory:
        certfile, keyfile = Path(directory, "cert.pem"), Path(directory, "key.pem")
        certfile.write_bytes(certificate_pem)
        keyfile.write_bytes(key_pem)
        server.load_cert_chain(certfile, keyfile)
    client = ssl.create_default_context(cadata=certificate_pem.decode())
    return server, client

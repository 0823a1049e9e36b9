"""The web monitor's login session: a signed cookie, never the admin key itself.

A token is `v1.<expires, unix seconds>.<nonce>.<signature>`, the signature an HMAC-SHA256 of
the rest under a secret derived from the admin key. Rotating the admin key therefore ends
every session, and a token cannot be stretched or forged without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE_NAME = "attesta_ops_session"
COOKIE_PATH = "/ops"
SESSION_LIFETIME = timedelta(hours=12)
_VERSION = "v1"
_PURPOSE = b"attesta ops monitor session v1"


def _secret(admin_key: str) -> bytes:
    return hmac.new(admin_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SessionSigner:
    admin_key: str
    lifetime: timedelta = SESSION_LIFETIME

    def issue(self, now: datetime) -> str:
        """A new session token, valid for `lifetime` from `now`."""
        expires = int((now + self.lifetime).timestamp())
        payload = f"{_VERSION}.{expires}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{_signature(_secret(self.admin_key), payload)}"

    def is_valid(self, token: str, now: datetime) -> bool:
        """Signed with the current admin key, and not yet expired at `now`."""
        version, _, rest = token.partition(".")
        expires, _, rest = rest.partition(".")
        nonce, _, signature = rest.partition(".")
        if version != _VERSION or not expires.isdigit() or not nonce or not signature:
            return False
        payload = f"{version}.{expires}.{nonce}"
        expected = _signature(_secret(self.admin_key), payload)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return False
        return now.timestamp() < int(expires)

"""Bearer-key authentication shared by the services.

Partner keys look like `ak_<key_id>_<secret>`; services store only the SHA-256 of the whole key.
Registration issues keys and announces their hashes in `partner.keys` events, so every service
can authenticate a partner from its own database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, Protocol

from fastapi import Request

from shared.problems import Problem

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    kind: Literal["admin", "partner"]
    partner_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def may_see(self, owner_partner_id: str) -> bool:
        return self.is_admin or self.partner_id == owner_partner_id


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret_key: str
    key_hash: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_partner_key() -> NewKey:
    key_id = secrets.token_hex(6)
    key = f"ak_{key_id}_{secrets.token_urlsafe(24)}"
    return NewKey(key_id=key_id, secret_key=key, key_hash=hash_key(key))


class KeyDirectory(Protocol):
    async def partner_for_key_hash(self, key_hash: str) -> str | None: ...


class Authenticator:
    def __init__(self, admin_key: str, directory: KeyDirectory) -> None:
        self._admin_key = admin_key
        self._directory = directory

    async def principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(
                401, "Send your API key as 'Authorization: Bearer <key>'.", headers=_CHALLENGE
            )
        key = key.strip()
        if hmac.compare_digest(key.encode(), self._admin_key.encode()):
            return Principal("admin")
        partner_id = await self._directory.partner_for_key_hash(hash_key(key))
        if partner_id is None:
            raise Problem(401, "This API key is not known or was revoked.", headers=_CHALLENGE)
        return Principal("partner", partner_id)


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: who is calling (401 when nobody we know)."""
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.principal(request)


async def current_admin(request: Request) -> Principal:
    """FastAPI dependency: the admin only (403 for partners)."""
    principal = await current_principal(request)
    if not principal.is_admin:
        raise Problem(403, "Only the administrator may do this.")
    return principal

"""The certification service's Ed25519 signing keys, kept in its database.

One key signs (the newest one not retired); every key ever used stays published, so a
certificate signed in 2002 still verifies after any number of rotations. Private keys live in
the certification database, next to the certificates they vouch for: whoever can write that
database can already issue certificates, so it is one trust boundary to protect, not two.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared import signatures
from shared.mongo import Database, Document

COLLECTION = "signing_keys"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def published(self) -> dict[str, Any]:
        """The key as a JWK (RFC 7517), with when it was made and retired (extra members that
        JWK allows: verifiers ignore them, people read them)."""
        return {
            **signatures.public_jwk(self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
            "created": self.created_at.isoformat(),
            "retired": self.retired_at.isoformat() if self.retired_at else None,
        }


def _stored(key: SigningKey) -> Document:
    raw = key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    # Text, not bytes: the embedded server cannot replace a document holding bytes.
    return {
        "_id": key.kid,
        "private_key": base64.b64encode(raw).decode("ascii"),
        "created_at": key.created_at,
        # A plain boolean to filter on: the embedded server mismatches `null`.
        "in_use": True,
    }


def _loaded(doc: Document) -> SigningKey:
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(doc["private_key"]))
    retired = doc.get("retired") or {}
    return SigningKey(
        kid=str(doc["_id"]),
        private=private,
        created_at=doc["created_at"],
        retired_at=retired.get("at"),
    )


def new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    return SigningKey(
        kid=signatures.key_id(private.public_key()), private=private, created_at=datetime.now(UTC)
    )


class Keyring:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.keys: AsyncCollection[Document] = database.db[COLLECTION]
        self._all: list[SigningKey] = []

    async def load(self) -> None:
        """Read the keys, making the first one on a fresh database."""
        await self.database.ensure_collections(COLLECTION)
        await self._read()
        if not self._all:
            async with self.database.alone():
                await self.keys.insert_one(_stored(new_key()))
            await self._read()

    async def _read(self) -> None:
        found = self.keys.find({}).sort("created_at", DESCENDING)
        self._all = [_loaded(doc) async for doc in found]

    @property
    def active(self) -> SigningKey:
        """The newest key not retired: the one that signs."""
        for key in self._all:
            if key.retired_at is None:
                return key
        raise RuntimeError("no signing key: Keyring.load() makes one")

    async def rotate(self) -> SigningKey:
        """A new key signs from now on; the old ones are retired but stay published."""
        fresh = new_key()
        # Nested, like other timestamps: the embedded server keeps a datetime in a document.
        retired = {"at": fresh.created_at, "by": fresh.kid}
        async with self.database.alone():
            await self.keys.insert_one(_stored(fresh))
            await self.keys.update_many(
                {"_id": {"$ne": fresh.kid}, "in_use": True},
                {"$set": {"in_use": False, "retired": retired}},
            )
        await self._read()
        return fresh

    async def public_keys(self, wanted_kid: str | None = None) -> dict[str, Ed25519PublicKey]:
        """Every published key by id; read again when `wanted_kid` is not known yet (another
        instance rotated)."""
        if wanted_kid is not None and all(key.kid != wanted_kid for key in self._all):
            await self._read()
        return {key.kid: key.public for key in self._all}

    def published(self) -> dict[str, Any]:
        return {"keys": [key.published() for key in self._all]}

    def sign(self, claims: signatures.Claims) -> str:
        return signatures.sign(claims, self.active.private)

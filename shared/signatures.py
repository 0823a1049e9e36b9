"""Signed certificate data: what a certificate says, signed with Ed25519 as a compact JWS
(RFC 7515, `alg: EdDSA` per RFC 8037), so anyone holding the published public keys can check a
certificate without asking us, decades later.

The payload is the certificate's claims as canonical JSON (keys sorted, no spaces, UTF-8).
Keys are published as a JWK set; a key's id is its RFC 7638 thumbprint. This module is the
public contract: certification signs with it, `attesta verify-pdf` checks with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

JWS_TYPE = "attesta-certificate+jws"
PDF_ATTACHMENT = "attesta-certificate.jws"
KEYS_PATH = "/.well-known/attesta-keys.json"

Claims = dict[str, Any]


class SignatureProblem(ValueError):
    """The signed data is malformed, signed by an unknown key, or does not match its signature."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise SignatureProblem(f"not base64url: {error}") from None


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw_public_key(key))}


def key_id(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: the same key has the same id wherever it is published."""
    return b64url(hashlib.sha256(canonical_json(public_jwk(key))).digest())


def sign(claims: Claims, key: Ed25519PrivateKey) -> str:
    header = {"alg": "EdDSA", "kid": key_id(key.public_key()), "typ": JWS_TYPE}
    signing_input = f"{b64url(canonical_json(header))}.{b64url(canonical_json(claims))}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def header_kid(jws: str) -> str | None:
    """The key id a JWS names, before checking anything (to know which key to fetch)."""
    try:
        header = json.loads(unb64url(jws.split(".", 1)[0]))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SignatureProblem("unreadable JWS header") from None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


@dataclass(frozen=True)
class Verified:
    claims: Claims
    kid: str


def verify(jws: str, keys: Mapping[str, Ed25519PublicKey]) -> Verified:
    """The claims of `jws` when one of `keys` (by key id) signed exactly them; otherwise
    `SignatureProblem` saying why."""
    parts = jws.strip().split(".")
    if len(parts) != 3:
        raise SignatureProblem("not a compact JWS (header.payload.signature)")
    header_part, payload_part, signature_part = parts
    try:
        header = json.loads(unb64url(header_part))
        claims = json.loads(unb64url(payload_part))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SignatureProblem(f"unreadable header or payload: {error}") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureProblem("only EdDSA (Ed25519) signatures are accepted")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise SignatureProblem(f"signed by a key that is not published: {kid!r}")
    try:
        key.verify(unb64url(signature_part), f"{header_part}.{payload_part}".encode("ascii"))
    except InvalidSignature:
        raise SignatureProblem("the signature does not match the data: it was altered") from None
    if not isinstance(claims, dict):
        raise SignatureProblem("the payload is not a JSON object")
    return Verified(claims=claims, kid=str(kid))


def keys_from_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a published JWK set, by their (recomputed) key ids."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys", []):
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
            continue
        key = Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"]))
        keys[key_id(key)] = key
    return keys

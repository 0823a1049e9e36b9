"""W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C Data Integrity EdDSA
Cryptosuites v1.0): how Attesta signs the credentials it hands to digital wallets.

JCS (RFC 8785) canonicalisation rather than RDF: the signed bytes are the JSON itself, so a
verifier needs no JSON-LD context documents, and this module needs no JSON-LD processor. The
keys are the same Ed25519 keys that sign the PDFs, published as `Multikey` verification
methods of the service's `did:web` document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.signatures import raw_public_key

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
DID_PATH = "/.well-known/did.json"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Multicodec `ed25519-pub` (0xed, as a varint): what a Multikey says its key is.
_ED25519_PUB = b"\xed\x01"

KeyResolver = Callable[[str], Ed25519PublicKey | None]


class ProofProblem(ValueError):
    """The document carries no usable proof, or the proof does not match the document."""


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = _BASE58[rest] + digits
    # Leading zero bytes are kept as leading '1's, as Bitcoin's alphabet defines.
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


def unbase58btc(text: str) -> bytes:
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise ProofProblem(f"not base58btc: {char!r}")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON for the documents signed here: objects with text keys, text,
    integers, booleans and null. Floats are refused: their canonical form needs ECMAScript's
    number printing, and nothing Attesta signs has one."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("JCS canonicalisation of floats is not supported here")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object keys must be text, not {key!r}")
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def multikey(key: Ed25519PublicKey) -> str:
    """The key as a Multikey `publicKeyMultibase` (`z6Mk…`)."""
    return "z" + base58btc(_ED25519_PUB + raw_public_key(key))


def key_from_multikey(text: str) -> Ed25519PublicKey:
    if not text.startswith("z"):
        raise ProofProblem("a Multikey is base58btc, starting with 'z'")
    raw = unbase58btc(text[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != 34:
        raise ProofProblem("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def did_web(base_url: str) -> str:
    """The `did:web` identifier of the service at `base_url` (a port is percent-encoded; a
    path becomes colon-separated segments, as the did:web method says)."""
    parts = urlsplit(base_url)
    did = "did:web:" + quote(parts.netloc, safe="")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join([did, *segments])


def did_document(did: str, keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """A DID document listing every key by id: a retired key stays, so what it signed still
    verifies."""
    methods = [
        {
            "id": f"{did}#{kid}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(key),
        }
        for kid, key in keys.items()
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def _hash_data(document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    # The suite signs SHA-256(proof configuration) followed by SHA-256(document).
    return hashlib.sha256(jcs(proof_config)).digest() + hashlib.sha256(jcs(document)).digest()


def _config(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    config = {name: value for name, value in proof.items() if name != "proofValue"}
    # The suite signs the document's contexts with the proof; a proof that does not carry them
    # (some implementations leave them out) is checked against the document's.
    if "@context" in document and "@context" not in config:
        config["@context"] = document["@context"]
    return config


def add_proof(
    document: Mapping[str, Any],
    key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """A copy of `document` with an `eddsa-jcs-2022` proof for assertion."""
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    moment = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": moment.isoformat().replace("+00:00", "Z"),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    config = _config(unsecured, proof)
    signature = key.sign(_hash_data(unsecured, config))
    return {**unsecured, "proof": {**config, "proofValue": "z" + base58btc(signature)}}


def verify_proof(document: Mapping[str, Any], resolve: KeyResolver) -> str:
    """The verification method whose key proves `document` unaltered; `ProofProblem` saying
    why not otherwise."""
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise ProofProblem("the document has no proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofProblem(f"only {PROOF_TYPE} with {CRYPTOSUITE} is understood here")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofProblem("the proof is not for assertion")
    method = proof.get("verificationMethod")
    value = proof.get("proofValue")
    if not isinstance(method, str) or not isinstance(value, str) or not value.startswith("z"):
        raise ProofProblem("the proof names no verification method or has no proofValue")
    key = resolve(method)
    if key is None:
        raise ProofProblem(f"signed by a key that is not published: {method}")
    unsecured = {name: item for name, item in document.items() if name != "proof"}
    try:
        key.verify(unbase58btc(value[1:]), _hash_data(unsecured, _config(unsecured, proof)))
    except InvalidSignature:
        raise ProofProblem("the proof does not match the document: it was altered") from None
    return method


def resolver_from_did_document(document: Mapping[str, Any]) -> KeyResolver:
    """Looks verification methods up in a DID document, trusting only its assertion methods."""
    allowed = set(document.get("assertionMethod", []))
    keys = {
        method["id"]: key_from_multikey(method["publicKeyMultibase"])
        for method in document.get("verificationMethod", [])
        if method.get("type") == "Multikey" and method.get("id") in allowed
    }
    return keys.get

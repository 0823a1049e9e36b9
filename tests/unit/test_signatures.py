"""Signed certificate data: Ed25519 compact JWS, checked against published keys."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import signatures
from shared.signatures import SignatureProblem, b64url, unb64url

CLAIMS = {"number": "FRMS-2002-000001", "holder": "Иванка Петрова", "issued_on": "2002-09-11"}


def keyset(*keys: Ed25519PrivateKey) -> dict[str, object]:
    return {"keys": [signatures.public_jwk(key.public_key()) for key in keys]}


def test_key_ids_are_rfc7638_thumbprints() -> None:
    # RFC 8037, appendix A.1-A.3: the Ed25519 example key and its thumbprint.
    key = Ed25519PrivateKey.from_private_bytes(
        unb64url("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    )
    assert signatures.public_jwk(key.public_key())["x"] == (
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    )
    assert signatures.key_id(key.public_key()) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_signed_claims_verify_against_the_published_key_set() -> None:
    key = Ed25519PrivateKey.generate()
    jws = signatures.sign(CLAIMS, key)

    verified = signatures.verify(jws, signatures.keys_from_jwks(keyset(key)))

    assert verified.claims == CLAIMS
    assert verified.kid == signatures.key_id(key.public_key())
    assert signatures.header_kid(jws) == verified.kid


def test_a_changed_name_in_the_signed_data_fails_verification() -> None:
    key = Ed25519PrivateKey.generate()
    header, _, signature = signatures.sign(CLAIMS, key).split(".")
    forged = b64url(json.dumps({**CLAIMS, "holder": "Someone Else"}).encode())

    with pytest.raises(SignatureProblem, match="altered"):
        signatures.verify(f"{header}.{forged}.{signature}", signatures.keys_from_jwks(keyset(key)))


def test_data_signed_with_a_key_that_is_not_published_is_refused() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jws = signatures.sign(CLAIMS, theirs)

    with pytest.raises(SignatureProblem, match="not published"):
        signatures.verify(jws, signatures.keys_from_jwks(keyset(ours)))


def test_a_retired_key_still_verifies_what_it_signed() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed_long_ago = signatures.sign(CLAIMS, old)

    keys = signatures.keys_from_jwks(keyset(new, old))

    assert signatures.verify(signed_long_ago, keys).claims == CLAIMS


@pytest.mark.parametrize(
    ("jws", "why"),
    [
        ("not-a-jws", "compact JWS"),
        (f"{b64url(b'{')}.{b64url(b'{}')}.{b64url(b'x')}", "unreadable"),
        (b64url(b'{"alg":"none"}') + "." + b64url(b"{}") + ".", "EdDSA"),
    ],
)
def test_malformed_signed_data_is_refused_with_a_reason(jws: str, why: str) -> None:
    with pytest.raises(SignatureProblem, match=why):
        signatures.verify(jws, {})


def test_canonical_json_is_byte_for_byte_stable() -> None:
    assert signatures.canonical_json({"b": 1, "a": "ж"}) == '{"a":"ж","b":1}'.encode()

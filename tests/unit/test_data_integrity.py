"""Data Integrity proofs (`eddsa-jcs-2022`): the published test vector verifies, Attesta's own
proofs verify against its DID document, and any change to a signed document is caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import data_integrity as di
from shared.signatures import key_id

# The eddsa-jcs-2022 example of the W3C Data Integrity EdDSA Cryptosuites, as Digital Bazaar
# publishes it for interoperability tests: signed by another implementation than ours.
VECTOR_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]
VECTOR: dict[str, Any] = {
    "@context": CONTEXTS,
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": f"did:key:{VECTOR_KEY}",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    "proof": {
        "type": "DataIntegrityProof",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": f"did:key:{VECTOR_KEY}#{VECTOR_KEY}",
        "cryptosuite": "eddsa-jcs-2022",
        "proofPurpose": "assertionMethod",
        "@context": CONTEXTS,
        "proofValue": (
            "z5EhYRJkfPLkoT92FPXN8KK6M9rsBhq3xs19GBSsA6VdNYH4QMKSyNuA2Gfznz9QthVD7Rz3HTAfqxxay23htUpTg"
        ),
    },
}


def vector_key(_: str) -> Any:
    return di.key_from_multikey(VECTOR_KEY)


def test_the_published_eddsa_jcs_2022_test_vector_verifies() -> None:
    assert di.verify_proof(VECTOR, vector_key) == f"did:key:{VECTOR_KEY}#{VECTOR_KEY}"


def test_the_test_vector_with_one_word_changed_does_not_verify() -> None:
    altered = copy.deepcopy(VECTOR)
    altered["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(di.ProofProblem, match="altered"):
        di.verify_proof(altered, vector_key)


def test_a_multikey_round_trips_to_the_same_ed25519_key() -> None:
    key = di.key_from_multikey(VECTOR_KEY)
    assert di.multikey(key) == VECTOR_KEY


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0\x01\x02", bytes(range(40))])
def test_base58btc_round_trips_leading_zero_bytes(data: bytes) -> None:
    assert di.unbase58btc(di.base58btc(data)) == data


@pytest.mark.parametrize(
    ("base_url", "did"),
    [
        ("https://certificates.frmb.bg", "did:web:certificates.frmb.bg"),
        ("http://127.0.0.1:8002", "did:web:127.0.0.1%3A8002"),
        ("https://frmb.bg/attesta/", "did:web:frmb.bg:attesta"),
    ],
)
def test_the_did_of_a_service_follows_the_did_web_method(base_url: str, did: str) -> None:
    assert di.did_web(base_url) == did


def service_keys(count: int) -> dict[str, Ed25519PrivateKey]:
    keys = [Ed25519PrivateKey.generate() for _ in range(count)]
    return {key_id(key.public_key()): key for key in keys}


def test_a_document_signed_with_a_retired_key_verifies_against_the_did_document() -> None:
    did = "did:web:certificates.frmb.bg"
    keys = service_keys(2)
    (old_kid, old_key), _ = keys.items()
    signed = di.add_proof({"@context": CONTEXTS, "name": "Сертификат"}, old_key, f"{did}#{old_kid}")

    document = di.did_document(did, {kid: key.public_key() for kid, key in keys.items()})

    assert di.verify_proof(signed, di.resolver_from_did_document(document)) == f"{did}#{old_kid}"
    assert signed["proof"]["@context"] == CONTEXTS


def test_a_key_the_did_document_does_not_list_for_assertion_is_refused() -> None:
    did = "did:web:certificates.frmb.bg"
    ((kid, key),) = service_keys(1).items()
    signed = di.add_proof({"name": "x"}, key, f"{did}#{kid}")
    document = di.did_document(did, {kid: key.public_key()})
    document["assertionMethod"] = []

    with pytest.raises(di.ProofProblem, match="not published"):
        di.verify_proof(signed, di.resolver_from_did_document(document))


def test_a_document_without_a_proof_is_refused() -> None:
    with pytest.raises(di.ProofProblem, match="no proof"):
        di.verify_proof({"name": "x"}, vector_key)


def test_canonical_json_refuses_floats_it_could_not_write_canonically() -> None:
    with pytest.raises(ValueError, match="floats"):
        di.jcs({"credits": 1.5})
    assert di.jcs({"b": 1, "a": ["ж", True, None]}) == '{"a":["ж",true,null],"b":1}'.encode()

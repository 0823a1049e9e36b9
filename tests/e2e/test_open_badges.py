"""A certificate goes into a digital wallet as a signed Open Badges 3.0 credential: anyone checks
its proof with the service's DID document and its standing with the public status list, which
shows a revocation without being asked about any one credential."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.certification import status_lists
from shared import data_integrity
from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def public_json(url: str) -> Any:
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"
    return answer.json()


async def credential_of(api: Api, number: str) -> dict[str, Any]:
    answer = await api.call("certification", "GET", f"/v1/certificates/{number}/credential")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/ld+json")
    found: dict[str, Any] = answer.json()
    return found


async def proven(document: dict[str, Any], certification_url: str) -> str:
    """Checks a proof as a wallet does: the key comes from the issuer's DID document."""
    did = await public_json(certification_url + data_integrity.DID_PATH)
    assert document["proof"]["verificationMethod"].startswith(did["id"] + "#")
    return data_integrity.verify_proof(document, data_integrity.resolver_from_did_document(did))


async def withdrawn(credential: dict[str, Any]) -> bool:
    status = credential["credentialStatus"]
    listed = await public_json(status["statusListCredential"])
    assert listed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    return status_lists.is_set(
        listed["credentialSubject"]["encodedList"], int(status["statusListIndex"])
    )


async def test_a_certificate_becomes_a_signed_credential_that_a_wallet_can_check(
    training: Training,
) -> None:
    certificate = await training.certify("w1", "Ewa Zielińska")
    base = training.partner.urls["certification"]

    credential = await credential_of(training.partner, certificate["number"])

    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "Ewa Zielińska"
    assert credential["issuer"]["name"] == training.course["issuer"]["name"]
    assert training.address("w1") not in str(credential)
    await proven(credential, base)
    assert await withdrawn(credential) is False

    credential["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"
    with pytest.raises(data_integrity.ProofProblem, match="altered"):
        await proven(credential, base)


async def test_a_revoked_certificate_shows_as_withdrawn_in_the_status_list(
    training: Training, admin: Api
) -> None:
    kept = await training.certify("w2", "Мария Иванова")
    revoked = await training.certify("w3", "Иван Петров")
    kept_credential = await credential_of(training.partner, kept["number"])
    revoked_credential = await credential_of(training.partner, revoked["number"])
    assert await withdrawn(revoked_credential) is False

    await admin.ok(
        "certification",
        "POST",
        f"/v1/certificates/{revoked['number']}/revoke",
        json={"reason": "Enrolled by mistake"},
    )

    assert await withdrawn(revoked_credential) is True
    assert await withdrawn(kept_credential) is False
    listed = await public_json(revoked_credential["credentialStatus"]["statusListCredential"])
    await proven(listed, training.partner.urls["certification"])


async def test_a_credential_fetched_before_a_key_rotation_still_verifies(
    training: Training, admin: Api
) -> None:
    certificate = await training.certify("w4", "Anna Kowalska")
    before = await credential_of(training.partner, certificate["number"])

    await admin.ok("certification", "POST", "/v1/signing-keys/rotate")
    after = await credential_of(training.partner, certificate["number"])

    base = training.partner.urls["certification"]
    assert await proven(before, base) != await proven(after, base)


async def test_another_partner_cannot_fetch_the_credential(training: Training, admin: Api) -> None:
    certificate = await training.certify("w5", "Olga Smirnova")
    stranger = await admin.create_partner("Another town")
    other = admin.as_partner(stranger["api_key"])
    path = f"/v1/certificates/{certificate['number']}/credential"

    async def refused() -> bool:
        return (await other.call("certification", "GET", path)).status_code == 404

    await eventually(refused, what="certification to learn the new partner's key")
    await other.close()


async def test_a_status_list_that_does_not_exist_is_a_clear_404(training: Training) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(training.partner.urls["certification"] + "/v1/status-lists/999")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "No status list 999" in answer.json()["detail"]

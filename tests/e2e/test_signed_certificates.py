"""Every certificate is signed: anyone can fetch the keys and check the signed data, and the
verification API checks it too — across a key rotation. A course's certificates download as
one ZIP."""

from __future__ import annotations

import io
import zipfile

import httpx

from shared import signatures
from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def published_keys(admin: Api) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(admin.urls["certification"] + signatures.KEYS_PATH)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    keys: dict[str, object] = answer.json()
    return keys


async def test_certificates_stay_verifiable_across_a_signing_key_rotation(
    training: Training, admin: Api
) -> None:
    before = await training.certify("s1", "Мария Иванова")
    code_before = str(before["verification_url"]).rsplit("/", 1)[1]
    first = await training.partner.verify(code_before)
    assert first["valid"] is True and first["signature"]["valid"] is True
    page = await training.partner.http.get(str(before["verification_url"]))
    assert "Ed25519" in page.text and first["signature"]["kid"][:12] in page.text

    rotated = await admin.ok("certification", "POST", "/v1/signing-keys/rotate")
    after = await training.certify("s2", "Ewa Zielińska")
    code_after = str(after["verification_url"]).rsplit("/", 1)[1]
    second = await training.partner.verify(code_after)

    assert second["signature"] == {
        "valid": True, "kid": rotated["kid"], "problem": None, "jws": second["signature"]["jws"]
    }  # fmt: skip
    again = await training.partner.verify(code_before)
    assert again["valid"] is True and again["signature"]["kid"] == first["signature"]["kid"]
    keys = signatures.keys_from_jwks(await published_keys(admin))
    assert {first["signature"]["kid"], rotated["kid"]} <= set(keys)
    claims = signatures.verify(second["signature"]["jws"], keys).claims
    assert claims["holder"] == "Ewa Zielińska" and claims["number"] == after["number"]


async def test_only_the_admin_rotates_signing_keys(training: Training) -> None:
    async def answer() -> httpx.Response | None:
        response = await training.partner.call("certification", "POST", "/v1/signing-keys/rotate")
        # A new partner's key reaches certification as an event: unknown (401) until then.
        return None if response.status_code == 401 else response

    refused = await eventually(answer, what="certification to know the partner's key")
    assert refused.status_code == 403


async def test_a_partner_downloads_its_course_certificates_as_one_zip(
    training: Training, admin: Api
) -> None:
    first = await training.certify("z1", "Мария Иванова")
    second = await training.certify("z2", "Ewa Zielińska")
    path = f"/v1/courses/{training.course['id']}/certificates.zip"

    answer = await training.partner.call("certification", "GET", path)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == sorted(
        [f"{first['number']}.pdf", f"{second['number']}.pdf", "certificates.csv"]
    )
    index = archive.read("certificates.csv").decode("utf-8-sig")
    assert "Мария Иванова" in index and "Ewa Zielińska" in index
    stranger = await admin.create_partner("Another town")
    other = admin.as_partner(stranger["api_key"])

    async def key_known() -> bool:
        probe = await other.call("certification", "GET", path)
        return probe.status_code == 404

    await eventually(key_known, what="certification to learn the new partner's key")
    await other.close()

"""Anyone can verify a certificate; the admin can revoke one, and everyone then sees it."""

from __future__ import annotations

import httpx

from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def issued_certificate(training: Training, ref: str, name: str) -> tuple[str, str, str]:
    certificate = await training.certify(ref, name)
    code = certificate["verification_url"].rsplit("/", 1)[1]
    return certificate["enrolment_id"], certificate["number"], code


async def test_the_verification_page_shows_the_certificate_in_its_language_without_email(
    training: Training, admin: Api
) -> None:
    _, number, code = await issued_certificate(training, "page", "Гергана Христова")
    page = await admin.http.get(f"{admin.urls['certification']}/verify/{code}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Валиден" in page.text and "Гергана Христова" in page.text and number in page.text
    assert training.address("page") not in page.text

    unknown = await admin.http.get(f"{admin.urls['certification']}/v1/verify/nosuchcode")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_a_revoked_certificate_verifies_as_revoked_with_its_reason(
    training: Training, admin: Api
) -> None:
    enrolment_id, number, code = await issued_certificate(training, "rev", "Jan Wiśniewski")
    partner_try = await training.partner.call(
        "certification", "POST", f"/v1/certificates/{number}/revoke", json={"reason": "mine"}
    )
    assert partner_try.status_code == 403

    revoked = await admin.ok(
        "certification",
        "POST",
        f"/v1/certificates/{number}/revoke",
        json={"reason": "issued to the wrong person"},
    )
    assert revoked["status"] == "revoked"
    verified = await admin.verify(code)
    assert (verified["valid"], verified["status"]) == (False, "revoked")
    assert verified["revoked_reason"] == "issued to the wrong person"

    async def registration_knows() -> bool:
        return (await training.partner.enrolment(enrolment_id))["status"] == "revoked"

    await eventually(registration_knows, what="registration to show 'revoked'")


async def test_a_partner_reads_its_certificates_but_not_another_partners(
    training: Training, admin: Api
) -> None:
    _, number, _ = await issued_certificate(training, "own", "Olga Petrenko")
    assert (await training.partner.ok("certification", "GET", f"/v1/certificates/{number}"))[
        "number"
    ] == number
    other = await admin.create_partner("Somebody else")
    stranger = admin.as_partner(other["api_key"])

    async def key_known() -> bool:  # keys reach certification as events
        response = await stranger.call("certification", "GET", f"/v1/certificates/{number}")
        return response.status_code != 401

    await eventually(key_known, what="certification to learn the new partner's key")
    response = await stranger.call("certification", "GET", f"/v1/certificates/{number}/pdf")
    assert response.status_code == 404
    await stranger.close()


async def test_every_service_reports_health_metrics_and_its_contracts(admin: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for name, url in admin.urls.items():
            ready = await http.get(f"{url}/health/ready")
            assert ready.status_code == 200, name
            assert ready.json()["checks"] == {"started": True, "mongodb": True, "kafka": True}
            assert (await http.get(f"{url}/health/live")).status_code == 200
            metrics = (await http.get(f"{url}/metrics")).text
            assert "attesta_http_requests_total" in metrics, name
            assert (await http.get(f"{url}/docs")).status_code == 200
            assert (await http.get(f"{url}/openapi.json")).json()["paths"], name
            asyncapi = (await http.get(f"{url}/asyncapi")).json()
            assert asyncapi["channels"], name
            # The same document as a file; tests/integration/test_asyncapi.py checks its content.
            assert (await http.get(f"{url}/asyncapi.json")).json() == asyncapi, name

"""Partners' keys: shown once, rotated without downtime, revoked everywhere."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually
from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def test_a_rotated_key_works_alongside_the_old_one_until_the_old_one_is_revoked(
    training: Training, admin: Api
) -> None:
    partner_id = training.partner_id
    fresh = await admin.ok("registration", "POST", f"/v1/partners/{partner_id}/keys")
    assert fresh["api_key"].startswith(f"ak_{fresh['key_id']}_")
    new_partner = admin.as_partner(fresh["api_key"])
    try:
        course_path = f"/v1/courses/{training.course['id']}"
        assert (await training.partner.call("registration", "GET", course_path)).status_code == 200
        assert (await new_partner.call("registration", "GET", course_path)).status_code == 200

        listed = await admin.ok("registration", "GET", f"/v1/partners/{partner_id}")
        old_key_id = next(k["key_id"] for k in listed["keys"] if k["key_id"] != fresh["key_id"])
        revoked = await admin.call(
            "registration", "DELETE", f"/v1/partners/{partner_id}/keys/{old_key_id}"
        )
        assert revoked.status_code == 204

        old_answer = await training.partner.call("registration", "GET", course_path)
        assert old_answer.status_code == 401
        assert old_answer.headers["content-type"] == "application/problem+json"
        assert (await new_partner.call("registration", "GET", course_path)).status_code == 200

        # The certification service learns of the revocation from `partner.keys`.
        async def refused_by_certification() -> bool:
            answer = await training.partner.call(
                "certification", "GET", "/v1/certificates/NO-SUCH-1"
            )
            return answer.status_code == 401

        await eventually(refused_by_certification, what="certification to refuse the old key")
        still = await new_partner.call("certification", "GET", "/v1/certificates/NO-SUCH-1")
        assert still.status_code == 404

        keys = (await admin.ok("registration", "GET", f"/v1/partners/{partner_id}"))["keys"]
        by_id = {k["key_id"]: k for k in keys}
        assert by_id[old_key_id]["revoked_at"] is not None
        assert by_id[fresh["key_id"]]["revoked_at"] is None
    finally:
        await new_partner.close()


async def test_revoking_a_key_twice_is_harmless_and_an_unknown_key_is_a_404(
    training: Training, admin: Api
) -> None:
    partner_id = training.partner_id
    key = await admin.ok("registration", "POST", f"/v1/partners/{partner_id}/keys")
    path = f"/v1/partners/{partner_id}/keys/{key['key_id']}"
    assert (await admin.call("registration", "DELETE", path)).status_code == 204
    assert (await admin.call("registration", "DELETE", path)).status_code == 204
    unknown = await admin.call("registration", "DELETE", f"/v1/partners/{partner_id}/keys/nope")
    assert unknown.status_code == 404


async def test_partners_cannot_manage_partners_or_keys(training: Training) -> None:
    partner = training.partner
    for method, path in [
        ("GET", "/v1/partners"),
        ("POST", f"/v1/partners/{training.partner_id}/keys"),
        ("DELETE", f"/v1/partners/{training.partner_id}/keys/whatever"),
    ]:
        answer = await partner.call("registration", method, path)
        assert answer.status_code == 403, (method, path, answer.text)


async def test_the_partner_list_pages_and_shows_key_ids_but_never_keys(admin: Api) -> None:
    created = [await admin.create_partner(f"Town {i}") for i in range(3)]
    seen: dict[str, Any] = {}
    cursor: str | None = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await admin.ok("registration", "GET", "/v1/partners", params=params)
        seen.update({p["id"]: p for p in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    for partner in created:
        listed = seen[partner["id"]]
        assert [k["key_id"] for k in listed["keys"]] == [partner["key_id"]]
        assert listed["keys"][0]["revoked_at"] is None
        assert partner["api_key"] not in str(listed)

"""A client that lost an answer retries with the same Idempotency-Key and gets the first one."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def test_a_replayed_partner_creation_returns_the_first_answer_and_creates_one_partner(
    admin: Api,
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    name = f"Община {uuid.uuid4().hex[:6]}"
    first = await admin.call(
        "registration", "POST", "/v1/partners", json={"name": name}, headers=key
    )
    again = await admin.call(
        "registration", "POST", "/v1/partners", json={"name": name}, headers=key
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers

    named: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = await admin.ok("registration", "GET", "/v1/partners", params=params)
        named += [p for p in page["items"] if p["name"] == name]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [p["id"] for p in named] == [first.json()["id"]]


async def test_the_same_key_with_a_different_body_is_refused(training: Training) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/courses/{training.course['id']}/enrolments"
    body = {"external_ref": "i1", "full_name": "Jan Kowalski", "email": training.address("i1")}
    first = await training.partner.call("registration", "POST", path, json=body, headers=key)
    other = await training.partner.call(
        "registration", "POST", path, json=body | {"external_ref": "i2"}, headers=key
    )
    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    listed = await training.partner.ok(
        "registration", "GET", f"/v1/courses/{training.course['id']}/enrolments"
    )
    assert [e["external_ref"] for e in listed["items"]] == ["i1"]


async def test_a_key_is_private_to_the_caller_who_used_it(training: Training, admin: Api) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/courses/{training.course['id']}/enrolments"
    body = {"external_ref": "i3", "full_name": "Ewa Nowak", "email": training.address("i3")}
    mine = await training.partner.call("registration", "POST", path, json=body, headers=key)
    # The admin may not enrol: the same key must not hand the partner's answer to the admin.
    theirs = await admin.call("registration", "POST", path, json=body, headers=key)
    assert mine.status_code == 201
    assert theirs.status_code == 403

"""Partners page through a course's enrolments and see only their own."""

from __future__ import annotations

from typing import Any

from tests.e2e.api_client import Api
from tests.e2e.conftest import Training


async def test_a_course_of_five_reads_in_pages_of_two_without_gaps_or_repeats(
    training: Training,
) -> None:
    partner, course_id = training.partner, training.course["id"]
    ids = {
        await partner.enrol(course_id, f"p{i}", f"Person {i}", training.address(f"p{i}"))
        for i in range(5)
    }
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await partner.ok(
            "registration", "GET", f"/v1/courses/{course_id}/enrolments", params=params
        )
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(ids)


async def test_listing_filters_by_status_and_hides_other_partners(
    training: Training, admin: Api
) -> None:
    partner, course_id = training.partner, training.course["id"]
    await partner.enrol(course_id, "f1", "Filter One", training.address("f1"))
    page = await partner.ok(
        "registration", "GET", f"/v1/courses/{course_id}/enrolments", params={"status": "certified"}
    )
    assert page["items"] == []

    other = await admin.create_partner("Other municipality")
    stranger = admin.as_partner(other["api_key"])
    response = await stranger.call("registration", "GET", f"/v1/courses/{course_id}/enrolments")
    assert response.status_code == 404
    await stranger.close()

"""Twelve towns share one online session: each sees and changes only its own trainees."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Services
from tests.e2e.api_client import Api, course_body

TOWNS = 12


@dataclass
class Town:
    id: str
    api: Api
    enrolment_ids: dict[str, str]


@pytest.fixture(scope="module")
async def towns(services: Services) -> AsyncIterator[tuple[dict[str, Any], list[Town]]]:
    """Built once for the module: the tests below each look at a different town or trainee."""
    admin = Api(services.urls)
    tag = uuid.uuid4().hex[:6]
    partners = [await admin.create_partner(f"Town {i} {tag}") for i in range(TOWNS)]
    course = await admin.create_course(
        course_body(
            [p["id"] for p in partners],
            code=f"ONLINE-{tag}",
            sessions=["2026-03-05"],
            min_sessions=1,
        )
    )
    towns = []
    for i, partner in enumerate(partners):
        api = admin.as_partner(partner["api_key"])
        ids = {}
        for ref in ("official-1", "official-2"):  # every town numbers its staff the same way
            ids[ref] = await api.enrol(
                course["id"], ref, f"Official {ref} of {i}", f"{ref}.{i}.{tag}@example.pl"
            )
        towns.append(Town(partner["id"], api, ids))
    yield course, towns
    for town in towns:
        await town.api.close()
    await admin.close()


async def test_the_same_external_ref_in_twelve_towns_is_twelve_different_trainees(
    towns: tuple[dict[str, Any], list[Town]],
) -> None:
    _, all_towns = towns
    ids = {town.enrolment_ids["official-1"] for town in all_towns}
    assert len(ids) == TOWNS


async def test_a_town_cannot_read_or_change_another_towns_enrolment(
    towns: tuple[dict[str, Any], list[Town]],
) -> None:
    _, (first, second, *_) = towns
    theirs = second.enrolment_ids["official-1"]
    for method, path, body in [
        ("GET", f"/v1/enrolments/{theirs}", None),
        ("POST", f"/v1/enrolments/{theirs}/complete", None),
        ("POST", f"/v1/enrolments/{theirs}/withdraw", None),
        ("PATCH", f"/v1/enrolments/{theirs}", {"full_name": "Someone Else"}),
    ]:
        answer = await first.api.call("registration", method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
    mine = await second.api.enrolment(theirs)
    assert mine["status"] == "enrolled" and mine["full_name"].startswith("Official official-1")


async def test_attendance_names_only_the_uploading_towns_trainees(
    towns: tuple[dict[str, Any], list[Town]],
) -> None:
    course, (first, second, *_) = towns
    result = await first.api.attend(course["id"], "2026-03-05", ["official-1", "stranger"])
    assert result["recorded"] == 1 and result["completed"] == 1
    assert result["unknown"] == ["stranger"]
    # The second town's official-1 was not touched by the first town's upload.
    theirs = await second.api.enrolment(second.enrolment_ids["official-1"])
    assert theirs["status"] == "enrolled" and theirs["attended_sessions"] == []


async def test_each_town_lists_and_reports_only_its_own_trainees(
    towns: tuple[dict[str, Any], list[Town]], admin: Api
) -> None:
    course, all_towns = towns
    town = all_towns[3]
    page = await town.api.ok("registration", "GET", f"/v1/courses/{course['id']}/enrolments")
    assert {item["id"] for item in page["items"]} == set(town.enrolment_ids.values())
    report = await town.api.ok("registration", "GET", f"/v1/reports/courses/{course['id']}")
    assert report["enrolled"] == 2
    assert [line["partner_id"] for line in report["by_partner"]] == [town.id]
    everyone = await admin.ok("registration", "GET", f"/v1/reports/courses/{course['id']}")
    assert everyone["enrolled"] == 2 * TOWNS and len(everyone["by_partner"]) == TOWNS


async def test_a_partner_lists_only_the_courses_it_is_allowed_on(
    towns: tuple[dict[str, Any], list[Town]], admin: Api
) -> None:
    course, (town, *_) = towns
    other = await admin.create_course(course_body([], code=f"OTHER-{uuid.uuid4().hex[:6]}"))
    listed: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = await town.api.ok("registration", "GET", "/v1/courses", params=params)
        listed += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert course["id"] in listed
    assert other["id"] not in listed
    hidden = await town.api.call("registration", "GET", f"/v1/courses/{other['id']}")
    assert hidden.status_code == 404

"""Funders and issuers kept once and named by id; the reports a funder asks for at grant end."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from tests.e2e.api_client import Api, course_body
from tests.e2e.conftest import Training

ACKNOWLEDGEMENT = (
    "This training was made possible by the support of the American people through "
    "the United States Agency for International Development (USAID)."
)


async def test_a_course_names_its_funder_by_id_and_carries_the_acknowledgement(
    training: Training, admin: Api
) -> None:
    funder = await admin.ok(
        "registration",
        "POST",
        "/v1/funders",
        json={
            "name": "USAID",
            "programme": "Local Government Initiative",
            "grant_id": "AID-183-A-00-00001",
            "acknowledgement": ACKNOWLEDGEMENT,
            "logo_svg": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
            '<script>alert(2)</script><rect width="10" height="10"/></svg>',
        },
    )
    assert "script" not in funder["logo_svg"] and "onload" not in funder["logo_svg"]
    assert "<rect" in funder["logo_svg"]
    issuer = await admin.ok("registration", "POST", "/v1/issuers", json={"name": "FLGR"})
    body = course_body([training.partner_id], code=f"ID-{uuid.uuid4().hex[:6]}")
    del body["funder"], body["issuer"]
    course = await admin.create_course(
        body | {"funder_id": funder["id"], "issuer_id": issuer["id"]}
    )
    assert course["funder_id"] == funder["id"]
    assert course["funder"]["acknowledgement"] == ACKNOWLEDGEMENT
    assert course["funder"]["grant_id"] == "AID-183-A-00-00001"
    assert course["issuer"]["name"] == "FLGR"
    # A partner may read the funder it works for.
    seen = await training.partner.ok("registration", "GET", f"/v1/funders/{funder['id']}")
    assert seen["name"] == "USAID"


async def test_a_course_with_both_or_neither_funder_forms_or_an_unknown_funder_is_refused(
    training: Training, admin: Api
) -> None:
    body = course_body([training.partner_id])
    both = await admin.call("registration", "POST", "/v1/courses", json=body | {"funder_id": "x"})
    assert both.status_code == 422
    assert both.json()["errors"] == [
        {"field": "funder", "message": "give either funder or funder_id, not both"}
    ]
    del body["funder"]
    unknown = await admin.call(
        "registration", "POST", "/v1/courses", json=body | {"funder_id": "x"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "funder_id", "message": "unknown funder"}]
    neither = await admin.call("registration", "POST", "/v1/courses", json=body)
    assert neither.status_code == 422


async def test_an_svg_logo_with_a_doctype_is_refused_with_a_reason(admin: Api) -> None:
    answer = await admin.call(
        "registration",
        "POST",
        "/v1/issuers",
        json={
            "name": "Bomb",
            "logo_svg": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
            '<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        },
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"].startswith("logo_svg")


async def enrol_and_complete(partner: Api, course_id: str, refs: list[str], done: int) -> None:
    for i, ref in enumerate(refs):
        enrolment_id = await partner.enrol(course_id, ref, f"Trainee {ref}", f"{ref}@example.bg")
        if i < done:
            await partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")


async def test_the_funder_report_counts_trainees_per_programme_issuer_and_partner(
    admin: Api,
) -> None:
    tag = uuid.uuid4().hex[:6]
    funder = await admin.ok(
        "registration",
        "POST",
        "/v1/funders",
        json={"name": f"City programme {tag}", "programme": "P1"},
    )
    towns = [await admin.create_partner(f"Town {name} {tag}") for name in ("A", "B")]
    spring = course_body(
        [t["id"] for t in towns], code=f"SPRING-{tag}", sessions=["2026-04-01"], min_sessions=1
    )
    autumn = course_body(
        [towns[0]["id"]], code=f"AUTUMN-{tag}", sessions=["2026-10-01"], min_sessions=1
    )
    for body in (spring, autumn):
        del body["funder"]
    spring_course = await admin.create_course(spring | {"funder_id": funder["id"]})
    autumn_course = await admin.create_course(autumn | {"funder_id": funder["id"]})
    town_a, town_b = (admin.as_partner(t["api_key"]) for t in towns)
    try:
        await enrol_and_complete(
            town_a, spring_course["id"], [f"a{i}-{tag}" for i in range(3)], done=2
        )
        await enrol_and_complete(
            town_b, spring_course["id"], [f"b{i}-{tag}" for i in range(2)], done=2
        )
        await enrol_and_complete(
            town_a, autumn_course["id"], [f"c{i}-{tag}" for i in range(4)], done=1
        )
    finally:
        await town_a.close()
        await town_b.close()

    whole = await admin.ok(
        "registration", "GET", "/v1/reports/funders", params={"funder": funder["id"]}
    )
    lines = {line["partner"]: line for line in whole["lines"]}
    a, b = lines[f"Town A {tag}"], lines[f"Town B {tag}"]
    assert (a["courses"], a["enrolled"], a["completed"]) == (2, 7, 3)
    assert (b["courses"], b["enrolled"], b["completed"]) == (1, 2, 2)
    assert a["programme"] == "P1" and a["funder"] == f"City programme {tag}"

    spring_only = await admin.ok(
        "registration",
        "GET",
        "/v1/reports/funders",
        params={"funder": funder["id"], "from": "2026-01-01", "to": "2026-06-30"},
    )
    assert {line["partner"]: line["enrolled"] for line in spring_only["lines"]} == {
        f"Town A {tag}": 3,
        f"Town B {tag}": 2,
    }

    as_csv = await admin.call(
        "registration",
        "GET",
        "/v1/reports/funders",
        params={"funder": funder["id"]},
        headers={"Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert {(r["partner"], r["enrolled"], r["completed"]) for r in rows} == {
        (f"Town A {tag}", "7", "3"),
        (f"Town B {tag}", "2", "2"),
    }

    course_report = await admin.ok(
        "registration", "GET", f"/v1/reports/courses/{spring_course['id']}"
    )
    assert (course_report["enrolled"], course_report["completed"]) == (5, 4)


async def test_a_period_that_ends_before_it_starts_is_refused(admin: Api) -> None:
    answer = await admin.call(
        "registration",
        "GET",
        "/v1/reports/funders",
        params={"from": "2026-05-01", "to": "2026-01-01"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "from"


async def test_partners_may_not_read_the_funder_report(training: Training) -> None:
    answer = await training.partner.call("registration", "GET", "/v1/reports/funders")
    assert answer.status_code == 403

"""Spreadsheets of trainees: streamed, validated row by row, re-uploadable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from tests.e2e.conftest import Training


async def upload(training: Training, body: bytes | AsyncIterator[bytes], content_type: str) -> Any:
    return await training.partner.call(
        "registration",
        "POST",
        f"/v1/courses/{training.course['id']}/enrolments/bulk",
        content=body,
        headers={"content-type": content_type},
    )


async def all_enrolments(training: Training) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = await training.partner.ok(
            "registration", "GET", f"/v1/courses/{training.course['id']}/enrolments", params=params
        )
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_a_semicolon_csv_with_bom_and_quoted_fields_is_read_as_a_spreadsheet_wrote_it(
    training: Training,
) -> None:
    text = (
        "\ufeffExternal_Ref;Full_Name;Email;Position;Organisation\r\n"
        f'k1;"Иванова; Мария";{training.address("k1")};"Главен специалист ""ГРАО""";Община\r\n'
        "\r\n"
        f'k2;Łukasz Żółć;{training.address("k2")};;"Urząd Miasta\r\nKraków"\r\n'
    )
    answer = await upload(training, text.encode(), "text/csv; charset=utf-8")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "rows": 2,
        "accepted": 2,
        "duplicates": 0,
        "rejected_total": 0,
        "rejected": [],
    }
    by_ref = {e["external_ref"]: e for e in await all_enrolments(training)}
    assert by_ref["k1"]["full_name"] == "Иванова; Мария"
    assert by_ref["k1"]["position"] == 'Главен специалист "ГРАО"'
    assert by_ref["k2"]["position"] is None
    assert by_ref["k2"]["organisation"] == "Urząd Miasta\r\nKraków"


async def test_bad_rows_are_reported_with_row_numbers_and_the_good_rows_are_kept(
    training: Training,
) -> None:
    rows = ["external_ref,full_name,email"]
    rows += [f"r{i},Person {i},{training.address(f'r{i}')}" for i in range(1, 8)]
    rows[3] = "r3,Person 3,not-an-email"
    rows[5] = "r5,,"
    rows.append("r9,Too,many,fields")
    answer = await upload(training, "\n".join(rows).encode(), "text/csv")
    result = answer.json()
    assert (result["rows"], result["accepted"], result["rejected_total"]) == (8, 5, 3)
    rejected = {r["row"]: r for r in result["rejected"]}
    assert sorted(rejected) == [3, 5, 8]
    assert [e["field"] for e in rejected[3]["errors"]] == ["email"]
    assert {e["field"] for e in rejected[5]["errors"]} == {"full_name", "email"}
    assert rejected[8]["errors"][0]["field"] == "row"
    assert rejected[3]["external_ref"] == "r3"
    refs = {e["external_ref"] for e in await all_enrolments(training)}
    assert refs == {"r1", "r2", "r4", "r6", "r7"}


async def test_uploading_the_same_spreadsheet_again_changes_nothing(training: Training) -> None:
    text = "external_ref,full_name,email\n" + "".join(
        f"d{i},Person {i},{training.address(f'd{i}')}\n" for i in range(30)
    )
    first = (await upload(training, text.encode(), "text/csv")).json()
    again = (await upload(training, text.encode(), "text/csv")).json()
    assert (first["accepted"], first["duplicates"]) == (30, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 30)
    assert len(await all_enrolments(training)) == 30


async def test_a_header_with_an_unknown_column_is_refused_before_any_row_is_enrolled(
    training: Training,
) -> None:
    text = f"external_ref,full_name,email,organization\nu1,Person,{training.address('u1')},X\n"
    answer = await upload(training, text.encode(), "text/csv")
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["errors"][0]["field"] == "header"
    assert "organization" in problem["detail"] and "organisation" in problem["detail"]
    assert await all_enrolments(training) == []


async def test_a_csv_that_is_not_utf8_is_refused_with_a_hint(training: Training) -> None:
    text = f"external_ref,full_name,email\nw1,Łukasz,{training.address('w1')}\n"
    answer = await upload(training, text.encode("cp1250"), "text/csv")
    assert answer.status_code == 400
    assert "UTF-8" in answer.json()["detail"]
    assert await all_enrolments(training) == []


async def test_a_large_json_upload_streams_in_batches_and_keeps_every_good_row(
    training: Training,
) -> None:
    count = 1_203  # more than two batches of 500

    async def body() -> AsyncIterator[bytes]:
        yield b'{"enrolments": ['
        for i in range(count):
            row: Any = {
                "external_ref": f"j{i}",
                "full_name": f"Trainee {i}",
                "email": training.address(f"j{i}"),
            }
            if i == 700:
                row = "not an object"
            elif i == 701:
                row["email"] = "nope"
            yield (b"," if i else b"") + json.dumps(row).encode()
        yield b"]}"

    answer = await upload(training, body(), "application/json")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["rows"], result["accepted"], result["rejected_total"]) == (count, count - 2, 2)
    assert [r["row"] for r in result["rejected"]] == [701, 702]
    assert len(await all_enrolments(training)) == count - 2


async def test_an_unsupported_media_type_is_a_415(training: Training) -> None:
    answer = await upload(training, b"<xml/>", "application/xml")
    assert answer.status_code == 415


async def test_a_csv_that_turns_unreadable_halfway_keeps_the_batches_read_before_it(
    training: Training,
) -> None:
    header = "external_ref,full_name,email\n"
    good = "".join(f"h{i},Trainee {i},{training.address(f'h{i}')}\n" for i in range(1_100))

    async def body() -> AsyncIterator[bytes]:
        yield (header + good).encode()
        await asyncio.sleep(0.3)  # so the service has read every good row before the bad one
        yield "h-bad,Łukasz,x@y.z\n".encode("cp1250")

    answer = await upload(training, body(), "text/csv")

    assert answer.status_code == 400
    assert "UTF-8" in answer.json()["detail"]
    # Two whole batches of 500 were read before the unreadable line: they stay enrolled, and a
    # corrected re-upload counts them as duplicates.
    assert len(await all_enrolments(training)) == 1_000
    again = (await upload(training, (header + good).encode(), "text/csv")).json()
    assert (again["accepted"], again["duplicates"]) == (100, 1_000)

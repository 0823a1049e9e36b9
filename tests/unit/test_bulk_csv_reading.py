"""Reading a spreadsheet export as it streams in, whatever the chunk boundaries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.registration.uploads import Row, UploadProblem, csv_rows, json_rows

EXPORT = (
    "\ufeffexternal_ref;full_name;email;organisation\r\n"
    '1;"Петров; Иван";ivan@example.bg;"Община ""Димитровград"""\r\n'
    "\r\n"
    '2;"Anna\nNowak";anna@example.pl;\r\n'
    "3;Zoë;zoe@example.com;Urząd\r\n"
).encode()


async def pieces(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted(set(cuts)):
        yield data[start:cut]
        start = cut
    yield data[start:]


Reader = Callable[[AsyncIterator[bytes]], AsyncIterator[Row]]


def read(data: bytes, cuts: list[int] | None = None, reader: Reader = csv_rows) -> list[Row]:
    async def collect() -> list[Row]:
        return [row async for row in reader(pieces(data, cuts or []))]

    return asyncio.run(collect())


def test_a_semicolon_export_with_bom_quotes_and_a_blank_line_reads_as_three_rows() -> None:
    rows = read(EXPORT)
    assert [row.number for row in rows] == [1, 3, 4]
    assert rows[0].fields == {
        "external_ref": "1",
        "full_name": "Петров; Иван",
        "email": "ivan@example.bg",
        "organisation": 'Община "Димитровград"',
    }
    assert rows[1].fields["full_name"] == "Anna\nNowak"
    assert rows[1].fields["organisation"] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(EXPORT)), max_size=12))
def test_chunk_boundaries_never_change_what_is_read(cuts: list[int]) -> None:
    # Cuts may fall inside a multi-byte letter, a quoted field or between \r and \n.
    assert read(EXPORT, cuts) == read(EXPORT)


def test_a_row_with_more_fields_than_the_header_is_reported_not_guessed() -> None:
    [row] = read(b"external_ref,full_name,email\n1,Kowalski, Jan,jan@example.pl\n")
    assert row.problem is not None and "missing its quotes" in row.problem


def test_a_header_without_the_email_column_is_refused() -> None:
    with pytest.raises(UploadProblem, match=r"missing column\(s\) email"):
        read(b"external_ref,full_name\n1,Jan\n")


def test_bytes_that_are_not_utf8_are_refused_with_their_position() -> None:
    with pytest.raises(UploadProblem, match=r"not UTF-8.*at byte 31"):
        read("external_ref,full_name,email\n1,Łukasz,l@example.pl\n".encode("cp1250"))


def test_an_empty_body_is_refused() -> None:
    with pytest.raises(UploadProblem, match="empty"):
        read(b"")


def test_json_rows_stream_in_and_a_non_object_row_is_reported() -> None:
    body = b'{"enrolments": [{"external_ref": "a"}, 7, {"external_ref": "b"}]}'
    rows = read(body, [5, 17, 40], reader=json_rows)
    assert [r.number for r in rows] == [1, 2, 3]
    assert rows[1].problem is not None
    assert rows[2].fields == {"external_ref": "b"}


def test_truncated_json_is_refused() -> None:
    with pytest.raises(UploadProblem, match="not valid JSON"):
        read(b'{"enrolments": [{"external_ref": "a"}', reader=json_rows)

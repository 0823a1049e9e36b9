"""Reading a bulk upload as it arrives: rows come out while the body is still streaming in, so
a spreadsheet of 100,000 rows never sits in memory whole.

CSV: UTF-8 with or without a byte-order mark, `,` or `;` separated (spreadsheets in much of
Europe export `;` because `,` is their decimal mark), quoted fields may hold separators and line
breaks. JSON: `{"enrolments": [ {…}, … ]}`, parsed incrementally.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import ijson

KNOWN_COLUMNS = ("external_ref", "full_name", "email", "position", "organisation")
REQUIRED_COLUMNS = ("external_ref", "full_name", "email")


class UploadProblem(ValueError):
    """The upload as a whole cannot be read (as opposed to one bad row)."""

    def __init__(self, detail: str, field: str = "body") -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row: the spreadsheet line minus the header
    fields: dict[str, Any]
    problem: str | None = None  # set when the row cannot even be split into fields


def sniff_delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def check_header(columns: list[str]) -> list[str]:
    names = [c.strip().lower() for c in columns]
    unknown = [c for c in names if c and c not in KNOWN_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise UploadProblem(
            f"The CSV header has {' and '.join(parts)}; expected {', '.join(KNOWN_COLUMNS)} "
            "(the last two are optional).",
            field="header",
        )
    return names


class CsvStream:
    """Turns text, fed in arbitrary pieces, into rows. A record is complete once its quotes
    balance (an escaped quote is written twice, which keeps the count even), so a quoted field
    may span lines and chunk boundaries."""

    def __init__(self) -> None:
        self._partial_line = ""
        self._pending = ""
        self._header: list[str] | None = None
        self._delimiter = ","
        self._number = 0

    def feed(self, text: str) -> list[Row]:
        # Split on "\n" only: "\r\n" may straddle two chunks, and other line separators
        # (U+2028 …) are text inside a field.
        *lines, self._partial_line = (self._partial_line + text).split("\n")
        records: list[str] = []
        for line in lines:
            self._pending += line + "\n"
            if self._pending.count('"') % 2 == 0:
                records.append(self._pending)
                self._pending = ""
        return self._rows(records)

    def finish(self) -> list[Row]:
        rows = self.feed("\n") if self._partial_line.strip() else []
        if self._pending:  # an unbalanced quote at the very end: that row fails on its own
            rows += self._rows([self._pending])
            self._pending = ""
        if self._header is None:
            raise UploadProblem("The CSV is empty: it needs a header row and data rows.")
        return rows

    def _rows(self, records: list[str]) -> list[Row]:
        if not records:
            return []
        if self._header is None:
            self._delimiter = sniff_delimiter(records[0])
            self._header = check_header(next(csv.reader(records[:1], delimiter=self._delimiter)))
            records = records[1:]
        rows = []
        for values in csv.reader(records, delimiter=self._delimiter):
            self._number += 1
            if any(v.strip() for v in values):
                rows.append(self._row(values))
        return rows

    def _row(self, values: list[str]) -> Row:
        assert self._header is not None
        if len(values) > len(self._header):
            return Row(
                self._number,
                {},
                f"{len(values)} fields where the header has {len(self._header)} "
                f"(is a value with a '{self._delimiter}' missing its quotes?)",
            )
        fields = {
            name: (value.strip() or None)
            for name, value in zip(self._header, values, strict=False)
            if name
        }
        return Row(self._number, fields)


async def csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[Row]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    stream = CsvStream()
    offset = 0
    async for chunk in chunks:
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise UploadProblem(
                f"The CSV is not UTF-8 ({error.reason} at byte {offset + error.start}); "
                "save it as 'CSV UTF-8' from your spreadsheet."
            ) from None
        offset += len(chunk)
        for row in stream.feed(text):
            yield row
    for row in stream.feed(decoder.decode(b"", final=True)) + stream.finish():
        yield row


async def json_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[Row]:
    # ijson's push interface: we feed the chunks ourselves, so parsing happens in this task
    # (its async-file interface confused the ASGI stack's cancel scopes).
    parsed = ijson.sendable_list()
    parser = ijson.items_coro(parsed, "enrolments.item", use_float=True)
    number = 0
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            parser.send(chunk)
            for item in parsed:
                number += 1
                yield _json_row(number, item)
            del parsed[:]
        parser.close()
    except ijson.JSONError as error:
        raise UploadProblem(
            'The body is not valid JSON of the form {"enrolments": [ … ]} '
            f"({str(error).splitlines()[0]})."
        ) from None
    for item in parsed:
        number += 1
        yield _json_row(number, item)
    if number == 0:
        raise UploadProblem('No rows: send {"enrolments": [ {…}, … ]} with at least one row.')


def _json_row(number: int, item: Any) -> Row:
    if isinstance(item, dict):
        return Row(number, item)
    return Row(number, {}, "each row must be a JSON object of enrolment fields")

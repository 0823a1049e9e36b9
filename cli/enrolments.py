"""`attesta enrol`, `attesta attendance` and `attesta enrolment …`: what a partner uploads,
and one trainee's enrolment."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import httpx

from cli.client import segment
from cli.errors import ALL_REJECTED, OK, CliError
from cli.inputs import display_name, open_binary, read_text, size_of
from cli.output import print_fields, print_json, print_table
from cli.progress import Progress
from cli.registry import Context, Subcommands, command, group

CHUNK = 64 * 1024
SHOWN_REJECTIONS = 20
# The server validates and inserts every row before it answers: 100,000 rows take a while.
UPLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0, read=600.0)


def register(commands: Subcommands) -> None:
    enrol = command(
        commands,
        "enrol",
        enrol_csv,
        help="enrol trainees from a CSV file (partner key)",
        description=(
            "Upload a CSV (header: external_ref,full_name,email[,position,organisation]) to\n"
            "POST /v1/courses/COURSE_ID/enrolments/bulk. FILE may be - for stdin.\n"
            "Exit 0 when at least one row was accepted or already enrolled, 3 when every\n"
            "row was rejected."
        ),
    )
    enrol.add_argument("course_id", metavar="COURSE_ID")
    enrol.add_argument("file", metavar="FILE.csv")
    enrol.add_argument(
        "--rejected-out",
        metavar="FILE.csv",
        help="write every rejected row (row, external_ref, field, message) to this CSV",
    )

    attendance = command(
        commands,
        "attendance",
        record_attendance,
        help="record who attended one session (partner key)",
        description=(
            "FILE is a CSV with an external_ref column, or a plain list of refs, one a line\n"
            "(- for stdin)."
        ),
    )
    attendance.add_argument("course_id", metavar="COURSE_ID")
    attendance.add_argument("session", metavar="SESSION_DATE", type=session_date)
    attendance.add_argument("file", metavar="FILE")

    enrolment = group(commands, "enrolment", help="one enrolment")
    show = command(enrolment, "show", show_enrolment, help="status, certificate and history")
    show.add_argument("enrolment_id", metavar="ID")
    withdraw = command(enrolment, "withdraw", withdraw_enrolment, help="withdraw an enrolment")
    withdraw.add_argument("enrolment_id", metavar="ID")


def session_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


# enrol ---------------------------------------------------------------------------------------
def chunks(handle: BinaryIO, progress: Progress) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk
        # Counted once httpx asks for the next chunk, i.e. once this one went out.
        progress.advance(len(chunk))


def enrol_csv(ctx: Context, args: argparse.Namespace) -> int:
    api = ctx.api  # a missing key should fail before stdin is read
    with open_binary(args.file) as handle:
        size = size_of(handle)
        headers = {"Content-Type": "text/csv; charset=utf-8"}
        if size is not None:
            # Known up front for a file: spares the server a chunked body.
            headers["Content-Length"] = str(size)
        with Progress(size, label=f"uploading {display_name(args.file)}") as progress:
            result = api.json(
                "POST",
                f"/v1/courses/{segment(args.course_id)}/enrolments/bulk",
                content=chunks(handle, progress),
                headers=headers,
                timeout=UPLOAD_TIMEOUT,
            )
    outcome = BulkOutcome.of(result)
    if args.rejected_out:
        write_rejections(args.rejected_out, outcome.rejected)
    if ctx.as_json:
        print_json(result)
    else:
        print_enrol_summary(outcome)
        if args.rejected_out:
            report_rejections_file(args.rejected_out, outcome)
    return ALL_REJECTED if outcome.rejected_total and outcome.usable == 0 else OK


@dataclass(frozen=True)
class BulkOutcome:
    rows: int
    accepted: int
    duplicates: int
    rejected_total: int
    rejected: list[dict[str, Any]]  # may stop short of rejected_total: the API caps the list

    @classmethod
    def of(cls, result: dict[str, Any]) -> BulkOutcome:
        accepted, duplicates = result.get("accepted", 0), result.get("duplicates", 0)
        rejected: list[dict[str, Any]] = result.get("rejected") or []
        # Older servers send neither `rejected_total` nor `rows`: the list was complete then.
        total = result.get("rejected_total", len(rejected))
        rows = result.get("rows", accepted + duplicates + total)
        return cls(rows, accepted, duplicates, total, rejected)

    @property
    def usable(self) -> int:
        return self.accepted + self.duplicates


def print_enrol_summary(outcome: BulkOutcome) -> None:
    print(
        f"{outcome.rows} rows: {outcome.accepted} accepted, {outcome.duplicates} duplicates "
        f"(already enrolled), {outcome.rejected_total} rejected"
    )
    if not outcome.rejected:
        return
    shown = outcome.rejected[:SHOWN_REJECTIONS]
    print("Rejected rows (numbered from the first data row, the header not counted):")
    print_table(
        ["row", "external_ref", "errors"],
        [
            [r.get("row"), r.get("external_ref"), "; ".join(describe(e) for e in errors_of(r))]
            for r in shown
        ],
    )
    if outcome.rejected_total > len(shown):
        print(
            f"… and {outcome.rejected_total - len(shown)} more "
            "(--rejected-out FILE.csv writes them to a file)"
        )


def report_rejections_file(path: str, outcome: BulkOutcome) -> None:
    if len(outcome.rejected) < outcome.rejected_total:
        print(
            f"The API listed the first {len(outcome.rejected)} of {outcome.rejected_total} "
            f"rejected rows; those are in {path}. Fix them and upload again to see the rest.",
            file=sys.stderr,
        )
    elif outcome.rejected:
        print(f"All {len(outcome.rejected)} rejected rows written to {path}.")


def errors_of(rejection: dict[str, Any]) -> list[dict[str, Any]]:
    return list(rejection.get("errors") or [])


def describe(error: dict[str, Any]) -> str:
    return f"{error.get('field', '?')}: {error.get('message', '')}"


def write_rejections(path: str, rejected: list[dict[str, Any]]) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "external_ref", "field", "message"])
            for r in rejected:
                # One line per error: a spreadsheet filter on `field` finds every bad email.
                for e in errors_of(r) or [{}]:
                    writer.writerow(
                        [
                            r.get("row"),
                            r.get("external_ref") or "",
                            e.get("field", ""),
                            e.get("message", ""),
                        ]
                    )
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror}") from None


# attendance ----------------------------------------------------------------------------------
def read_refs(path: str) -> list[str]:
    """external_refs from a CSV with an `external_ref` column, or from a plain list."""
    text = read_text(path)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter))]
    if "external_ref" in columns:
        column = columns.index("external_ref")
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]
        return [ref for row in rows if len(row) > column and (ref := row[column].strip())]
    if len(columns) > 1:
        raise CliError(
            f"{display_name(path)} has columns ({', '.join(columns)}) but none is external_ref"
        )
    return [line.strip() for line in lines]


def record_attendance(ctx: Context, args: argparse.Namespace) -> int:
    api = ctx.api
    refs = read_refs(args.file)
    if not refs:
        raise CliError(f"{display_name(args.file)} holds no external_ref")
    result = api.json(
        "POST",
        f"/v1/courses/{segment(args.course_id)}/attendance",
        json={"session": args.session.isoformat(), "present": refs},
        timeout=UPLOAD_TIMEOUT,
    )
    if ctx.as_json:
        print_json(result)
        return OK
    unknown: list[str] = result.get("unknown", [])
    print(
        f"{args.session}: {len(refs)} refs sent, {result.get('recorded', 0)} attendances "
        f"recorded, {result.get('completed', 0)} enrolments completed, {len(unknown)} unknown"
    )
    if unknown:
        print("Unknown refs (no enrolment of yours on this course):")
        for ref in unknown:
            print(f"  {ref}")
    return OK


# enrolment -----------------------------------------------------------------------------------
def show_enrolment(ctx: Context, args: argparse.Namespace) -> int:
    enrolment = ctx.api.json("GET", f"/v1/enrolments/{segment(args.enrolment_id)}")
    if ctx.as_json:
        print_json(enrolment)
        return OK
    print_enrolment(enrolment)
    return OK


def print_enrolment(enrolment: dict[str, Any]) -> None:
    print_fields(
        [
            ("id", enrolment.get("id")),
            ("trainee", f"{enrolment.get('full_name', '')} <{enrolment.get('email', '')}>"),
            ("external ref", enrolment.get("external_ref")),
            ("course", enrolment.get("course_id")),
            ("partner", enrolment.get("partner_id")),
            ("status", enrolment.get("status")),
            ("certificate", enrolment.get("certificate_number")),
            ("attended", enrolment.get("attended_sessions")),
        ]
    )
    history = enrolment.get("history") or []
    print("History:")
    print_table(
        ["at", "status", "event"], [[h.get("at"), h.get("status"), h.get("event")] for h in history]
    )


def withdraw_enrolment(ctx: Context, args: argparse.Namespace) -> int:
    enrolment = ctx.api.json("POST", f"/v1/enrolments/{segment(args.enrolment_id)}/withdraw")
    if ctx.as_json:
        print_json(enrolment)
    elif isinstance(enrolment, dict):
        print(f"Enrolment {args.enrolment_id} is now {enrolment.get('status', 'withdrawn')}.")
    else:
        print(f"Enrolment {args.enrolment_id} withdrawn.")
    return OK

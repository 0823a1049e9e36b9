"""`attesta report …`: per-course and per-funder figures."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from cli.client import segment
from cli.errors import OK
from cli.output import print_document, print_json
from cli.registry import Context, Subcommands, command, group


def register(commands: Subcommands) -> None:
    report = group(commands, "report", help="reports for funders and course owners")

    course = command(report, "course", course_report, help="one course: enrolments and outcomes")
    course.add_argument("course_id", metavar="COURSE_ID")

    funders = command(report, "funders", funders_report, help="figures per funder")
    funders.add_argument("--funder", metavar="ID", help="only this funder")
    funders.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", type=iso_date)
    funders.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", type=iso_date)
    funders.add_argument("--csv", action="store_true", help="ask the API for CSV and print it")


def iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def course_report(ctx: Context, args: argparse.Namespace) -> int:
    report = ctx.api.json("GET", f"/v1/reports/courses/{segment(args.course_id)}")
    if ctx.as_json:
        print_json(report)
    else:
        print_document(report)
    return OK


def funders_report(ctx: Context, args: argparse.Namespace) -> int:
    params = {"funder": args.funder, "from": args.date_from, "to": args.date_to}
    if args.csv:
        response = ctx.api.request(
            "GET", "/v1/reports/funders", params=params, headers={"Accept": "text/csv"}
        )
        # As is: the CSV goes straight into a spreadsheet or a file.
        sys.stdout.write(response.text)
        return OK
    report = ctx.api.json("GET", "/v1/reports/funders", params=params)
    if ctx.as_json:
        print_json(report)
    else:
        print_document(report)
    return OK

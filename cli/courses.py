"""`attesta courses …`: create a course from a JSON file, list courses."""

from __future__ import annotations

import argparse
from typing import Any

from cli.errors import OK, CliError
from cli.inputs import display_name, read_json
from cli.output import print_fields, print_json, print_table
from cli.registry import Context, Subcommands, command, group


def register(commands: Subcommands) -> None:
    courses = group(commands, "courses", help="training courses")
    create = command(
        courses,
        "create",
        create_course,
        help="create a course from a JSON file",
        description=(
            "Create a course from a JSON file (or - for stdin) holding the body of\n"
            "POST /v1/courses: code, title, language, issuer, funder, sessions,\n"
            "min_sessions, signatories, location, partner_ids, …"
        ),
    )
    create.add_argument("file", metavar="FILE.json")
    command(courses, "list", list_courses, help="list every course")


def create_course(ctx: Context, args: argparse.Namespace) -> int:
    body = read_json(args.file)
    if not isinstance(body, dict):
        raise CliError(f"{display_name(args.file)} must hold one JSON object (the course)")
    course = ctx.api.json("POST", "/v1/courses", json=body)
    if ctx.as_json:
        print_json(course)
        return OK
    print(f"Created course {course.get('code', '')}")
    print_fields(
        [
            ("id", course["id"]),
            ("title", course.get("title")),
            ("language", course.get("language")),
            ("sessions", course.get("sessions")),
            ("min sessions", course.get("min_sessions")),
            ("partners", course.get("partner_ids")),
        ]
    )
    return OK


def list_courses(ctx: Context, args: argparse.Namespace) -> int:
    courses = list(ctx.api.pages("/v1/courses"))
    if ctx.as_json:
        print_json(courses)
        return OK
    print_table(
        ["id", "code", "title", "language", "sessions", "min"],
        [
            [
                c["id"],
                c.get("code"),
                c.get("title"),
                c.get("language"),
                span(c),
                c.get("min_sessions"),
            ]
            for c in courses
        ],
    )
    return OK


def span(course: dict[str, Any]) -> str:
    sessions: list[str] = sorted(course.get("sessions") or [])
    if not sessions:
        return ""
    if len(sessions) == 1:
        return sessions[0]
    return f"{len(sessions)}: {sessions[0]} … {sessions[-1]}"

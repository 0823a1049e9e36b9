"""Reports for the end of a grant: per course, and per funder programme, issuer and partner."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.registration import reports
from services.registration.http.deps import Admin, Caller, Store, visible_course
from services.registration.schemas import CourseReport, FunderReportOut, PartnerFunnel
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` for a spreadsheet; `Accept: text/csv` does the same."),
]


def wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def csv_response(columns: tuple[str, ...], lines: list[dict[str, object]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(lines)
    # The BOM makes spreadsheet programs read the Cyrillic and Polish text as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def in_period(course: Document, start: date | None, end: date | None) -> bool:
    """A course belongs to a period when any of its sessions falls in it."""
    days = [date.fromisoformat(d) for d in course["sessions"]]
    return any((start is None or d >= start) and (end is None or d <= end) for d in days)


@router.get("/courses/{course_id}", response_model=CourseReport)
async def course_report(
    course_id: str, request: Request, caller: Caller, store: Store, format: Format = None
) -> CourseReport | Response:
    course = await visible_course(course_id, caller, store)
    enrolments = await store.for_report(course_id, None if caller.is_admin else caller.partner_id)
    total = reports.Funnel()
    by_partner: dict[str, reports.Funnel] = defaultdict(reports.Funnel)
    for enrolment in enrolments:
        total.add(enrolment)
        by_partner[enrolment["partner_id"]].add(enrolment)
    names = await store.partner_names(sorted(by_partner))
    partners = [
        PartnerFunnel(partner_id=pid, partner=names.get(pid, pid), **funnel.as_dict())
        for pid, funnel in sorted(by_partner.items(), key=lambda item: names.get(item[0], ""))
    ]
    if wants_csv(request, format):
        lines: list[dict[str, object]] = [p.model_dump() for p in partners]
        return csv_response(
            ("partner", "partner_id", *reports.Funnel().as_dict()),
            lines,
            f"course-{course['code']}",
        )
    return CourseReport(
        course_id=course_id,
        code=course["code"],
        title=course["title"],
        by_partner=partners,
        **total.as_dict(),
    )


@router.get(
    "/funders",
    response_model=FunderReportOut,
    summary="Trainees and certificates per funder programme, issuer and partner",
)
async def funder_report(
    request: Request,
    _: Admin,
    store: Store,
    funder: Annotated[str | None, Query(description="A funder id, or a funder's name.")] = None,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    format: Format = None,
) -> FunderReportOut | Response:
    if period_from and period_to and period_from > period_to:
        raise Problem(
            422,
            "`from` is after `to`.",
            errors=[{"field": "from", "message": "must not be after `to`"}],
        )
    report = reports.FunderReport()
    courses = [
        c for c in await store.courses_of_funder(funder) if in_period(c, period_from, period_to)
    ]
    partner_ids: set[str] = set()
    per_course: list[tuple[Document, dict[str, list[Document]]]] = []
    for course in courses:
        grouped: dict[str, list[Document]] = defaultdict(list)
        for enrolment in await store.for_report(course["_id"]):
            grouped[enrolment["partner_id"]].append(enrolment)
        partner_ids.update(grouped)
        per_course.append((course, grouped))
    names = await store.partner_names(sorted(partner_ids))
    for course, grouped in per_course:
        for partner_id, enrolments in grouped.items():
            report.add(course, names.get(partner_id, partner_id), enrolments)
    if wants_csv(request, format):
        return csv_response(reports.REPORT_COLUMNS, list(report.lines()), "funder-report")
    return FunderReportOut.model_validate(
        {
            "funder": funder,
            "period_from": period_from,
            "period_to": period_to,
            "lines": report.lines(),
        }
    )

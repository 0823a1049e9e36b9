"""Enrolments one at a time or by the spreadsheet, attendance, completion, withdrawal and
corrections: what partners post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import EmailStr

from services.registration.domain import Status
from services.registration.http.deps import (
    Caller,
    Cursor,
    PageSize,
    Reg,
    Store,
    enrolment_out,
    next_cursor,
    partner_only,
    visible_course,
    visible_enrolment,
)
from services.registration.schemas import (
    AttendanceIn,
    AttendanceResult,
    BulkIn,
    BulkResult,
    EnrolmentCreated,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentPage,
    EnrolmentPatch,
)
from services.registration.store import EnrolmentFilters
from services.registration.uploads import Row, UploadProblem, csv_rows, json_rows
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["enrolments"])


@router.post(
    "/courses/{course_id}/enrolments",
    status_code=201,
    response_model=EnrolmentCreated,
    responses={200: {"description": "Already enrolled: the existing enrolment."}},
)
async def enrol(
    course_id: str, body: EnrolmentIn, caller: Caller, reg: Reg, store: Store, response: Response
) -> EnrolmentCreated:
    partner_id = partner_only(caller)
    course = await visible_course(course_id, caller, store)
    enrolment, created = await reg.enrol(course, partner_id, body)
    if not created:
        response.status_code = 200
    return EnrolmentCreated(id=enrolment["_id"], status=Status(enrolment["status"]))


def upload_rows(request: Request) -> AsyncIterator[Row]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/csv", "application/csv"):
        return csv_rows(request.stream())
    if content_type in ("application/json", ""):
        return json_rows(request.stream())
    raise Problem(415, 'Send application/json ({"enrolments": […]}) or text/csv.')


@router.post(
    "/courses/{course_id}/enrolments/bulk",
    response_model=BulkResult,
    summary="Enrol a spreadsheet of trainees (CSV or JSON), streamed",
    description=(
        "Rows are read and enrolled in batches of 500 while the body streams in. Good rows are "
        "kept even when others are bad; bad rows come back with their row number and field "
        "errors. CSV: UTF-8 (with or without BOM), `,` or `;` separated, header row "
        "`external_ref,full_name,email[,position][,organisation]`."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": BulkIn.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
async def bulk_enrol(
    course_id: str, request: Request, caller: Caller, reg: Reg, store: Store
) -> BulkResult:
    partner_id = partner_only(caller)
    course = await visible_course(course_id, caller, store)
    try:
        outcome = await reg.bulk_enrol(course, partner_id, upload_rows(request))
    except UploadProblem as problem:
        # Batches enrolled before the unreadable part stay enrolled; a corrected re-upload
        # counts them as duplicates.
        raise Problem(
            422 if problem.field == "header" else 400,
            problem.detail,
            errors=[{"field": problem.field, "message": problem.detail}],
        ) from None
    return BulkResult(
        rows=outcome.rows,
        accepted=outcome.enrolled.accepted,
        duplicates=outcome.enrolled.duplicates,
        rejected_total=outcome.rejected_total,
        rejected=outcome.rejected,
    )


@router.post("/courses/{course_id}/attendance", response_model=AttendanceResult)
async def record_attendance(
    course_id: str, body: AttendanceIn, caller: Caller, reg: Reg, store: Store
) -> AttendanceResult:
    partner_id = partner_only(caller)
    course = await visible_course(course_id, caller, store)
    if body.session.isoformat() not in course["sessions"]:
        raise Problem(
            422,
            f"{body.session} is not a session of course {course['code']} "
            f"(sessions: {', '.join(course['sessions'])}).",
            errors=[{"field": "session", "message": "not a session date of this course"}],
        )
    outcome = await reg.record_attendance(course, partner_id, body.session, body.present)
    return AttendanceResult(
        recorded=outcome.recorded,
        completed=outcome.completed,
        unknown=outcome.unknown,
        withdrawn=outcome.withdrawn,
    )


@router.post("/enrolments/{enrolment_id}/complete", response_model=EnrolmentOut)
async def complete(enrolment_id: str, caller: Caller, reg: Reg, store: Store) -> EnrolmentOut:
    partner_only(caller)
    enrolment = await visible_enrolment(enrolment_id, caller, store)
    if enrolment["status"] == Status.WITHDRAWN.value:
        raise Problem(409, "A withdrawn enrolment cannot be completed.")
    done = await reg.complete(enrolment)
    return enrolment_out(done, await store.attended(enrolment_id))


@router.post(
    "/enrolments/{enrolment_id}/withdraw",
    response_model=EnrolmentOut,
    summary="Withdraw a trainee before completion",
)
async def withdraw(enrolment_id: str, caller: Caller, reg: Reg, store: Store) -> EnrolmentOut:
    await visible_enrolment(enrolment_id, caller, store)
    by = "the admin" if caller.is_admin else f"partner {caller.partner_id}"
    done = await reg.withdraw(enrolment_id, by)
    return enrolment_out(done, await store.attended(enrolment_id))


@router.patch(
    "/enrolments/{enrolment_id}",
    response_model=EnrolmentOut,
    summary="Correct a name or an email",
    description=(
        "After completion the correction is announced as `enrolment.corrected`, so that the "
        "certificate is issued again with the corrected details."
    ),
)
async def correct(
    enrolment_id: str, body: EnrolmentPatch, caller: Caller, reg: Reg, store: Store
) -> EnrolmentOut:
    await visible_enrolment(enrolment_id, caller, store)
    done = await reg.correct(enrolment_id, body)
    return enrolment_out(done, await store.attended(enrolment_id))


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut)
async def get_enrolment(enrolment_id: str, caller: Caller, store: Store) -> EnrolmentOut:
    enrolment = await visible_enrolment(enrolment_id, caller, store)
    return enrolment_out(enrolment, await store.attended(enrolment_id))


@router.get("/courses/{course_id}/enrolments", response_model=EnrolmentPage)
async def list_enrolments(
    course_id: str,
    caller: Caller,
    store: Store,
    status: Status | None = None,
    external_ref: Annotated[str | None, Query(max_length=100)] = None,
    email: EmailStr | None = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
) -> EnrolmentPage:
    await visible_course(course_id, caller, store)
    partner_id = None if caller.is_admin else caller.partner_id
    filters = EnrolmentFilters(status=status, external_ref=external_ref, email=email)
    docs = await store.page(course_id, partner_id, filters, cursor, limit + 1)
    return EnrolmentPage(
        items=[enrolment_out(d) for d in docs[:limit]], next_cursor=next_cursor(docs, limit)
    )

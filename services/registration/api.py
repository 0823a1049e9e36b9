"""HTTP routes of the registration service: parse, authorise, call the registrar."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError

from services.registration.commands import Registrar
from services.registration.domain import Status
from services.registration.schemas import (
    AttendanceIn,
    AttendanceResult,
    BulkIn,
    BulkResult,
    CourseIn,
    CourseOut,
    EnrolmentCreated,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentPage,
    PartnerCreated,
    PartnerIn,
)
from services.registration.store import RegistrationStore
from shared.auth import Principal, current_admin, current_principal
from shared.mongo import Document
from shared.problems import Problem, field_errors

router = APIRouter(prefix="/v1")

Admin = Annotated[Principal, Depends(current_admin)]
Caller = Annotated[Principal, Depends(current_principal)]


def registrar(request: Request) -> Registrar:
    value: Registrar = request.app.state.registrar
    return value


def store(request: Request) -> RegistrationStore:
    value: RegistrationStore = request.app.state.store
    return value


Reg = Annotated[Registrar, Depends(registrar)]
Store = Annotated[RegistrationStore, Depends(store)]


def partner_only(caller: Principal) -> str:
    if caller.partner_id is None:
        raise Problem(403, "Enrolments and attendance are posted with a partner's key.")
    return caller.partner_id


async def visible_course(course_id: str, caller: Principal, store: RegistrationStore) -> Document:
    course = await store.course(course_id)
    if course is None or not (caller.is_admin or caller.partner_id in course["partner_ids"]):
        raise Problem(404, f"No course {course_id} that you may use.")
    return course


async def visible_enrolment(
    enrolment_id: str, caller: Principal, store: RegistrationStore
) -> Document:
    enrolment = await store.enrolment(enrolment_id)
    if enrolment is None or not caller.may_see(enrolment["partner_id"]):
        raise Problem(404, f"No enrolment {enrolment_id} of yours.")
    return enrolment


def enrolment_out(doc: Document, attended: list[date] | None = None) -> EnrolmentOut:
    return EnrolmentOut.model_validate(
        {**doc, "id": doc["_id"], "attended_sessions": attended or []}
    )


@router.post("/partners", status_code=201, response_model=PartnerCreated, tags=["partners"])
async def create_partner(body: PartnerIn, _: Admin, reg: Reg) -> PartnerCreated:
    partner, api_key, key_id = await reg.create_partner(body)
    return PartnerCreated(id=partner["_id"], name=partner["name"], api_key=api_key, key_id=key_id)


@router.post("/courses", status_code=201, response_model=CourseOut, tags=["courses"])
async def create_course(body: CourseIn, _: Admin, reg: Reg, store: Store) -> CourseOut:
    missing = sorted(set(body.partner_ids) - await store.existing_partner_ids(body.partner_ids))
    if missing:
        raise Problem(
            422,
            f"Unknown partner ids: {', '.join(missing)}.",
            errors=[{"field": "partner_ids", "message": f"unknown partner {m}"} for m in missing],
        )
    course = await reg.create_course(body)
    return CourseOut.model_validate({**course, "id": course["_id"]})


@router.get("/courses/{course_id}", response_model=CourseOut, tags=["courses"])
async def get_course(course_id: str, caller: Caller, store: Store) -> CourseOut:
    course = await visible_course(course_id, caller, store)
    return CourseOut.model_validate({**course, "id": course["_id"]})


@router.post(
    "/courses/{course_id}/enrolments",
    status_code=201,
    response_model=EnrolmentCreated,
    tags=["enrolments"],
    responses={200: {"description": "Already enrolled: the existing enrolment."}},
)
async def enrol(
    course_id: str,
    body: EnrolmentIn,
    caller: Caller,
    reg: Reg,
    store: Store,
    response: Response,
) -> EnrolmentCreated:
    partner_id = partner_only(caller)
    course = await visible_course(course_id, caller, store)
    enrolment, created = await reg.enrol(course, partner_id, body)
    if not created:
        response.status_code = 200
    return EnrolmentCreated(id=enrolment["_id"], status=Status(enrolment["status"]))


async def bulk_rows(request: Request) -> list[dict[str, Any]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type == "text/csv":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise Problem(
                400, f"The CSV is not UTF-8 ({error.reason} at byte {error.start})."
            ) from None
        header = text.split("\n", 1)[0]
        # Spreadsheets in much of Europe export with ';' because ',' is the decimal mark.
        delimiter = ";" if header.count(";") > header.count(",") else ","
        return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    if content_type in ("application/json", ""):
        try:
            return BulkIn.model_validate_json(raw).enrolments
        except ValidationError as error:
            raise Problem(
                422,
                'The body must be {"enrolments": [ … ]}.',
                errors=field_errors(list(error.errors())),
            ) from None
    raise Problem(415, 'Send application/json ({"enrolments": […]}) or text/csv.')


@router.post(
    "/courses/{course_id}/enrolments/bulk",
    response_model=BulkResult,
    tags=["enrolments"],
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
    rows = await bulk_rows(request)
    result, rejected = await reg.bulk_enrol(course, partner_id, rows)
    return BulkResult(accepted=result.accepted, duplicates=result.duplicates, rejected=rejected)


@router.post(
    "/courses/{course_id}/attendance", response_model=AttendanceResult, tags=["attendance"]
)
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
    recorded, completed, unknown = await reg.record_attendance(
        course, partner_id, body.session, body.present
    )
    return AttendanceResult(recorded=recorded, completed=completed, unknown=unknown)


@router.post(
    "/enrolments/{enrolment_id}/complete", response_model=EnrolmentOut, tags=["enrolments"]
)
async def complete(enrolment_id: str, caller: Caller, reg: Reg, store: Store) -> EnrolmentOut:
    partner_only(caller)
    enrolment = await visible_enrolment(enrolment_id, caller, store)
    if enrolment["status"] == Status.WITHDRAWN.value:
        raise Problem(409, "A withdrawn enrolment cannot be completed.")
    done = await reg.complete(enrolment)
    return enrolment_out(done, await store.attended(enrolment_id))


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut, tags=["enrolments"])
async def get_enrolment(enrolment_id: str, caller: Caller, store: Store) -> EnrolmentOut:
    enrolment = await visible_enrolment(enrolment_id, caller, store)
    return enrolment_out(enrolment, await store.attended(enrolment_id))


@router.get("/courses/{course_id}/enrolments", response_model=EnrolmentPage, tags=["enrolments"])
async def list_enrolments(
    course_id: str,
    caller: Caller,
    store: Store,
    status: Status | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EnrolmentPage:
    await visible_course(course_id, caller, store)
    partner_id = None if caller.is_admin else caller.partner_id
    docs = await store.page(course_id, partner_id, status, cursor, limit + 1)
    more = len(docs) > limit
    docs = docs[:limit]
    return EnrolmentPage(
        items=[enrolment_out(d) for d in docs],
        next_cursor=docs[-1]["_id"] if more else None,
    )

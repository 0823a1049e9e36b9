"""Courses: the admin creates them; a partner reads the ones it is allowed on."""

from __future__ import annotations

from fastapi import APIRouter

from services.registration.http.deps import (
    Admin,
    Caller,
    Cursor,
    PageSize,
    Reg,
    Store,
    next_cursor,
    partner_only,
    visible_course,
)
from services.registration.schemas import (
    CourseClosure,
    CourseIn,
    CourseOut,
    CoursePage,
    CourseRelease,
)
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter(prefix="/v1/courses", tags=["courses"])


def course_out(doc: Document) -> CourseOut:
    return CourseOut.model_validate({**doc, "id": doc["_id"]})


@router.post("", status_code=201, response_model=CourseOut)
async def create_course(body: CourseIn, _: Admin, reg: Reg, store: Store) -> CourseOut:
    if errors := body.party_errors():
        raise Problem(422, "A course needs one issuer and one funder.", errors=errors)
    missing = sorted(set(body.partner_ids) - await store.existing_partner_ids(body.partner_ids))
    if missing:
        raise Problem(
            422,
            f"Unknown partner ids: {', '.join(missing)}.",
            errors=[{"field": "partner_ids", "message": f"unknown partner {m}"} for m in missing],
        )
    return course_out(await reg.create_course(body))


@router.get("", response_model=CoursePage, summary="Courses you may use (all, for the admin)")
async def list_courses(
    caller: Caller, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> CoursePage:
    partner_id = None if caller.is_admin else caller.partner_id
    docs = await store.courses_page(partner_id, cursor, limit + 1)
    return CoursePage(
        items=[course_out(d) for d in docs[:limit]], next_cursor=next_cursor(docs, limit)
    )


@router.get("/{course_id}", response_model=CourseOut)
async def get_course(course_id: str, caller: Caller, store: Store) -> CourseOut:
    course = await visible_course(course_id, caller, store)
    release = await store.release_of(course_id)
    return course_out({**course, "released_at": release["released_at"] if release else None})


@router.post(
    "/{course_id}/release",
    response_model=CourseRelease,
    summary="Let the course's held emails go out (admin); later ones then go out at once",
)
async def release_course(course_id: str, admin: Admin, reg: Reg, store: Store) -> CourseRelease:
    course = await visible_course(course_id, admin, store)
    if not course.get("hold_emails"):
        raise Problem(
            409, f"Course {course_id} does not hold its emails: they go out as soon as issued."
        )
    release = await reg.release_course(course, by="admin")
    return CourseRelease(course_id=course_id, released_at=release["released_at"])


@router.post(
    "/{course_id}/close",
    response_model=list[CourseClosure],
    summary="Attendance is final: the coordinator gets a summary once the certificates are out",
    description=(
        "With a partner's key, closes that partner's part of the course; with the admin key, "
        "every partner's. Once as many certificate emails as trainees completed have been sent "
        "(or have failed), the partner's contact email receives one summary: sent, failed, and "
        "why. Closing again changes nothing."
    ),
)
async def close_course(
    course_id: str, caller: Caller, reg: Reg, store: Store
) -> list[CourseClosure]:
    course = await visible_course(course_id, caller, store)
    partners = course["partner_ids"] if caller.is_admin else [partner_only(caller)]
    closures = await reg.close_course(course, partners)
    return [CourseClosure.model_validate(c) for c in closures]

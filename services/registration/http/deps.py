"""What every route needs: the caller, the registrar and the store, and who may see what."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from services.registration.commands import Registrar
from services.registration.schemas import EnrolmentOut
from services.registration.store import RegistrationStore
from shared.app_state import from_app_state
from shared.auth import Principal, current_admin, current_principal
from shared.mongo import Document
from shared.problems import Problem

Admin = Annotated[Principal, Depends(current_admin)]
Caller = Annotated[Principal, Depends(current_principal)]
PageSize = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[
    str | None, Query(description="The `next_cursor` of the previous page; omit for the first.")
]


Reg = Annotated[Registrar, Depends(from_app_state("registrar", Registrar))]
Store = Annotated[RegistrationStore, Depends(from_app_state("store", RegistrationStore))]


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


def next_cursor(docs: list[Document], limit: int) -> str | None:
    """Pages are fetched one item longer than asked: the extra item says there is more."""
    return str(docs[limit - 1]["_id"]) if len(docs) > limit else None

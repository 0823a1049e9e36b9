"""HTTP routes of the notification service: the delivery log, resends, held emails' previews."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services.notification.delivery_status import FINISHED, Status
from services.notification.dispatcher import Dispatcher
from services.notification.letters import compose
from services.notification.store import NotificationStore
from shared.app_state import from_app_state
from shared.auth import Principal, current_admin
from shared.mongo import Document, Session
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["deliveries"])
Admin = Annotated[Principal, Depends(current_admin)]
Store = Annotated[NotificationStore, Depends(from_app_state("store", NotificationStore))]
Sender = Annotated[Dispatcher, Depends(from_app_state("dispatcher", Dispatcher))]
DeliveryStatus = Literal["held", "pending", "sending", "sent", "failed", "unconfirmed"]


class DeliveryOut(BaseModel):
    id: str
    kind: str = "certificate"
    certificate_number: str | None = None
    enrolment_id: str | None = None
    course_id: str | None = None
    to: str
    copy_to: list[str] = Field(default_factory=list)
    status: str
    attempts: int
    resends: int = 0
    created_at: datetime | None = None
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = Field(default=None, description="The last failure, if any.")
    reply: str | None = Field(default=None, description="The mail server's final answer.")
    message_id: str | None = None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    outcome: str
    reply: str


class DeliveryDetail(DeliveryOut):
    history: list[AttemptOut]


class Preview(BaseModel):
    subject: str
    sender: str = Field(alias="from")
    to: list[str]
    cc: list[str]
    reply_to: str | None
    text: str
    html: str
    attachments: list[str]


def epoch(at: datetime) -> float:
    """Seconds since 1970 of `at`, read as UTC when it names no offset."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def delivery_out(doc: Document) -> DeliveryOut:
    return DeliveryOut.model_validate(
        {**doc, "id": doc["_id"], "last_error": doc.get("last_error") or None}
    )


@router.get(
    "/deliveries",
    response_model=list[DeliveryOut],
    summary='The delivery log, oldest first; a `Link: <…>; rel="next"` header gives the next page',
)
async def deliveries(
    request: Request,
    response: Response,
    _: Admin,
    store: Store,
    enrolment_id: str | None = None,
    certificate_number: str | None = None,
    course_id: str | None = None,
    status: DeliveryStatus | None = None,
    kind: Literal["certificate", "reissue", "confirmation", "summary"] | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601).")] = None,
    after: Annotated[str | None, Query(description="The last id of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    query: dict[str, Any] = {
        name: value
        for name, value in {
            "enrolment_id": enrolment_id,
            "certificate_number": certificate_number,
            "course_id": course_id,
            "status": status,
            "kind": kind,
        }.items()
        if value is not None
    }
    created: dict[str, float] = {}
    if since is not None:
        created["$gte"] = epoch(since)
    if until is not None:
        created["$lt"] = epoch(until)
    if created:
        query["created_epoch"] = created
    docs = await store.find(query, after, limit + 1)
    page = [delivery_out(d) for d in docs[:limit]]
    if len(docs) > limit:
        url = request.url.include_query_params(after=page[-1].id)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return page


async def existing(store: NotificationStore, delivery_id: str) -> Document:
    doc = await store.delivery(delivery_id)
    if doc is None:
        raise Problem(404, f"No delivery {delivery_id}.")
    return doc


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def delivery(delivery_id: str, _: Admin, store: Store) -> DeliveryDetail:
    doc = await existing(store, delivery_id)
    history = [AttemptOut.model_validate(a) for a in await store.attempts_of(delivery_id)]
    return DeliveryDetail.model_validate({**delivery_out(doc).model_dump(), "history": history})


@router.post(
    "/deliveries/{delivery_id}/resend",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a finished email again (after a failure, or when the recipient lost it)",
)
async def resend(delivery_id: str, _: Admin, store: Store, sender: Sender) -> DeliveryOut:
    doc = await existing(store, delivery_id)
    if doc["status"] == Status.HELD:
        raise Problem(409, "This email is held with its course: release the course instead.")
    if doc["status"] not in FINISHED:
        raise Problem(409, f"This email is {doc['status']}: it is already on its way.")

    async def work(session: Session) -> Document:
        return await store.resend(session, delivery_id, time.time())

    updated = await store.database.in_transaction(work)
    sender.wake()
    return delivery_out(updated)


@router.get(
    "/deliveries/{delivery_id}/preview",
    response_model=Preview,
    response_model_by_alias=True,
    summary="The email as it would be sent now: subject, addresses, text and HTML",
)
async def preview(delivery_id: str, _: Admin, store: Store, sender: Sender) -> Preview:
    doc = await existing(store, delivery_id)
    message = compose(
        sender.letters.composer,
        str(doc.get("kind", "certificate")),
        delivery_id,
        int(doc.get("resends", 0)),
        await store.content(delivery_id),
    )
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Preview.model_validate(
        {
            "subject": str(message["Subject"]),
            "from": str(message["From"]),
            "to": [str(a) for a in message["To"].addresses],
            "cc": [str(a) for a in message["Cc"].addresses] if message["Cc"] else [],
            "reply_to": str(message["Reply-To"]) if message["Reply-To"] else None,
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "attachments": [a.get_filename() or "" for a in message.iter_attachments()],
        }
    )

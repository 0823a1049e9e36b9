"""Operations routes every service has: the state of its outbox, the events it holds about
one key, and replaying it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from shared import outbox
from shared.auth import Principal, current_admin
from shared.mongo import Database

Admin = Annotated[Principal, Depends(current_admin)]


class OutboxState(BaseModel):
    service: str
    pending: int = Field(description="Events written but not yet acknowledged by the broker.")
    oldest_pending_at: datetime | None
    published_kept: int = Field(description="Published events kept for replays.")


class OutboxEntry(BaseModel):
    event_id: str
    type: str
    topic: str
    key: str
    created_at: datetime = Field(
        description="When the event was written (to the second: from the entry's ObjectId)."
    )
    published: bool = Field(description="Acknowledged by the broker; false: still pending.")
    event: dict[str, Any] | None = Field(
        description="The CloudEvents envelope as it is published, without a certificate's PDF."
    )


# A certificate.issued carries its PDF (≈35 KB of base64); a trace needs to know it is there.
LEFT_OUT = "(left out)"


def envelope_of(value: Any) -> dict[str, Any] | None:
    try:
        event = json.loads(bytes(value))
    except (TypeError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    data = event.get("data")
    if isinstance(data, dict) and "pdf_base64" in data:
        event["data"] = {**data, "pdf_base64": LEFT_OUT}
    return event


class ReplayRequest(BaseModel):
    since: AwareDatetime = Field(description="Replay events written at or after this instant.")
    topics: list[str] | None = Field(
        default=None, description="Only these topics; every topic when left out."
    )


class ReplayAnswer(BaseModel):
    service: str
    requeued: int = Field(description="Published events queued to be published again.")


async def read_outbox_state(service: str, database: Database) -> OutboxState:
    """The oldest pending event by `_id` (its generation time): the embedded server compares
    datetimes wrongly."""
    events = database.db[outbox.COLLECTION]
    oldest = await events.find_one({"published": False}, sort=[("_id", 1)])
    return OutboxState(
        service=service,
        pending=await events.count_documents({"published": False}),
        oldest_pending_at=None if oldest is None else oldest["_id"].generation_time,
        published_kept=await events.count_documents({"published": True}),
    )


def ops_router(service: str, database: Database) -> APIRouter:
    router = APIRouter(prefix="/v1/ops", tags=["operations"])

    @router.get("/outbox", summary="What this service's outbox holds")
    async def outbox_state(_: Admin) -> OutboxState:
        return await read_outbox_state(service, database)

    @router.get(
        "/outbox/events",
        summary="The events this service wrote about one key (an enrolment id)",
        description=(
            "Published and pending, oldest first, for tracing one trainee's events "
            "(`attesta ops trace`); the envelopes hold names and email addresses."
        ),
    )
    async def outbox_events(
        _: Admin,
        key: Annotated[str, Query(min_length=1, description="The enrolment id.")],
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[OutboxEntry]:
        cursor = database.db[outbox.COLLECTION].find({"key": key}).sort("_id", 1).limit(limit)
        return [
            OutboxEntry(
                event_id=doc["event_id"],
                type=doc["type"],
                topic=doc["topic"],
                key=doc["key"],
                # Not `created_at`: the embedded database hands datetimes back unreliably.
                created_at=doc["_id"].generation_time,
                published=bool(doc["published"]),
                event=envelope_of(doc.get("value")),
            )
            async for doc in cursor
        ]

    @router.post(
        "/outbox/replay",
        summary="Publish again the events written since an instant",
        description=(
            "For a broker (or a topic) that lost messages: the events this service wrote since "
            "`since` are published again, in their original order. Consumers drop the events "
            "they have already processed, so replaying more than was lost is safe. Only events "
            "the outbox still keeps can be replayed (ATTESTA_OUTBOX_RETENTION_HOURS)."
        ),
    )
    async def replay(body: ReplayRequest, _: Admin) -> ReplayAnswer:
        topics = set(body.topics) if body.topics else None
        requeued = await outbox.replay(database, since=body.since, topics=topics)
        return ReplayAnswer(service=service, requeued=requeued)

    return router

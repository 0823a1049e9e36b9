"""Operations routes every service has: the state of its outbox, and replaying it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
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


class ReplayRequest(BaseModel):
    since: AwareDatetime = Field(description="Replay events written at or after this instant.")
    topics: list[str] | None = Field(
        default=None, description="Only these topics; every topic when left out."
    )


class ReplayAnswer(BaseModel):
    service: str
    requeued: int = Field(description="Published events queued to be published again.")


def ops_router(service: str, database: Database) -> APIRouter:
    router = APIRouter(prefix="/v1/ops", tags=["operations"])

    @router.get("/outbox", summary="What this service's outbox holds")
    async def outbox_state(_: Admin) -> OutboxState:
        events = database.db[outbox.COLLECTION]
        oldest = await events.find_one({"published": False}, sort=[("_id", 1)])
        return OutboxState(
            service=service,
            pending=await events.count_documents({"published": False}),
            oldest_pending_at=None if oldest is None else oldest["_id"].generation_time,
            published_kept=await events.count_documents({"published": True}),
        )

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

"""HTTP routes of the notification service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from services.notification.store import NotificationStore
from shared.app_state import from_app_state
from shared.auth import Principal, current_admin

router = APIRouter(prefix="/v1")
Admin = Annotated[Principal, Depends(current_admin)]


class DeliveryOut(BaseModel):
    certificate_number: str
    enrolment_id: str
    to: str
    status: str
    attempts: int
    sent_at: datetime | None = None
    last_error: str | None = None


@router.get("/deliveries", response_model=list[DeliveryOut], tags=["deliveries"])
async def deliveries(
    _: Admin,
    store: Annotated[NotificationStore, Depends(from_app_state("store", NotificationStore))],
    enrolment_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    docs = await store.find(enrolment_id, limit)
    return [DeliveryOut.model_validate({**d, "certificate_number": d["_id"]}) for d in docs]

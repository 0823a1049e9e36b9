"""The notification service's MongoDB access: one delivery record per certificate."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from shared.mongo import Database, Document, Session, merge_into


class NotificationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.deliveries = database.db["deliveries"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections("deliveries")
        await self.deliveries.create_index("enrolment_id")

    async def delivery(
        self, certificate_number: str, session: Session | None = None
    ) -> Document | None:
        return await self.deliveries.find_one({"_id": certificate_number}, session=session)

    async def save(
        self,
        session: Session,
        certificate_number: str,
        fields: dict[str, Any],
        *,
        first_time: dict[str, Any] | None = None,
    ) -> None:
        await merge_into(self.deliveries, session, certificate_number, fields, on_insert=first_time)

    async def find(self, enrolment_id: str | None, limit: int) -> list[Document]:
        query: dict[str, Any] = {} if enrolment_id is None else {"enrolment_id": enrolment_id}
        cursor = self.deliveries.find(query).sort("created_at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

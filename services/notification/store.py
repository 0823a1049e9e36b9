"""The notification service's MongoDB: one delivery record per email, its content, its attempts.

- `deliveries`: what to send to whom and where it stands. `due` is when the dispatcher should
  next look at it: the next attempt of a pending delivery, the end of the lease of one being
  sent (a sender that crashed leaves it there), far in the future for one that is finished or
  held. One index on `due` serves every dispatcher query.
- `delivery_contents`: what the email is made from (the event, with its PDF), written once:
  kept apart so that listing and dispatching never read 70 KB of PDF per delivery.
- `delivery_attempts`: one row per try with the server's answer, for the delivery log.
- `released_courses`: courses whose held emails the admin has released.

Scheduling fields are epoch seconds (floats): the embedded MongoDB-wire server stores a
datetime given to `$set` as a string. Timestamps people read are datetimes, written whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from services.notification.delivery_status import Status
from shared.mongo import Database, Document, Session, merge_into

FAR_FUTURE = 1e12  # epoch seconds in the year 33658: "not due", without a null to match


class NotificationStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        db = database.db
        self.deliveries = db["deliveries"]
        self.contents = db["delivery_contents"]
        self.attempts = db["delivery_attempts"]
        self.released = db["released_courses"]
        self.closures = db["course_closures"]

    async def ensure_indexes(self) -> None:
        await self.database.ensure_collections(
            "deliveries",
            "delivery_contents",
            "delivery_attempts",
            "released_courses",
            "course_closures",
        )
        # Paging and date filters use `created_epoch`: on the embedded server a datetime range
        # over an indexed field matches the wrong documents.
        for field in (
            "due",
            "status",
            "enrolment_id",
            "certificate_number",
            "course_id",
            "created_epoch",
        ):
            await self.deliveries.create_index(field)
        await self.attempts.create_index("delivery_id")

    # intake ------------------------------------------------------------------------------
    async def exists(self, session: Session, delivery_id: str) -> bool:
        return (
            await self.deliveries.find_one({"_id": delivery_id}, {"_id": 1}, session=session)
            is not None
        )

    async def add(self, session: Session, delivery: Document, content: str) -> None:
        await self.deliveries.insert_one(delivery, session=session)
        await self.contents.insert_one({"_id": delivery["_id"], "event": content}, session=session)

    async def is_released(self, session: Session, course_id: str) -> bool:
        return await self.released.find_one({"_id": course_id}, session=session) is not None

    async def release(self, session: Session, course_id: str, at: datetime, now: float) -> int:
        """Record the course as released and queue its held deliveries; returns how many."""
        if not await self.is_released(session, course_id):
            await self.released.insert_one({"_id": course_id, "released_at": at}, session=session)
        result = await self.deliveries.update_many(
            {"course_id": course_id, "status": Status.HELD},
            {"$set": {"status": Status.PENDING, "due": now, "queued_epoch": now}},
            session=session,
        )
        return int(result.modified_count)

    # coordinators' summaries ---------------------------------------------------------------
    async def closure(self, session: Session, closure_id: str) -> Document | None:
        return await self.closures.find_one({"_id": closure_id}, session=session)

    async def awaits_summary(self, closure_id: str) -> bool:
        found = await self.closures.find_one({"_id": closure_id}, {"summary": 1})
        return found is not None and found.get("summary") == "waiting"

    async def add_closure(self, session: Session, closure: Document) -> None:
        if await self.closure(session, closure["_id"]) is None:
            await self.closures.insert_one(closure, session=session)

    async def mark_summarised(self, session: Session, closure_id: str, outcome: str) -> None:
        await self.closures.update_one(
            {"_id": closure_id}, {"$set": {"summary": outcome}}, session=session
        )

    async def certificate_deliveries(
        self, session: Session, course_id: str, partner_id: str
    ) -> list[Document]:
        """The first-certificate emails of a partner's trainees on a course (not reissues)."""
        cursor = self.deliveries.find(
            {"course_id": course_id, "partner_id": partner_id, "kind": "certificate"},
            {"status": 1, "full_name": 1, "to": 1, "reply": 1, "last_error": 1},
            session=session,
        )
        return [doc async for doc in cursor]

    # dispatching ----------------------------------------------------------------------------
    async def claim_next(self, now: float, lease_until: float, token: str) -> Document | None:
        """Take the pending delivery due first, for one attempt, until `lease_until`."""
        async with self.database.alone():
            return await self.deliveries.find_one_and_update(
                {"status": Status.PENDING, "due": {"$lte": now}},
                {
                    "$set": {
                        "status": Status.SENDING,
                        "due": lease_until,
                        "claim": token,
                        "data_started": False,
                    },
                    "$inc": {"attempts": 1},
                },
                sort=[("due", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )

    async def content(self, delivery_id: str) -> str:
        doc = await self.contents.find_one({"_id": delivery_id})
        if doc is None:
            raise LookupError(f"delivery {delivery_id} has no content")
        return str(doc["event"])

    async def mark_data_started(self, delivery_id: str, token: str, now: float) -> bool:
        """Mark the message as handed over, if this claim still holds (its lease has not run
        out, nobody took the delivery back). False: the sender must not send."""
        async with self.database.alone():
            result = await self.deliveries.update_one(
                {
                    "_id": delivery_id,
                    "claim": token,
                    "status": Status.SENDING,
                    "due": {"$gt": now},
                },
                {"$set": {"data_started": True}},
            )
        return bool(result.modified_count)

    async def put_back(self, delivery_id: str, token: str, due: float) -> None:
        """Return a claimed delivery, untried, to the queue until `due` (a recipient's rate
        limit, no process to build it): the claim does not count as an attempt."""
        async with self.database.alone():
            await self.deliveries.update_one(
                {"_id": delivery_id, "claim": token},
                {
                    "$set": {"status": Status.PENDING, "due": due, "claim": ""},
                    "$inc": {"attempts": -1},
                },
            )

    async def count_by_status(self, statuses: tuple[str, ...]) -> dict[str, int]:
        return {s: await self.deliveries.count_documents({"status": s}) for s in statuses}

    async def expired_claims(self, now: float) -> list[Document]:
        cursor = self.deliveries.find({"due": {"$lte": now}, "status": Status.SENDING})
        return [doc async for doc in cursor]

    async def requeue_unsent(self, delivery_id: str, token: str, now: float) -> bool:
        """A sender took this delivery and vanished before handing over any message: queue it."""
        async with self.database.alone():
            result = await self.deliveries.update_one(
                {"_id": delivery_id, "claim": token, "status": Status.SENDING},
                {"$set": {"status": Status.PENDING, "due": now, "claim": ""}},
            )
        return bool(result.modified_count)

    async def settle(
        self,
        session: Session,
        delivery_id: str,
        fields: Document,
        attempt: Document,
    ) -> Document:
        """Write the outcome of an attempt: the delivery's new state and the attempt's row."""
        merged = await merge_into(self.deliveries, session, delivery_id, {**fields, "claim": ""})
        await self.attempts.insert_one(
            {"_id": ObjectId(), "delivery_id": delivery_id, **attempt}, session=session
        )
        return merged

    # delivery log ----------------------------------------------------------------------------
    async def delivery(self, delivery_id: str, session: Session | None = None) -> Document | None:
        return await self.deliveries.find_one({"_id": delivery_id}, session=session)

    async def find(self, query: dict[str, Any], after: str | None, limit: int) -> list[Document]:
        """Deliveries matching `query`, oldest first, from after the delivery `after`."""
        if after is not None:
            last = await self.deliveries.find_one({"_id": after}, {"created_epoch": 1})
            if last is not None:
                at = float(last.get("created_epoch", 0.0))
                query = {
                    **query,
                    "$or": [
                        {"created_epoch": {"$gt": at}},
                        {"created_epoch": at, "_id": {"$gt": after}},
                    ],
                }
        cursor = (
            self.deliveries.find(query)
            .sort([("created_epoch", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def attempts_of(self, delivery_id: str) -> list[Document]:
        cursor = self.attempts.find({"delivery_id": delivery_id}).sort("_id", ASCENDING)
        return [doc async for doc in cursor]

    async def resend(self, session: Session, delivery_id: str, now: float) -> Document:
        current = await self.delivery(delivery_id, session)
        assert current is not None
        return await merge_into(
            self.deliveries,
            session,
            delivery_id,
            {
                "status": Status.PENDING,
                "due": now,
                "queued_epoch": now,
                "attempts": 0,
                "resends": int(current.get("resends", 0)) + 1,
                "data_started": False,
                "last_error": "",
                "resent_at": datetime.now(UTC),
            },
        )

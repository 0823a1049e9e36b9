"""Certificate numbers under concurrency, against the real database: twenty completions at
once get twenty numbers, none shared, none skipped — even when some issues fail midway."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from services.certification.issuing import Issuer
from shared.events import EnrolmentCompletedV1, Holder
from shared.mongo import Document, Session
from tests.unit.samples import course


class Interrupted(Exception):
    pass


def completion(n: int) -> EnrolmentCompletedV1:
    return EnrolmentCompletedV1(
        enrolment_id=uuid.uuid4().hex,
        partner_id="p1",
        external_ref=f"n{n}",
        holder=Holder(full_name=f"Trainee {n}", email=f"t{n}@example.bg"),
        course=course(code="NUMB-2002-X"),
        completed_on=date(2002, 9, 11),
    )


async def test_concurrent_completions_never_share_or_skip_a_number(issuer: Issuer) -> None:

    async def issue(n: int) -> Document | None:
        async def work(session: Session) -> Document | None:
            certificate = await issuer.issue(session, completion(n))
            if n % 5 == 0:
                raise Interrupted  # after the number was drawn: the transaction rolls back
            return certificate

        return await issuer.database.in_transaction(work)

    results = await asyncio.gather(*(issue(n) for n in range(1, 21)), return_exceptions=True)

    assert sum(isinstance(r, Interrupted) for r in results) == 4
    numbers = sorted(doc["_id"] for doc in results if isinstance(doc, dict))
    assert numbers == [f"NUMB-2002-{n:06d}" for n in range(1, 17)]

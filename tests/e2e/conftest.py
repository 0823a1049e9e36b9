from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

from tests.conftest import Services, Stack, eventually
from tests.e2e.api_client import Api, course_body


@pytest.fixture
async def admin(services: Services) -> AsyncIterator[Api]:
    api = Api(services.urls)
    yield api
    await api.close()


@dataclass
class Training:
    """One partner with one course of its own: what most tests start from."""

    admin: Api
    partner: Api
    partner_id: str
    course: dict[str, Any]
    tag: str
    stack: Stack

    def address(self, ref: str) -> str:
        return f"{ref}.{self.tag}@example.bg"

    def emails_to(self, ref: str) -> list[EmailMessage]:
        wanted = self.address(ref)
        return [m for m in self.stack.emails() if wanted in str(m["To"])]

    def emails(self) -> list[EmailMessage]:
        return [m for m in self.stack.emails() if f".{self.tag}@" in str(m["To"])]

    async def complete(self, ref: str, name: str) -> str:
        """Enrols a trainee and completes the enrolment at once (an online session)."""
        enrolment_id = await self.partner.enrol(self.course["id"], ref, name, self.address(ref))
        await self.partner.ok("registration", "POST", f"/v1/enrolments/{enrolment_id}/complete")
        return enrolment_id

    async def certify(self, ref: str, name: str) -> dict[str, Any]:
        """Enrols a trainee, completes the enrolment, and returns its certificate once issued."""
        partner = self.partner
        enrolment_id = await self.complete(ref, name)

        async def certified() -> str | None:
            number: str | None = (await partner.enrolment(enrolment_id))["certificate_number"]
            return number

        return await partner.certificate(await eventually(certified, what="the certificate"))


@pytest.fixture
async def training(admin: Api, stack: Stack) -> AsyncIterator[Training]:
    tag = uuid.uuid4().hex[:8]
    created = await admin.create_partner(f"Municipality {tag}")
    course = await admin.create_course(course_body([created["id"]]))
    partner = admin.as_partner(created["api_key"])
    yield Training(admin, partner, created["id"], course, tag, stack)
    await partner.close()

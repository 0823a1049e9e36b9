"""A few-line client of the public API, so tests read as what a partner or the admin does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN_KEY
from tests.samples import course_fields


def course_body(partner_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return course_fields(**({"min_sessions": 2, "partner_ids": partner_ids} | overrides))


class Api:
    def __init__(self, urls: dict[str, str], key: str = ADMIN_KEY) -> None:
        self.urls = urls
        self.key = key
        self.http = httpx.AsyncClient(timeout=30.0)

    def as_partner(self, key: str) -> Api:
        return Api(self.urls, key)

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return await self.http.request(method, self.urls[service] + path, headers=headers, **kwargs)

    async def ok(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(service, method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    # admin
    async def create_partner(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok(
            "registration", "POST", "/v1/partners", json={"name": name}
        )
        return result

    async def create_course(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok("registration", "POST", "/v1/courses", json=body)
        return result

    # partner
    async def enrol(self, course_id: str, ref: str, name: str, mail: str) -> str:
        result = await self.ok(
            "registration",
            "POST",
            f"/v1/courses/{course_id}/enrolments",
            json={"external_ref": ref, "full_name": name, "email": mail},
        )
        return str(result["id"])

    async def attend(self, course_id: str, session: str, refs: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok(
            "registration",
            "POST",
            f"/v1/courses/{course_id}/attendance",
            json={"session": session, "present": refs},
        )
        return result

    async def enrolment(self, enrolment_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok(
            "registration", "GET", f"/v1/enrolments/{enrolment_id}"
        )
        return result

    async def certificate(self, number: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.ok("certification", "GET", f"/v1/certificates/{number}")
        return result

    async def verify(self, code: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.urls['certification']}/v1/verify/{code}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def deliveries(self, enrolment_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.ok(
            "notification", "GET", "/v1/deliveries", params={"enrolment_id": enrolment_id}
        )
        return result

    async def close(self) -> None:
        await self.http.aclose()

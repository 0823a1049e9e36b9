"""What a benchmark enrols into: a partner (and its API key) and a course, made through the
public API as an administrator would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Tenant:
    partner_id: str
    api_key: str
    course_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def _created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
    created: dict[str, Any] = response.json()
    return created


async def create_tenant(registration_url: str, admin_key: str, tag: str) -> Tenant:
    async with httpx.AsyncClient(
        base_url=registration_url,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30.0,
    ) as client:
        partner = await _created(client, "/v1/partners", {"name": f"Община Димитровград {tag}"})
        course = await _created(
            client,
            "/v1/courses",
            {
                "code": f"BENCH-{tag}",
                "title": "Дружелюбно обслужване на гражданите",
                "language": "bg",
                "issuer": {"name": "Фондация за реформа в местното самоуправление"},
                "funder": {"name": "Американска агенция за международно развитие"},
                "sessions": ["2002-09-10", "2002-09-11"],
                "min_sessions": 2,
                "signatories": [{"name": "Таня Рангелова", "role": "Лектор"}],
                "location": "Димитровград",
                "partner_ids": [partner["id"]],
            },
        )
    return Tenant(partner["id"], partner["api_key"], course["id"])


async def create_course(registration_url: str, admin_key: str, body: dict[str, Any]) -> str:
    """Create a course as the administrator; its id."""
    async with httpx.AsyncClient(
        base_url=registration_url,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30.0,
    ) as client:
        course = await _created(client, "/v1/courses", body)
    return str(course["id"])

"""The load of a chaos run, as partners send it: a course, its trainees enrolled in bulk, then
attendance session by session. Every request is retried through failures with the same
Idempotency-Key, as a careful client does, until it gets an answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bench.people import Trainee
from chaos.progress import Progress

SESSIONS = ("2026-10-06", "2026-10-07")
RETRIED_STATUSES = {409, 429, 500, 502, 503, 504}
CHUNK = 100


@dataclass
class Course:
    id: str
    partner_key: str


@dataclass
class DriveStats:
    requests: int = 0
    retries: int = 0


class Client:
    def __init__(self, url: str, key: str, stats: DriveStats, *, deadline: float) -> None:
        self._http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0
        )
        self._stats = stats
        self._deadline = deadline

    async def close(self) -> None:
        await self._http.aclose()

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST until answered: through refused connections, timeouts and 5xx."""
        key = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._deadline
        delay = 0.2
        while True:
            self._stats.requests += 1
            try:
                response = await self._http.post(path, json=body, headers={"Idempotency-Key": key})
                if response.status_code not in RETRIED_STATUSES:
                    response.raise_for_status()
                    answer: dict[str, Any] = response.json()
                    return answer
                reason = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}"
            if loop.time() > give_up:
                raise RuntimeError(
                    f"POST {path} still failing after {self._deadline:.0f}s: {reason}"
                )
            self._stats.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def create_course(client: Client, tag: str) -> Course:
    partner = await client.post("/v1/partners", {"name": f"Община Хасково {tag}"})
    course = await client.post(
        "/v1/courses",
        {
            "code": f"CHAOS-{tag}",
            "title": "Управление на конфликти в администрацията",
            "language": "bg",
            "issuer": {"name": "Фондация за реформа в местното самоуправление"},
            "funder": {"name": "Европейски социален фонд"},
            "sessions": list(SESSIONS),
            "min_sessions": len(SESSIONS),
            "signatories": [{"name": "Таня Рангелова", "role": "Лектор"}],
            "location": "Хасково",
            "partner_ids": [partner["id"]],
        },
    )
    return Course(course["id"], partner["api_key"])


def chunks(items: Sequence[Trainee], size: int) -> list[Sequence[Trainee]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def enrol(client: Client, course: Course, trainees: Sequence[Trainee]) -> int:
    accepted = 0
    for chunk in chunks(trainees, CHUNK):
        rows = [
            {"external_ref": t.external_ref, "full_name": t.full_name, "email": t.email}
            for t in chunk
        ]
        result = await client.post(f"/v1/courses/{course.id}/enrolments/bulk", {"enrolments": rows})
        if result["rejected_total"]:
            raise RuntimeError(f"the service rejected generated trainees: {result['rejected']}")
        accepted += result["accepted"] + result["duplicates"]
    return accepted


async def attend(
    client: Client,
    course: Course,
    session: str,
    trainees: Sequence[Trainee],
    spread: float,
    started: asyncio.Event | None = None,
) -> int:
    """Attendance in small uploads spread over `spread` seconds, as clerks send it: the
    faults then land mid-stream, not after the last upload."""
    completed = 0
    uploads = chunks(trainees, CHUNK // 4)
    for chunk in uploads:
        result = await client.post(
            f"/v1/courses/{course.id}/attendance",
            {"session": session, "present": [t.external_ref for t in chunk]},
        )
        if result["unknown"]:
            raise RuntimeError(f"attendance for trainees never enrolled: {result['unknown'][:5]}")
        completed += result["completed"]
        if started is not None:
            started.set()
        await asyncio.sleep(spread / len(uploads))
    return completed


async def drive(
    url: str,
    admin_key: str,
    trainees: Sequence[Trainee],
    qualifying: Sequence[Trainee],
    progress: Progress,
    stats: DriveStats,
    *,
    tag: str,
    spread: float,
    completing: asyncio.Event,
    deadline: float = 300.0,
) -> Course:
    """Enrol everyone, mark everyone present at the first session and the qualifying ones at
    the second (completing them; `completing` is set once the first of them completed)."""
    admin = Client(url, admin_key, stats, deadline=deadline)
    try:
        course = await create_course(admin, tag)
    finally:
        await admin.close()
    partner = Client(url, course.partner_key, stats, deadline=deadline)
    try:
        enrolled = await enrol(partner, course, trainees)
        progress(f"load: {enrolled} trainees enrolled")
        await attend(partner, course, SESSIONS[0], trainees, spread * 0.3)
        progress(f"load: everyone present on {SESSIONS[0]}")
        await attend(partner, course, SESSIONS[1], qualifying, spread * 0.7, completing)
        progress(f"load: {len(qualifying)} present on {SESSIONS[1]}: completed")
    finally:
        await partner.close()
    return course

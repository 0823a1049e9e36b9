"""The web monitor's routes: the page, the fragments its script refreshes, the same data as
JSON, and the login form.

Who may look: the admin, with `Authorization: Bearer <admin key>` or the session cookie the
login form sets. A page asked for without either is sent to the login form; the fragments and
the JSON answer 401 instead.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from services.registration.ops_monitor.monitor import OpsMonitor
from services.registration.ops_monitor.session import COOKIE_NAME, COOKIE_PATH
from services.registration.ops_monitor.snapshot import (
    TREND_BUCKET_SECONDS,
    Snapshot,
    Timeline,
    describe,
    event_name,
    service_name,
)
from shared.app_state import from_app_state
from shared.auth import current_admin
from shared.problems import Problem

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
LOGIN_PATH = "/ops/login"
# Enrolment ids are hex; anything else that could be a Kafka key is let through, but never
# markup or a path.
_ENROLMENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/ops", tags=["operations"], include_in_schema=False)
api = APIRouter(prefix="/ops/api", tags=["operations"])
Monitor = Annotated[OpsMonitor, Depends(from_app_state("ops_monitor", OpsMonitor))]


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def clock_text(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%H:%M:%S")


def rate_text(value: float) -> str:
    return "0" if value == 0 else f"{value:.2f}" if value < 10 else f"{value:.0f}"


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    w: int
    h: int
    n: int


def trend_bars(trend: list[int], *, height: int = 22, width: int = 3, gap: int = 1) -> list[Bar]:
    """The bars of a trend chart, the tallest `height` high; a count above zero is never
    drawn flat."""
    top = max(trend, default=0)
    bars = []
    for i, count in enumerate(trend):
        tall = 0 if top == 0 else max(round(count / top * height), 1 if count else 0)
        bars.append(Bar(x=i * (width + gap), y=height - tall, w=width, h=tall, n=count))
    return bars


_pages = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_pages.filters.update(
    age=age_text,
    clock=clock_text,
    rate=rate_text,
    bars=trend_bars,
    event=event_name,
    service=service_name,
)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = _pages.get_template(template).render(
        trend_bucket_seconds=TREND_BUCKET_SECONDS, **context
    )
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


async def is_admin(request: Request, monitor: Monitor) -> bool:
    """True for the admin; False when the request carries no credentials (or an expired or
    forged session). A wrong Bearer key is 401, a partner's 403."""
    if request.headers.get("authorization"):
        await current_admin(request)
        return True
    token = request.cookies.get(COOKIE_NAME)
    return token is not None and monitor.sessions.is_valid(token, datetime.now(UTC))


Access = Annotated[bool, Depends(is_admin)]


def admin_only(admin: Access) -> None:
    if not admin:
        raise Problem(
            401,
            "Log in at /ops/login, or send 'Authorization: Bearer <admin key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminOnly = Depends(admin_only)


def enrolment_id_or_problem(enrolment_id: str) -> str:
    enrolment_id = enrolment_id.strip()
    if not _ENROLMENT_ID.fullmatch(enrolment_id):
        raise Problem(
            400,
            "An enrolment id is letters, digits, '.', '_', ':' or '-' (at most 128).",
            errors=[{"field": "enrolment_id", "message": "not an enrolment id"}],
        )
    return enrolment_id


async def timeline_of(enrolment_id: str, monitor: OpsMonitor) -> Timeline:
    checked = enrolment_id_or_problem(enrolment_id)
    try:
        return await monitor.timeline(checked)
    except Exception as error:
        raise Problem(503, f"Could not read the timeline: {describe(error)}") from error


# --- pages ----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def page(admin: Access, monitor: Monitor, enrolment: str | None = None) -> Response:
    if not admin:
        return RedirectResponse(LOGIN_PATH, status_code=303)
    snapshot = await monitor.snapshot()
    context: dict[str, Any] = {"snapshot": snapshot, "searched": None}
    if enrolment and enrolment.strip():
        context["searched"] = enrolment.strip()
        try:
            context["timeline"] = await timeline_of(enrolment, monitor)
        except Problem as problem:
            context["timeline_problem"] = problem.detail
    return render("page.html", refresh_seconds=monitor.refresh_seconds, **context)


@router.get("/fragments/panels", response_class=HTMLResponse, dependencies=[AdminOnly])
async def panels(monitor: Monitor) -> HTMLResponse:
    return render("panels.html", snapshot=await monitor.snapshot())


@router.get(
    "/fragments/timeline/{enrolment_id}", response_class=HTMLResponse, dependencies=[AdminOnly]
)
async def timeline_fragment(enrolment_id: str, monitor: Monitor) -> HTMLResponse:
    try:
        timeline = await timeline_of(enrolment_id, monitor)
    except Problem as problem:
        return render("timeline.html", searched=enrolment_id, timeline_problem=problem.detail)
    return render("timeline.html", searched=enrolment_id, timeline=timeline)


@router.get("/login", response_class=HTMLResponse)
async def login_form(admin: Access) -> Response:
    if admin:
        return RedirectResponse("/ops", status_code=303)
    return render("login.html", problem=None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, monitor: Monitor, key: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    if not key or not hmac.compare_digest(key.encode(), monitor.sessions.admin_key.encode()):
        return render("login.html", status=401, problem="That is not the admin key.")
    answer = RedirectResponse("/ops", status_code=303, headers=_HEADERS)
    answer.set_cookie(
        COOKIE_NAME,
        monitor.sessions.issue(datetime.now(UTC)),
        max_age=int(monitor.sessions.lifetime.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/logout")
async def logout() -> RedirectResponse:
    answer = RedirectResponse(LOGIN_PATH, status_code=303, headers=_HEADERS)
    answer.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
    return answer


# --- JSON -----------------------------------------------------------------------------------


@api.get("/snapshot", dependencies=[AdminOnly], summary="What the web monitor shows")
async def snapshot_json(monitor: Monitor) -> Snapshot:
    return await monitor.snapshot()


@api.get(
    "/timeline/{enrolment_id}",
    dependencies=[AdminOnly],
    summary="Every event about one enrolment, in time order",
)
async def timeline_json(enrolment_id: str, monitor: Monitor) -> Timeline:
    return await timeline_of(enrolment_id, monitor)

"""The registration service's HTTP API (CONTRACT.md), one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.registration.http import courses, enrolments, parties, partners, reports

routers: list[APIRouter] = [
    partners.router,
    parties.router,
    courses.router,
    enrolments.router,
    reports.router,
]

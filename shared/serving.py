"""Run one service's FastAPI app (with its Kafka consumers) under uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.logging import configure_logging
from shared.settings import ServiceSettings


def serve(name: str, app: FastAPI, settings: ServiceSettings, port: int) -> None:
    configure_logging(name, settings.log_level, as_json=settings.log_json)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )

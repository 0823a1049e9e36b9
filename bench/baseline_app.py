"""The raw baseline for single enrolments: a bare FastAPI app whose one route does one
`insert_one` into the same MongoDB-wire server, under the same uvicorn settings as the
services (`shared.serving`). What the registration service costs above this is its own.

`python -m bench.baseline_app --port P --mongo-url URL` runs it; `launch` starts it as a child.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from bench import raw
from shared.devstack import servers

DATABASE = "bench_baseline"


def create_app(mongo_url: str, database: str = DATABASE) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = raw.connect(mongo_url)
        app.state.enrolments = client[database]["enrolments"]
        await raw.prepare(app.state.enrolments)
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(title="Attesta bench baseline", lifespan=lifespan)

    @app.post("/v1/courses/{course_id}/enrolments", status_code=201)
    async def enrol(course_id: str, body: dict[str, Any], request: Request) -> dict[str, str]:
        at = datetime.now(UTC)
        doc = {
            "_id": uuid.uuid4().hex,
            "course_id": course_id,
            **body,
            "status": "enrolled",
            "certificate_number": None,
            "history": [{"status": "enrolled", "at": at}],
            "created_at": at,
        }
        await request.app.state.enrolments.insert_one(doc)
        return {"id": doc["_id"], "status": "enrolled"}

    return app


def launch(port: int, mongo_url: str, log_path: Path, *, timeout: float = 30.0) -> servers.Child:
    """Start the baseline app as a child process and wait until it listens."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bench.baseline_app", "--port", str(port), "--mongo-url"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*argv, mongo_url], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    child = servers.Child("baseline app", process, port)
    try:
        servers.wait_for_port(port, timeout=timeout, process=process, what=child.name)
    except BaseException:
        child.kill()
        raise
    return child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mongo-url", required=True)
    parser.add_argument("--database", default=DATABASE)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.mongo_url, args.database),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()

"""Logging set-up: readable lines for `make run`, one JSON object per line in production.

Every line carries the service, the correlation id and, when tracing is on, the trace and span
ids, so a line found in a log store leads to the trainee's whole path. Log lines name trainees
by enrolment id only: the code never logs names or addresses, and as a second line of defence
any email address that slips into a message (a mail server's reply quotes its recipient) is
masked before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from opentelemetry import trace

from shared import correlation

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MASK = "<email>"


def mask_emails(text: str) -> str:
    return EMAIL.sub(MASK, text)


class ContextFilter(logging.Filter):
    """Adds the service, correlation id and trace ids to each record (attributes the
    formatters read)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = correlation.current()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": mask_emails(record.getMessage()),
        }
        for field in ("correlation_id", "trace_id", "span_id"):
            if value := getattr(record, field, None):
                entry[field] = value
        if record.exc_info:
            entry["error"] = mask_emails(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service:<13} %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = mask_emails(super().format(record))
        if correlation_id := getattr(record, "correlation_id", None):
            # The first line only: a traceback below keeps its shape.
            first, _, rest = line.partition("\n")
            line = f"{first} [{correlation_id[:12]}]" + (f"\n{rest}" if rest else "")
        return line


def configure_logging(service: str, level: str, *, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(JsonFormatter() if as_json else ReadableFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream logs every message received/processed at INFO: too chatty for a run log.
    logging.getLogger("faststream").setLevel(logging.WARNING)
    logging.getLogger(f"attesta.{service}.kafka").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # One line per request registration's web monitor makes to the others every few seconds.
    logging.getLogger("httpx").setLevel(logging.WARNING)

"""A development OpenTelemetry collector: receives spans over OTLP/HTTP (protobuf, what the
services' exporter sends) and appends each as one JSON line to a file.

`python -m shared.devstack.trace_sink --port 4318 --out .data/traces/spans.jsonl`

It stands where a real collector (or Jaeger, which speaks OTLP too) would, so the tests and
`make run --traces` exercise the services' real exporter over TCP. Read the file with
`spans_of()`, or with `jq`.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

TRACES_PATH = "/v1/traces"


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def spans_of(request: ExportTraceServiceRequest) -> Iterator[dict[str, Any]]:
    """One flat dict per span: ids in hex, as a trace viewer shows them."""
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex() or None,
                    "name": span.name,
                    "kind": span.kind,
                    "service": resource.get("service.name"),
                    "start_ns": span.start_time_unix_nano,
                    "end_ns": span.end_time_unix_nano,
                    "attributes": _attributes(span.attributes),
                    "status": span.status.code,
                }


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _Receiver(BaseHTTPRequestHandler):
    out: Path
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != TRACES_PATH:
            self.send_error(404, "only traces are collected here")
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception:
            self.send_error(400, "not an OTLP protobuf ExportTraceServiceRequest")
            return
        lines = "".join(json.dumps(span) + "\n" for span in spans_of(request))
        with self.lock, self.out.open("a") as file:
            file.write(lines)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per export would drown the stack's logs


def serve(port: int, out: Path, host: str = "127.0.0.1") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch()
    handler = type("Receiver", (_Receiver,), {"out": out})
    with ThreadingHTTPServer((host, port), handler) as server:
        print(f"trace sink: OTLP/HTTP on {host}:{port}, spans to {out}", flush=True)
        server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--out", type=Path, default=Path(".data/traces/spans.jsonl"))
    args = parser.parse_args()
    serve(args.port, args.out)


if __name__ == "__main__":
    main()

"""`make run`: the embedded stack and the three services, until Ctrl-C.

Data lives under `.data/` (MongoDB files, mail, logs) and survives restarts; the embedded
broker keeps messages in memory only, which is safe because every event is first stored in
its service's outbox.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from shared.devstack import servers

SERVICES = ("registration", "certification", "notification")


def env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def admin_key(data_dir: Path) -> str:
    if key := os.environ.get("ATTESTA_ADMIN_KEY"):
        return key
    stored = data_dir / "admin-key"
    if stored.exists():
        return stored.read_text().strip()
    key = secrets.token_urlsafe(24)
    stored.write_text(key + "\n")
    stored.chmod(0o600)
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("ATTESTA_DATA_DIR", ".data"))
    )
    parser.add_argument(
        "--traces",
        action="store_true",
        help="turn tracing on: the services send spans to a development collector on "
        "ATTESTA_TRACE_SINK_PORT (4318), which writes them to <data-dir>/traces/spans.jsonl",
    )
    args = parser.parse_args()
    data_dir: Path = args.data_dir.resolve()
    logs = data_dir / "logs"
    data_dir.mkdir(parents=True, exist_ok=True)

    ports = {
        "kafka": env_port("ATTESTA_KAFKA_PORT", 9092),
        "mongo": env_port("ATTESTA_MONGO_PORT", 27017),
        "smtp": env_port("ATTESTA_SMTP_PORT", 1025),
        "registration": env_port("ATTESTA_REGISTRATION_PORT", 8001),
        "certification": env_port("ATTESTA_CERTIFICATION_PORT", 8002),
        "notification": env_port("ATTESTA_NOTIFICATION_PORT", 8003),
    }
    if args.traces:
        ports["trace sink"] = env_port("ATTESTA_TRACE_SINK_PORT", 4318)
    busy = [f"{name} ({port})" for name, port in ports.items() if servers.port_open(port)]
    if busy:
        sys.exit(
            f"These ports are already in use: {', '.join(busy)}. Stop what uses them, "
            "or choose others with ATTESTA_<NAME>_PORT."
        )

    started = time.monotonic()
    key = admin_key(data_dir)
    children: list[servers.Child] = []

    def stop_all() -> None:
        # A terminal's Ctrl-C reaches uv and us both, and uv forwards it again: once stopping,
        # further signals must not interrupt the stopping.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()

    def on_signal(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        children.append(servers.start_broker(ports["kafka"], logs))
        children.append(servers.start_mongo(ports["mongo"], data_dir / "mongo", logs))
        children.append(servers.start_mail_sink(ports["smtp"], data_dir / "mail", logs))
        if args.traces:
            spans = data_dir / "traces" / "spans.jsonl"
            children.append(servers.start_trace_sink(ports["trace sink"], spans, logs))
        env = servers.stack_environment(
            kafka_port=ports["kafka"],
            mongo_port=ports["mongo"],
            smtp_port=ports["smtp"],
            certification_port=ports["certification"],
            notification_port=ports["notification"],
            admin_key=key,
            lock_dir=data_dir / "locks",
        )
        if args.traces:
            env["ATTESTA_OTLP_ENDPOINT"] = servers.http_url(ports["trace sink"])
        children.extend(servers.start_services({name: ports[name] for name in SERVICES}, env, None))
        print_banner(ports, key, data_dir, time.monotonic() - started)
        while all(child.process.poll() is None for child in children):
            time.sleep(0.5)
        dead = [c.name for c in children if c.process.poll() is not None]
        print(f"\nStopped because {', '.join(dead)} exited; see {logs}.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    finally:
        stop_all()


def print_banner(ports: dict[str, int], key: str, data_dir: Path, seconds: float) -> None:
    reg = f"http://127.0.0.1:{ports['registration']}"
    traces = (
        f"\n  traces         OTLP on 127.0.0.1:{ports['trace sink']}, spans in "
        f"{data_dir / 'traces' / 'spans.jsonl'}"
        if "trace sink" in ports
        else ""
    )
    print(
        f"""
Attesta is ready ({seconds:.1f}s).

  registration   {reg}/docs
  certification  http://127.0.0.1:{ports["certification"]}/docs
  notification   http://127.0.0.1:{ports["notification"]}/docs
  web monitor    {reg}/ops (log in with the admin key)
  kafka          127.0.0.1:{ports["kafka"]} (Tansu, in memory)
  mongodb        127.0.0.1:{ports["mongo"]} (nx-27017, files in {data_dir / "mongo"})
  smtp sink      127.0.0.1:{ports["smtp"]} (every email lands in {data_dir / "mail"}){traces}

  admin key      {key}

Try it:
  export ADMIN={key}
  curl -s -X POST {reg}/v1/partners -H "Authorization: Bearer $ADMIN" \\
       -H 'content-type: application/json' -d '{{"name": "Municipality of Dimitrovgrad"}}'

Press Ctrl-C to stop.""",
        flush=True,
    )


if __name__ == "__main__":
    main()

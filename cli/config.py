"""Where the registration API is and which key to send: flags, then environment, then files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRATION_URL = "http://127.0.0.1:8001"


@dataclass(frozen=True)
class Key:
    value: str
    source: str  # shown when the API refuses the key, so the user knows which one to fix


def registration_url(flag: str | None, env: Mapping[str, str]) -> str:
    url = flag or env.get("ATTESTA_REGISTRATION_URL") or DEFAULT_REGISTRATION_URL
    return url.rstrip("/")


SERVICE_PORTS = {"registration": 8001, "certification": 8002, "notification": 8003}


def service_url(service: str, registration: str, env: Mapping[str, str]) -> str:
    """Where one service's API is: the registration URL for registration, else
    ATTESTA_<SERVICE>_URL, else the port `make run` gives it."""
    if service == "registration":
        return registration
    url = env.get(f"ATTESTA_{service.upper()}_URL") or f"http://127.0.0.1:{SERVICE_PORTS[service]}"
    return url.rstrip("/")


def resolve_key(flag: str | None, env: Mapping[str, str], cwd: Path) -> Key | None:
    """--key, then ATTESTA_KEY, then ATTESTA_ADMIN_KEY, then the key `make run` generated."""
    if flag:
        return Key(flag, "--key")
    for name in ("ATTESTA_KEY", "ATTESTA_ADMIN_KEY"):
        if value := env.get(name, "").strip():
            return Key(value, name)
    # `make run` keeps a generated admin key in its data directory (ATTESTA_DATA_DIR, .data).
    stored = cwd / env.get("ATTESTA_DATA_DIR", ".data") / "admin-key"
    try:
        value = stored.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Key(value, str(stored)) if value else None

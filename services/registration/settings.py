from __future__ import annotations

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    http_port: int = 8001
    mongo_database: str = "registration"

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class CertificationSettings(ServiceSettings):
    http_port: int = 8002
    mongo_database: str = "certification"
    public_base_url: str = Field(
        default="http://127.0.0.1:8002",
        description="Public address of this service: verification URLs and QR codes use it.",
    )

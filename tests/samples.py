"""The course most tests use: a two-day Bulgarian module funded by USAID (CONTRACT.md)."""

from __future__ import annotations

from typing import Any

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="60">'
    '<rect width="160" height="60" fill="#1f4e79"/></svg>'
)


def course_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": "FRMS-2002-DMT",
        "title": "Дружелюбно обслужване на гражданите",
        "language": "bg",
        "issuer": {"name": "Фондация за реформа в местното самоуправление", "logo_svg": LOGO},
        "funder": {
            "name": "Американска агенция за международно развитие",
            "logo_svg": LOGO,
            "programme": "Подобряване обслужването на гражданите",
        },
        "sessions": ["2002-09-10", "2002-09-11"],
        "signatories": [{"name": "Таня Рангелова", "role": "Лектор"}],
        "location": "Димитровград",
    }
    fields.update(overrides)
    return fields

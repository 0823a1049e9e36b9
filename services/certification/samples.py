"""One sample certificate per language, as trainees of each audience would get it: used by the
rendering tests and by `python -m services.certification.samples` to draw the PNGs in `docs/`.

Sample data only; nothing here runs in the service.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from services.certification.render import DESIGNS, CertificateContent, CertificateRenderer
from shared.events import CourseSnapshot

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="180" height="60" viewBox="0 0 180 60">'
    '<rect width="180" height="60" rx="8" fill="{fill}"/>'
    '<circle cx="30" cy="30" r="18" fill="white"/>'
    '<rect x="60" y="22" width="100" height="16" rx="4" fill="white"/></svg>'
)


@dataclass(frozen=True)
class Sample:
    holder: str
    title: str
    issuer: str
    funder: str
    programme: str
    acknowledgement: str | None
    sessions: list[date]
    location: str | None
    signatory: tuple[str, str]


SAMPLES: dict[str, Sample] = {
    "bg": Sample(
        holder="Иванка Петрова-Димитрова",
        title="Дружелюбно обслужване на гражданите",
        issuer="Фондация за реформа в местното самоуправление",
        funder="Американска агенция за международно развитие",
        programme="Подобряване обслужването на гражданите",
        acknowledgement="Това обучение е осъществено с подкрепата на американския народ "
        "чрез Агенцията за международно развитие на САЩ (USAID).",
        sessions=[date(2002, 9, 10), date(2002, 9, 11)],
        location="Димитровград",
        signatory=("Таня Рангелова", "Лектор"),
    ),
    "ru": Sample(
        holder="Алексей Щербаков",
        title="Управление конфликтами в общении с гражданами",
        issuer="Институт муниципального управления",
        funder="Городская программа «Открытая администрация»",
        programme="Открытая администрация",
        acknowledgement=None,
        sessions=[date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 18), date(2024, 3, 25)],
        location="Казань",
        signatory=("Ольга Сергеевна Кузнецова", "Руководитель программы"),
    ),
    "pl": Sample(
        holder="Zofia Łukasiewicz-Wiśniewska",
        title="Prosty język w urzędzie",
        issuer="Fundacja Rozwoju Demokracji Lokalnej",
        funder="Europejski Fundusz Społeczny Plus",
        programme="Fundusze Europejskie dla Rozwoju Społecznego",
        acknowledgement="Projekt współfinansowany ze środków Unii Europejskiej.",
        sessions=[date(2025, 5, 14)],
        location=None,
        signatory=("Małgorzata Żółkiewska", "Trenerka"),
    ),
    "en": Sample(
        holder="Mary-Kate O'Neill-Fitzgerald",
        title="Contact-centre service standards for municipal staff",
        issuer="Institute for Public Service",
        funder="City of Springfield Staff Development Programme",
        programme="Better Service 2026",
        acknowledgement=None,
        sessions=[date(2026, 2, 2), date(2026, 3, 2)],
        location="Springfield",
        signatory=("Dr. Amelia Hart", "Director of Training"),
    ),
}


def sample_course(language: str, design: str = "classic") -> dict[str, Any]:
    """The sample's course, as the fields a course is created with."""
    sample = SAMPLES[language]
    name, role = sample.signatory
    return {
        "id": f"sample-{language}",
        "code": "FRMS-SAMPLE",
        "title": sample.title,
        "language": language,
        "design": design,
        "issuer": {"name": sample.issuer, "logo_svg": LOGO.format(fill="#1f4e79")},
        "funder": {
            "name": sample.funder,
            "logo_svg": LOGO.format(fill="#b22234"),
            "programme": sample.programme,
            "acknowledgement": sample.acknowledgement,
        },
        "sessions": sample.sessions,
        "location": sample.location,
        "signatories": [{"name": name, "role": role}],
    }


def sample_content(
    language: str, design: str = "classic", **overrides: object
) -> CertificateContent:
    sample = SAMPLES[language]
    course = CourseSnapshot.model_validate(sample_course(language, design))
    fields: dict[str, object] = {
        "number": "FRMS-2026-000123",
        "holder": sample.holder,
        "course": course,
        "issued_on": max(course.sessions),
        "valid_until": None,
        "verification_url": "https://certificates.example.org/verify/mzxw6ytboi2dqnzr",
    }
    fields.update(overrides)
    return CertificateContent(**fields)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw sample certificates as PNG files.")
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/certificates"))
    parser.add_argument("--scale", type=float, default=1.25, help="pixels per PDF point")
    args = parser.parse_args()
    import pypdfium2  # a development dependency: only this tool and the tests draw PNGs

    renderer = CertificateRenderer()
    args.out.mkdir(parents=True, exist_ok=True)
    for design, language in (
        ("classic", "bg"),
        ("modern", "pl"),
        ("classic", "ru"),
        ("modern", "en"),
    ):
        assert design in DESIGNS
        pdf = pypdfium2.PdfDocument(renderer.render(sample_content(language, design)))
        path = args.out / f"{design}-{language}.png"
        pdf[0].render(scale=args.scale).to_pil().save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()

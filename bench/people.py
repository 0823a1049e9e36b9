"""Realistic trainees for bulk uploads: Bulgarian and Polish municipal staff, as CSV rows."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

HEADER = ("external_ref", "full_name", "email", "position", "organisation")

# (male, female) first names; surnames as (male, female) because both languages inflect them.
BG_FIRST = (
    ("Иван", "Мария"),
    ("Георги", "Елена"),
    ("Димитър", "Десислава"),
    ("Николай", "Йорданка"),
    ("Стоян", "Таня"),
    ("Петър", "Радка"),
    ("Христо", "Цветелина"),
    ("Васил", "Антоанета"),
    ("Благой", "Снежана"),
    ("Калоян", "Светлана"),
)
BG_LAST = (
    ("Петров", "Петрова"),
    ("Иванов", "Иванова"),
    ("Георгиев", "Георгиева"),
    ("Димитров", "Димитрова"),
    ("Рангелов", "Рангелова"),
    ("Стоянов", "Стоянова"),
    ("Тодоров", "Тодорова"),
    ("Костадинов", "Костадинова"),
    ("Хаджиев", "Хаджиева"),
    ("Атанасов", "Атанасова"),
)
BG_POSITIONS = (
    "Главен експерт",
    "Старши специалист",
    "Началник отдел „Местни данъци и такси“",
    "Кмет на кметство",
    "Юрисконсулт",
    "Специалист, ГРАО",
)
BG_PLACES = ("Димитровград", "Хасково", "Габрово", "Смолян", "Свищов", "Велинград", "Кърджали")

PL_FIRST = (
    ("Łukasz", "Małgorzata"),
    ("Krzysztof", "Agnieszka"),
    ("Paweł", "Katarzyna"),
    ("Grzegorz", "Żaneta"),
    ("Tomasz", "Joanna"),
    ("Michał", "Beata"),
    ("Wojciech", "Dorota"),
    ("Przemysław", "Ewa"),
)
PL_LAST = (
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Nowak", "Nowak"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Dąbrowski", "Dąbrowska"),
    ("Woźniak", "Woźniak"),
)
PL_POSITIONS = (
    "Inspektor",
    "Podinspektor ds. zamówień publicznych",
    "Kierownik Referatu Spraw Obywatelskich",
    "Sekretarz Gminy",
    "Specjalista, Urząd Stanu Cywilnego",
)
PL_PLACES = ("Łódź", "Białystok", "Rzeszów", "Zamość", "Nowy Sącz", "Gniezno", "Łomża")


class Trainee(NamedTuple):
    external_ref: str
    full_name: str
    email: str
    position: str
    organisation: str


def trainees(prefix: str, count: int, *, seed: int = 2002) -> Iterator[Trainee]:
    """`count` trainees whose external_refs start with `prefix`: the same seed gives the same
    people, so the service and the raw baseline store the same rows."""
    rng = random.Random(seed)
    for number in range(count):
        ref = f"{prefix}-{number:07d}"
        female = rng.random() < 0.55
        if rng.random() < 0.6:
            first, last = rng.choice(BG_FIRST)[female], rng.choice(BG_LAST)[female]
            position = rng.choice(BG_POSITIONS)
            organisation = f"Община {rng.choice(BG_PLACES)}"
            domain = "example.bg"
        else:
            first, last = rng.choice(PL_FIRST)[female], rng.choice(PL_LAST)[female]
            position = rng.choice(PL_POSITIONS)
            organisation = f"Urząd Miasta {rng.choice(PL_PLACES)}"
            domain = "example.pl"
        yield Trainee(ref, f"{first} {last}", f"{ref}@{domain}", position, organisation)


def write_csv(path: Path, prefix: str, count: int) -> int:
    """Write the CSV a partner would upload; returns its size in bytes."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(trainees(prefix, count))
    return path.stat().st_size


def read_csv(path: Path) -> list[Trainee]:
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        next(reader)
        return [Trainee(*row) for row in reader]

"""`attesta`, the installed command, against the real running services: what staff type and what
they see."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from tests.conftest import ADMIN_KEY, Services
from tests.e2e.api_client import course_body
from tests.e2e.conftest import Training


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Attesta(Protocol):
    def __call__(self, *args: str, key: str = ...) -> Run: ...


@pytest.fixture
def attesta(services: Services, tmp_path: Path) -> Attesta:
    """Runs the installed entry point as staff would, with the admin key unless told otherwise."""
    command = shutil.which("attesta", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("no `attesta` next to the test interpreter: run `make install`")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ATTESTA_")}

    def run(*args: str, key: str = ADMIN_KEY) -> Run:
        env = base_env | {
            "ATTESTA_REGISTRATION_URL": services.urls["registration"],
            "ATTESTA_CERTIFICATION_URL": services.urls["certification"],
            "ATTESTA_NOTIFICATION_URL": services.urls["notification"],
            "ATTESTA_KEY": key,
        }
        done = subprocess.run(
            [command, *args],
            env=env,
            cwd=tmp_path,  # away from the repository's .data/admin-key
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@dataclass
class Setup:
    partner_id: str
    partner_key: str
    course_id: str


@pytest.fixture
def setup(training: Training) -> Setup:
    """A partner and a course of its own, made through the API: creating them with the command
    line is tested on its own below."""
    return Setup(training.partner_id, training.partner.key, training.course["id"])


def trainees(path: Path, bad_email_row: int, no_name_row: int, rows: int = 30) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["external_ref", "full_name", "email", "position"])
        for n in range(1, rows + 1):
            name = "" if n == no_name_row else f"Мария Иванова {n}"
            email = "not-an-email" if n == bad_email_row else f"maria.{n}@example.bg"
            writer.writerow([f"T-{n:02d}", name, email, "специалист"])


def fields(out: str) -> dict[str, str]:
    """The `name: value` lines a `show` command prints before its tables."""
    head = out.split("History:")[0]
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in head.splitlines())
    }


def test_admin_creates_a_partner_and_is_shown_its_key_once(attesta: Attesta) -> None:
    result = attesta("partners", "create", "Община Димитровград", "--contact-email", "it@dg.bg")

    assert result.code == 0, result.err
    assert "Created partner Община Димитровград" in result.out
    assert "API key:" in result.out and "ak_" in result.out
    assert "shown only this once" in result.err


def test_the_key_of_a_new_partner_enrols_on_its_course_but_cannot_create_courses(
    attesta: Attesta, tmp_path: Path
) -> None:
    partner = attesta("--json", "partners", "create", "Община Хасково")
    assert partner.code == 0, partner.err
    created = partner.json()
    course_file = tmp_path / "course.json"
    course_file.write_text(json.dumps(course_body([created["id"]])), encoding="utf-8")
    course = attesta("courses", "create", str(course_file), "--json")
    assert course.code == 0, course.err
    upload = tmp_path / "trainees.csv"
    trainees(upload, bad_email_row=0, no_name_row=0, rows=3)

    enrolled = attesta("enrol", course.json()["id"], str(upload), key=created["api_key"])
    as_admin = attesta("courses", "create", str(course_file), key=created["api_key"])

    assert enrolled.code == 0, enrolled.err
    assert "3 rows: 3 accepted" in enrolled.out
    assert as_admin.code == 1
    assert "Only the administrator may do this. (HTTP 403)" in as_admin.err


def test_admin_creates_a_course_from_a_json_file(
    attesta: Attesta, setup: Setup, services: Services, tmp_path: Path
) -> None:
    course_file = tmp_path / "another.json"
    body = course_body([setup.partner_id], code="FRMS-2003-CLI")
    course_file.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    result = attesta("courses", "create", str(course_file))

    assert result.code == 0, result.err
    assert "Created course FRMS-2003-CLI" in result.out
    course_id = next(line.split()[-1] for line in result.out.splitlines() if line.startswith("id:"))
    stored = httpx.get(
        f"{services.urls['registration']}/v1/courses/{course_id}",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()
    assert stored["code"] == "FRMS-2003-CLI" and stored["partner_ids"] == [setup.partner_id]


def test_a_course_naming_an_unknown_partner_is_refused_with_the_field(
    attesta: Attesta, tmp_path: Path
) -> None:
    course_file = tmp_path / "course.json"
    course_file.write_text(json.dumps(course_body(["no-such-partner"])), encoding="utf-8")

    result = attesta("courses", "create", str(course_file))

    assert result.code == 1
    assert "Unknown partner ids: no-such-partner." in result.err
    assert "partner_ids: unknown partner no-such-partner" in result.err


def test_partner_uploads_30_rows_sees_the_2_bad_ones_and_a_second_upload_counts_duplicates(
    attesta: Attesta, setup: Setup, tmp_path: Path
) -> None:
    upload = tmp_path / "trainees.csv"
    trainees(upload, bad_email_row=7, no_name_row=19)
    rejected_out = tmp_path / "rejected.csv"

    first = attesta(
        "enrol",
        setup.course_id,
        str(upload),
        "--rejected-out",
        str(rejected_out),
        key=setup.partner_key,
    )

    assert first.code == 0, first.err
    assert "30 rows: 28 accepted, 0 duplicates (already enrolled), 2 rejected" in first.out
    table = first.out[first.out.index("Rejected rows") :].splitlines()[2:4]
    rows = {line.split()[0]: line for line in table}
    assert set(rows) == {"7", "19"}
    assert "T-07" in rows["7"] and "email:" in rows["7"]
    assert "T-19" in rows["19"] and "full_name:" in rows["19"]
    with rejected_out.open(encoding="utf-8") as written:
        assert [(r["row"], r["external_ref"], r["field"]) for r in csv.DictReader(written)] == [
            ("7", "T-07", "email"),
            ("19", "T-19", "full_name"),
        ]
    assert "100%" in first.err  # the upload's progress, on stderr
    assert f"All 2 rejected rows written to {rejected_out}." in first.out

    again = attesta("--json", "enrol", setup.course_id, str(upload), key=setup.partner_key)

    assert again.code == 0, again.err
    result = again.json()
    assert (result["accepted"], result["duplicates"]) == (0, 28)
    assert [r["row"] for r in result["rejected"]] == [7, 19]


def test_enrolling_with_the_admin_key_says_a_partner_key_is_needed(
    attesta: Attesta, setup: Setup, tmp_path: Path
) -> None:
    upload = tmp_path / "trainees.csv"
    trainees(upload, bad_email_row=0, no_name_row=0, rows=2)

    result = attesta("enrol", setup.course_id, str(upload))

    assert result.code == 1
    assert "partner's key" in result.err and "(HTTP 403)" in result.err


def test_enrolment_show_prints_the_trainee_status_and_history(
    attesta: Attesta, setup: Setup, services: Services, tmp_path: Path
) -> None:
    upload = tmp_path / "trainees.csv"
    trainees(upload, bad_email_row=0, no_name_row=0, rows=1)
    assert attesta("enrol", setup.course_id, str(upload), key=setup.partner_key).code == 0
    listing = httpx.get(
        f"{services.urls['registration']}/v1/courses/{setup.course_id}/enrolments",
        headers={"Authorization": f"Bearer {setup.partner_key}"},
    ).json()
    enrolment_id = listing["items"][0]["id"]

    result = attesta("enrolment", "show", enrolment_id, key=setup.partner_key)

    assert result.code == 0, result.err
    shown = fields(result.out)
    assert shown["id"] == enrolment_id
    assert shown["trainee"] == "Мария Иванова 1 <maria.1@example.bg>"
    assert shown["external ref"] == "T-01"
    assert shown["status"] == "enrolled"
    assert shown["certificate"] == "—"
    history = result.out[result.out.index("History:") :].splitlines()
    assert history[1].split() == ["AT", "STATUS", "EVENT"]
    assert history[2].split()[1] == "enrolled"


def test_enrolment_show_of_someone_elses_enrolment_is_not_found(
    attesta: Attesta, setup: Setup
) -> None:
    result = attesta("enrolment", "show", "no-such-enrolment", key=setup.partner_key)

    assert result.code == 1
    assert "No enrolment no-such-enrolment of yours. (HTTP 404)" in result.err


async def test_verify_pdf_finds_a_downloaded_certificate_genuine_with_the_published_keys(
    attesta: Attesta, training: Training, tmp_path: Path
) -> None:
    partner = training.partner
    number = (await training.certify("v1", "Анна Смирнова"))["number"]
    pdf = await partner.call("certification", "GET", f"/v1/certificates/{number}/pdf")
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(pdf.content)

    checked = attesta("--json", "verify-pdf", str(path))

    assert checked.code == 0, checked.err
    assert checked.json()["certificate"]["holder"] == "Анна Смирнова"
    assert checked.json()["certificate"]["number"] == number

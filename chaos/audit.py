"""What a chaos run left behind, read from the databases, the mail sink's files and the
dead-letter topics — never from the services' own answers — and judged."""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.people import Trainee
from chaos.poison import HEADER
from cli.dead_letters import read_dead_letters
from shared.mongo import Document, connect

_SEQUENCE = re.compile(r"-(\d+)$")


@dataclass
class Audit:
    trainees: int
    qualifying: int
    certificates: int = 0  # valid certificates of this run's course
    emails: int = 0  # certificate emails in the sink
    missing_certificates: list[str] = field(default_factory=list)  # external_refs
    missing_emails: list[str] = field(default_factory=list)
    extra_certificates: list[str] = field(default_factory=list)  # beyond one per qualifying
    extra_emails: list[str] = field(default_factory=list)
    shared_numbers: list[str] = field(default_factory=list)
    skipped_numbers: list[int] = field(default_factory=list)
    poison_missing: list[tuple[str, str]] = field(default_factory=list)  # (poison id, service)
    dead_lettered: int = 0
    not_ready: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len(set(self.missing_certificates) | set(self.missing_emails))

    @property
    def duplicated(self) -> int:
        return len(self.extra_certificates) + len(self.extra_emails) + len(self.shared_numbers)

    @property
    def passed(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.skipped_numbers
            or self.poison_missing
            or self.not_ready
        )

    def problems(self) -> list[str]:
        found = []
        for label, items in (
            ("no certificate", self.missing_certificates),
            ("no email", self.missing_emails),
            ("more than one certificate", self.extra_certificates),
            ("more than one email", self.extra_emails),
            ("certificate numbers shared", self.shared_numbers),
            ("certificate numbers skipped", self.skipped_numbers),
            ("poison not dead-lettered (id, service)", self.poison_missing),
            ("instances not ready", self.not_ready),
        ):
            if items:
                shown = ", ".join(map(str, items[:10]))
                more = f" … ({len(items)} in all)" if len(items) > 10 else ""
                found.append(f"{label}: {shown}{more}")
        return found


def mail_recipients(mail_dir: Path) -> Counter[str]:
    """How many messages the sink holds for each To address (headers only: fast)."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    counts: Counter[str] = Counter()
    for path in mail_dir.glob("*.eml"):
        with path.open("rb") as message:
            headers = parser.parse(message)
        for address in headers.get_all("To") or []:
            for one in address.addresses:
                counts[one.addr_spec.lower()] += 1
    return counts


async def certificates_by_ref(
    mongo_url: str, course_id: str
) -> tuple[dict[str, list[Document]], list[Document]]:
    """This course's certificates by trainee external_ref, and every certificate issued."""
    client = connect(mongo_url)
    try:
        refs = {
            doc["_id"]: doc["external_ref"]
            async for doc in client["registration"]["enrolments"].find(
                {"course_id": course_id}, {"external_ref": 1}
            )
        }
        issued = [
            doc
            async for doc in client["certification"]["certificates"].find(
                {}, {"enrolment_id": 1, "status": 1, "version": 1}
            )
        ]
    finally:
        await client.close()
    by_ref: dict[str, list[Document]] = {}
    for certificate in issued:
        ref = refs.get(certificate["enrolment_id"])
        if ref is not None:
            by_ref.setdefault(ref, []).append(certificate)
    return by_ref, issued


async def dead_letters(bootstrap: str) -> set[tuple[str, str]]:
    """(poison id, service) of every chaos poison message in a dead-letter topic."""
    return {
        (poison, letter.service or "?")
        for letter in await read_dead_letters(bootstrap)
        if (poison := letter.header(HEADER)) is not None
    }


def number_gaps(numbers: Sequence[str]) -> tuple[list[str], list[int]]:
    """Certificate numbers used twice, and sequence numbers never used below the highest."""
    shared = sorted(n for n, c in Counter(numbers).items() if c > 1)
    sequences = {int(m.group(1)) for n in numbers if (m := _SEQUENCE.search(n))}
    skipped = sorted(set(range(1, max(sequences, default=0) + 1)) - sequences)
    return shared, skipped


async def audit(
    *,
    mongo_url: str,
    bootstrap: str,
    mail_dir: Path,
    course_id: str,
    trainees: Sequence[Trainee],
    qualifying: Sequence[Trainee],
    expected_poison: set[tuple[str, str]],
) -> Audit:
    result = Audit(trainees=len(trainees), qualifying=len(qualifying))
    by_ref, issued = await certificates_by_ref(mongo_url, course_id)
    mail = mail_recipients(mail_dir)
    qualifying_refs = {t.external_ref for t in qualifying}
    for trainee in trainees:
        # Every version counts: a second one, even superseded, is a certificate issued twice.
        versions = by_ref.get(trainee.external_ref, [])
        valid = [c for c in versions if c["status"] == "valid"]
        emails = mail.get(trainee.email.lower(), 0)
        wanted = 1 if trainee.external_ref in qualifying_refs else 0
        result.certificates += len(valid)
        result.emails += emails
        if len(valid) < wanted:
            result.missing_certificates.append(trainee.external_ref)
        if emails < wanted:
            result.missing_emails.append(trainee.external_ref)
        result.extra_certificates += [trainee.external_ref] * max(0, len(versions) - wanted)
        result.extra_emails += [trainee.external_ref] * max(0, emails - wanted)
    result.shared_numbers, result.skipped_numbers = number_gaps([str(c["_id"]) for c in issued])
    found = await dead_letters(bootstrap)
    result.dead_lettered = len(found & expected_poison)
    result.poison_missing = sorted(expected_poison - found)
    return result


def delivered(mail_dir: Path, qualifying: Sequence[Trainee]) -> int:
    """How many qualifying trainees have their email: the run drains until all have."""
    mail = mail_recipients(mail_dir)
    return sum(1 for t in qualifying if mail.get(t.email.lower(), 0))

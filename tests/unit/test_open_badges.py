"""A certificate as an Open Badges 3.0 credential: valid against 1EdTech's JSON Schema in every
language, expiring where the course says, and without the holder's email in clear."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.certification import openbadges
from services.certification.openbadges import Publisher
from services.certification.status_lists import StatusEntry
from tests.samples import course_fields

SCHEMA = json.loads(
    (
        Path(__file__).parents[1] / "fixtures/openbadges/ob_v3p0_achievementcredential_schema.json"
    ).read_text(encoding="utf-8")
)
PUBLISHER = Publisher("https://certificates.frmb.bg", "did:web:certificates.frmb.bg")
TITLES = {
    "bg": "Дружелюбно обслужване на гражданите",
    "ru": "Управление конфликтами",
    "pl": "Prosty język w urzędzie",
    "en": "Contact-centre standards",
}


def certificate(language: str = "bg", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": "FRMS-2002-000123",
        "enrolment_id": "e-42",
        "partner_id": "p1",
        "version": 1,
        "verification_code": "abcdefghijklmnopqrstuvwx",
        "holder": {"full_name": "Мария Иванова", "email": "Maria.Ivanova@dimitrovgrad.bg"},
        "course": course_fields(id="c1", language=language, title=TITLES[language]),
        "issued_on": "2002-09-11",
        "valid_until": None,
        "status": "valid",
        "created_at": datetime(2002, 9, 11, 15, 4, 5, 123456, tzinfo=UTC),
    }
    doc.update(overrides)
    return doc


def schema_errors(credential: dict[str, Any]) -> list[str]:
    # The newest schema 1EdTech publishes that we could obtain predates Verifiable Credentials
    # 2.0, which renamed `issuanceDate` to `validFrom` and `expirationDate` to `validUntil`;
    # nothing else in it differs for these credentials.
    renamed = {"validFrom": "issuanceDate", "validUntil": "expirationDate"}
    checked = {renamed.get(name, name): value for name, value in credential.items()}
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(checked)]


def is_timestamp(text: str) -> bool:
    return text.endswith("Z") and datetime.fromisoformat(text).tzinfo is not None


@pytest.mark.parametrize("language", ["bg", "ru", "pl", "en"])
def test_credential_validates_against_the_open_badges_schema(language: str) -> None:
    credential = openbadges.credential(certificate(language), PUBLISHER, StatusEntry(0, 42))

    assert schema_errors(credential) == []
    assert credential["@context"] == [openbadges.VC_CONTEXT, openbadges.OB_CONTEXT]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["name"] == TITLES[language]
    assert credential["credentialSubject"]["achievement"]["inLanguage"] == language
    assert credential["validFrom"] == "2002-09-11T15:04:05Z" and is_timestamp(
        credential["awardedDate"]
    )


def test_a_credential_missing_required_parts_fails_the_schema() -> None:
    credential = openbadges.credential(certificate(), PUBLISHER, None)
    del credential["credentialSubject"]["achievement"]["criteria"]
    credential["issuer"] = {"name": "no id"}

    errors = schema_errors(credential)

    assert any("'criteria' is a required property" in e for e in errors)
    assert any("'id' is a required property" in e for e in errors)


def test_an_expiring_certificate_carries_valid_until_through_its_last_day() -> None:
    credential = openbadges.credential(
        certificate(valid_until="2004-09-11"), PUBLISHER, StatusEntry(0, 42)
    )
    assert credential["validUntil"] == "2004-09-11T23:59:59Z"
    assert "validUntil" not in openbadges.credential(certificate(), PUBLISHER, None)


def test_the_email_is_published_only_as_a_salted_hash() -> None:
    credential = openbadges.credential(certificate(), PUBLISHER, None)
    text = json.dumps(credential, ensure_ascii=False).lower()
    name, email = credential["credentialSubject"]["identifier"]

    assert "maria.ivanova@" not in text
    assert name == {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": False,
        "identityHash": "Мария Иванова",
    }
    expected = hashlib.sha256(("maria.ivanova@dimitrovgrad.bg" + email["salt"]).encode())
    assert email["identityHash"] == "sha256$" + expected.hexdigest()
    again = openbadges.credential(certificate(), PUBLISHER, None)
    assert again["credentialSubject"]["identifier"][1] == email  # stable for a wallet


def test_the_status_entry_points_at_the_bit_in_the_published_list() -> None:
    credential = openbadges.credential(certificate(), PUBLISHER, StatusEntry(3, 1234))
    assert credential["credentialStatus"] == {
        "id": "https://certificates.frmb.bg/v1/status-lists/3#1234",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "1234",
        "statusListCredential": "https://certificates.frmb.bg/v1/status-lists/3",
    }


def test_every_certificate_of_a_course_names_the_same_achievement() -> None:
    first = openbadges.credential(certificate(), PUBLISHER, None)
    other = openbadges.credential(certificate(_id="FRMS-2002-000124"), PUBLISHER, None)
    achievement = first["credentialSubject"]["achievement"]
    assert achievement["id"] == other["credentialSubject"]["achievement"]["id"]
    assert achievement["id"].startswith("urn:uuid:")
    assert first["id"] != other["id"]

"""A certificate as an Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable Credential 2.0),
for digital wallets. Pure: built from the stored certificate, signed by the caller.

What it carries and what it leaves out follows the verification page: the holder's name (it is
printed on the certificate), the course, issuer, funder and dates. The holder's email is only
a salted hash, so a wallet can prove "this is mine" without the credential publishing it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.certification.status_lists import StatusEntry

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)

# The achievement's criteria, in the certificate's language.
CRITERIA: dict[str, str] = {
    "bg": "Присъствие на всички {sessions} занятия на обучението ({dates}).",
    "ru": "Посещение всех занятий обучения ({sessions}; {dates}).",
    "pl": "Obecność na wszystkich zajęciach szkolenia ({sessions}; {dates}).",
    "en": "Attended all {sessions} session(s) of the training ({dates}).",
}


@dataclass(frozen=True)
class Publisher:
    """Where the certification service is reached, and who it is in the credentials."""

    base_url: str
    did: str

    def credential_url(self, number: str) -> str:
        return f"{self.base_url}/v1/certificates/{number}/credential"

    def status_list_url(self, list_id: int) -> str:
        return f"{self.base_url}/v1/status-lists/{list_id}"


def timestamp(moment: datetime) -> str:
    """`2026-11-23T12:00:00Z`: whole seconds in UTC, as Verifiable Credentials write them."""
    if moment.tzinfo is None:  # the database hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def identity_hash(email: str, salt: str) -> str:
    """OB's IdentityHash: `sha256$` and the hex digest of the address followed by the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def email_salt(certificate: Mapping[str, Any]) -> str:
    # Stable for the certificate (a wallet that fetches it twice sees the same hash) and not
    # printed anywhere, so the published hash cannot be checked against a list of addresses
    # without the credential itself.
    seed = f"attesta-identity:{certificate['enrolment_id']}:{certificate['_id']}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def achievement_id(publisher: Publisher, course_id: str) -> str:
    # One achievement per course, stable across its certificates and deployments' URLs alike.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{publisher.did}/courses/{course_id}')}"


def credential(
    certificate: Mapping[str, Any], publisher: Publisher, status: StatusEntry | None
) -> dict[str, Any]:
    """The unsigned `OpenBadgeCredential` of a stored certificate."""
    course = certificate["course"]
    funder = course["funder"]
    language = course["language"]
    number = certificate["_id"]
    sessions = sorted(date.fromisoformat(str(day)) for day in course["sessions"])
    dates = f"{sessions[0].isoformat()} – {sessions[-1].isoformat()}"
    if sessions[0] == sessions[-1]:
        dates = sessions[0].isoformat()
    issuer = {"id": publisher.did, "type": ["Profile"], "name": course["issuer"]["name"]}
    support = funder["name"] + (f" ({funder['programme']})" if funder.get("programme") else "")
    salt = email_salt(certificate)
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": publisher.credential_url(number),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": course["title"],
        "description": f"{number} · {course['issuer']['name']} · {support}",
        "issuer": issuer,
        "validFrom": timestamp(certificate["created_at"]),
        "awardedDate": f"{certificate['issued_on']}T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": certificate["holder"]["full_name"],
                },
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": identity_hash(certificate["holder"]["email"], salt),
                    "salt": salt,
                },
            ],
            "achievement": {
                "id": achievement_id(publisher, course["id"]),
                "type": ["Achievement"],
                "achievementType": "CertificateOfCompletion",
                "name": course["title"],
                "description": f"{course['title']} — {course['issuer']['name']}, {support}",
                "criteria": {
                    "narrative": CRITERIA.get(language, CRITERIA["en"]).format(
                        sessions=len(sessions), dates=dates
                    )
                },
                "humanCode": course["code"],
                "inLanguage": language,
                "creator": issuer,
            },
        },
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if certificate.get("valid_until"):
        # The certificate is valid through its last day.
        document["validUntil"] = f"{certificate['valid_until']}T23:59:59Z"
    if status is not None:
        list_url = publisher.status_list_url(status.list_id)
        document["credentialStatus"] = {
            "id": f"{list_url}#{status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status.index),
            "statusListCredential": list_url,
        }
    return document


def status_list_credential(
    publisher: Publisher, list_id: int, encoded_list: str, now: datetime, ttl_seconds: int
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` of one list."""
    url = publisher.status_list_url(list_id)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": publisher.did,
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list,
            "ttl": ttl_seconds * 1000,
        },
    }

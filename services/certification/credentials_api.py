"""HTTP routes for digital wallets: a certificate as a signed Open Badges 3.0 credential, the
status lists that say which credentials were withdrawn, and the DID document with the keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from services.certification import openbadges, status_lists
from services.certification.api import Caller, KeyringDep, Store, visible_certificate
from services.certification.keyring import Keyring
from services.certification.openbadges import Publisher
from services.certification.status_lists import StatusEntry
from shared import data_integrity
from shared.app_state import from_app_state
from shared.problems import Problem

router = APIRouter()
PublisherDep = Annotated[Publisher, Depends(from_app_state("publisher", Publisher))]

JSON_LD = "application/ld+json"
# How long a wallet may keep a status list before asking again: a revocation shows within it.
STATUS_LIST_TTL_SECONDS = 300
_PUBLIC = {"Access-Control-Allow-Origin": "*"}


def signed(document: dict[str, Any], keyring: Keyring, publisher: Publisher) -> dict[str, Any]:
    key = keyring.active
    return data_integrity.add_proof(document, key.private, f"{publisher.did}#{key.kid}")


@router.get(
    "/v1/certificates/{number}/credential",
    tags=["credentials"],
    summary="The certificate as a signed Open Badges 3.0 credential, for a digital wallet",
    responses={200: {"content": {JSON_LD: {}}}},
)
async def get_credential(
    number: str, caller: Caller, store: Store, keyring: KeyringDep, publisher: PublisherDep
) -> JSONResponse:
    """An `OpenBadgeCredential` (W3C Verifiable Credential 2.0) with an `eddsa-jcs-2022` Data
    Integrity proof by the key that `/.well-known/did.json` publishes. Its `credentialStatus`
    points at a Bitstring Status List where a revocation or reissue shows; an expiring
    certificate carries `validUntil`."""
    doc = await visible_certificate(number, caller, store)
    entry = doc.get("status_entry")
    # Certificates issued before status lists began have no bit: their status is the
    # verification page's alone.
    status = None if entry is None else StatusEntry(entry["list"], entry["index"])
    credential = openbadges.credential(doc, publisher, status)
    return JSONResponse(
        signed(credential, keyring, publisher),
        media_type=JSON_LD,
        headers={"Content-Disposition": f'inline; filename="{number}.credential.json"'},
    )


@router.get(
    "/v1/status-lists/{list_id}",
    tags=["credentials"],
    summary="A W3C Bitstring Status List: which credentials are revoked or superseded",
    responses={200: {"content": {JSON_LD: {}}}},
)
async def get_status_list(
    list_id: int, store: Store, keyring: KeyringDep, publisher: PublisherDep
) -> JSONResponse:
    """A signed `BitstringStatusListCredential` of 131,072 entries: bit *n* is set when the
    credential whose `statusListIndex` is *n* was revoked or replaced by a reissue. Public and
    cacheable, so a wallet checks many credentials without telling us which."""
    issued = await store.issued_count()
    if list_id < 0 or issued == 0 or list_id > (issued - 1) // status_lists.LIST_SIZE:
        raise Problem(404, f"No status list {list_id}.")
    encoded = status_lists.encode(await store.withdrawn_bits(list_id))
    document = openbadges.status_list_credential(
        publisher, list_id, encoded, datetime.now(UTC), STATUS_LIST_TTL_SECONDS
    )
    return JSONResponse(
        signed(document, keyring, publisher),
        media_type=JSON_LD,
        headers={"Cache-Control": f"public, max-age={STATUS_LIST_TTL_SECONDS}", **_PUBLIC},
    )


@router.get(
    data_integrity.DID_PATH,
    tags=["credentials"],
    summary="The service's did:web document: every key that signs credentials, retired ones too",
)
async def did_document(keyring: KeyringDep, publisher: PublisherDep) -> JSONResponse:
    keys = await keyring.public_keys()
    return JSONResponse(
        data_integrity.did_document(publisher.did, keys),
        media_type="application/did+json",
        headers={"Cache-Control": "public, max-age=300", **_PUBLIC},
    )

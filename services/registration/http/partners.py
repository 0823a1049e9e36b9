"""Partners (municipalities, training providers) and their API keys: admin only."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.registration.http.deps import Admin, Cursor, PageSize, Reg, Store, next_cursor
from services.registration.schemas import (
    KeyCreated,
    KeyOut,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    PartnerPage,
)
from services.registration.store import RegistrationStore
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter(prefix="/v1/partners", tags=["partners"])


async def partners_out(store: RegistrationStore, docs: list[Document]) -> list[PartnerOut]:
    keys = await store.keys_of([d["_id"] for d in docs])
    return [
        PartnerOut(
            id=d["_id"],
            name=d["name"],
            contact_email=d.get("contact_email"),
            created_at=d["created_at"],
            keys=[
                KeyOut(key_id=k["_id"], created_at=k["created_at"], revoked_at=k.get("revoked_at"))
                for k in keys.get(d["_id"], [])
            ],
        )
        for d in docs
    ]


async def existing_partner(store: RegistrationStore, partner_id: str) -> Document:
    partner = await store.partner(partner_id)
    if partner is None:
        raise Problem(404, f"No partner {partner_id}.")
    return partner


@router.post("", status_code=201, response_model=PartnerCreated)
async def create_partner(body: PartnerIn, _: Admin, reg: Reg) -> PartnerCreated:
    partner, api_key, key_id = await reg.create_partner(body)
    return PartnerCreated(id=partner["_id"], name=partner["name"], api_key=api_key, key_id=key_id)


@router.get("", response_model=PartnerPage)
async def list_partners(
    _: Admin, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> PartnerPage:
    docs = await store.partners_page(cursor, limit + 1)
    return PartnerPage(
        items=await partners_out(store, docs[:limit]), next_cursor=next_cursor(docs, limit)
    )


@router.get("/{partner_id}", response_model=PartnerOut)
async def get_partner(partner_id: str, _: Admin, store: Store) -> PartnerOut:
    partner = await existing_partner(store, partner_id)
    return (await partners_out(store, [partner]))[0]


@router.post(
    "/{partner_id}/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Issue another key (rotation: revoke the old one once the partner has switched)",
)
async def issue_key(partner_id: str, _: Admin, reg: Reg, store: Store) -> KeyCreated:
    await existing_partner(store, partner_id)
    key_id, api_key = await reg.issue_key(partner_id)
    return KeyCreated(key_id=key_id, api_key=api_key)


@router.delete("/{partner_id}/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(partner_id: str, key_id: str, _: Admin, reg: Reg) -> Response:
    await reg.revoke_key(partner_id, key_id)
    return Response(status_code=204)

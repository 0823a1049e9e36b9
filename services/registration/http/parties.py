"""Issuers and funders as records of their own, named by id from many courses."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter

from services.registration.http.deps import Admin, Caller, Cursor, PageSize, Reg, Store, next_cursor
from services.registration.schemas import (
    FunderIn,
    FunderOut,
    FunderPage,
    IssuerIn,
    IssuerOut,
    IssuerPage,
)
from services.registration.store import RegistrationStore
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter(prefix="/v1")


PartyOut = TypeVar("PartyOut", IssuerOut, FunderOut)


def out(doc: Document) -> Document:
    return {**doc, "id": doc["_id"]}


async def page_of(
    kind: str, model: type[PartyOut], store: RegistrationStore, cursor: str | None, limit: int
) -> tuple[list[PartyOut], str | None]:
    docs = await store.parties_page(kind, cursor, limit + 1)
    return [model.model_validate(out(d)) for d in docs[:limit]], next_cursor(docs, limit)


async def one(
    kind: str, model: type[PartyOut], store: RegistrationStore, party_id: str
) -> PartyOut:
    doc = await store.party(kind, party_id)
    if doc is None:
        raise Problem(404, f"No {kind} {party_id}.")
    return model.model_validate(out(doc))


@router.post("/issuers", status_code=201, response_model=IssuerOut, tags=["issuers"])
async def create_issuer(body: IssuerIn, _: Admin, reg: Reg) -> IssuerOut:
    return IssuerOut.model_validate(out(await reg.create_party("issuer", body)))


@router.get("/issuers", response_model=IssuerPage, tags=["issuers"])
async def list_issuers(
    _: Caller, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> IssuerPage:
    items, more = await page_of("issuer", IssuerOut, store, cursor, limit)
    return IssuerPage(items=items, next_cursor=more)


@router.get("/issuers/{issuer_id}", response_model=IssuerOut, tags=["issuers"])
async def get_issuer(issuer_id: str, _: Caller, store: Store) -> IssuerOut:
    return await one("issuer", IssuerOut, store, issuer_id)


@router.post("/funders", status_code=201, response_model=FunderOut, tags=["funders"])
async def create_funder(body: FunderIn, _: Admin, reg: Reg) -> FunderOut:
    return FunderOut.model_validate(out(await reg.create_party("funder", body)))


@router.get("/funders", response_model=FunderPage, tags=["funders"])
async def list_funders(
    _: Caller, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> FunderPage:
    items, more = await page_of("funder", FunderOut, store, cursor, limit)
    return FunderPage(items=items, next_cursor=more)


@router.get("/funders/{funder_id}", response_model=FunderOut, tags=["funders"])
async def get_funder(funder_id: str, _: Caller, store: Store) -> FunderOut:
    return await one("funder", FunderOut, store, funder_id)

"""Issuers and funders as records of their own, named by id from many courses."""

from __future__ import annotations

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
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter(prefix="/v1")


def out(doc: Document) -> Document:
    return {**doc, "id": doc["_id"]}


@router.post("/issuers", status_code=201, response_model=IssuerOut, tags=["issuers"])
async def create_issuer(body: IssuerIn, _: Admin, reg: Reg) -> IssuerOut:
    return IssuerOut.model_validate(out(await reg.create_party("issuer", body)))


@router.get("/issuers", response_model=IssuerPage, tags=["issuers"])
async def list_issuers(
    _: Caller, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> IssuerPage:
    docs = await store.parties_page("issuer", cursor, limit + 1)
    return IssuerPage(
        items=[IssuerOut.model_validate(out(d)) for d in docs[:limit]],
        next_cursor=next_cursor(docs, limit),
    )


@router.get("/issuers/{issuer_id}", response_model=IssuerOut, tags=["issuers"])
async def get_issuer(issuer_id: str, _: Caller, store: Store) -> IssuerOut:
    doc = await store.party("issuer", issuer_id)
    if doc is None:
        raise Problem(404, f"No issuer {issuer_id}.")
    return IssuerOut.model_validate(out(doc))


@router.post("/funders", status_code=201, response_model=FunderOut, tags=["funders"])
async def create_funder(body: FunderIn, _: Admin, reg: Reg) -> FunderOut:
    return FunderOut.model_validate(out(await reg.create_party("funder", body)))


@router.get("/funders", response_model=FunderPage, tags=["funders"])
async def list_funders(
    _: Caller, store: Store, cursor: Cursor = None, limit: PageSize = 100
) -> FunderPage:
    docs = await store.parties_page("funder", cursor, limit + 1)
    return FunderPage(
        items=[FunderOut.model_validate(out(d)) for d in docs[:limit]],
        next_cursor=next_cursor(docs, limit),
    )


@router.get("/funders/{funder_id}", response_model=FunderOut, tags=["funders"])
async def get_funder(funder_id: str, _: Caller, store: Store) -> FunderOut:
    doc = await store.party("funder", funder_id)
    if doc is None:
        raise Problem(404, f"No funder {funder_id}.")
    return FunderOut.model_validate(out(doc))

"""HTTP routes of the certification service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field, StringConstraints

from services.certification import domain
from services.certification.bundles import BundledCertificate, zipped
from services.certification.domain import CertificateStatus
from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from services.certification.render import long_date
from services.certification.store import CertificationStore
from shared import signatures
from shared.app_state import from_app_state
from shared.auth import Principal, current_admin, current_principal
from shared.mongo import Document
from shared.problems import Problem

router = APIRouter()
Admin = Annotated[Principal, Depends(current_admin)]
Caller = Annotated[Principal, Depends(current_principal)]

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

PAGE_TEXT = {
    "bg": {
        "heading": "Проверка на сертификат",
        "valid": "Валиден",
        "revoked": "Отменен",
        "expired": "Изтекъл",
        "unknown": "Няма такъв сертификат",
        "holder": "Притежател",
        "course": "Обучение",
        "issued_on": "Издаден на",
        "valid_until": "Валиден до",
        "issuer": "Издател",
        "funder": "Финансиран от",
        "number": "Номер",
        "reason": "Причина",
        "superseded": "Заменен",
        "superseded_on": "Заменен на",
        "superseded_by": "Заменен със сертификат",
        "revoked_on": "Отменен на",
        "signature": "Електронен подпис",
        "signature_ok": "Потвърден",
        "signature_bad": "Невалиден",
    },
    "ru": {
        "heading": "Проверка сертификата",
        "valid": "Действителен",
        "revoked": "Отозван",
        "expired": "Истёк",
        "unknown": "Сертификат не найден",
        "holder": "Владелец",
        "course": "Обучение",
        "issued_on": "Выдан",
        "valid_until": "Действителен до",
        "issuer": "Выдан организацией",
        "funder": "При поддержке",
        "number": "Номер",
        "reason": "Причина",
        "superseded": "Заменён",
        "superseded_on": "Заменён",
        "superseded_by": "Заменён сертификатом",
        "revoked_on": "Отозван",
        "signature": "Электронная подпись",
        "signature_ok": "Подтверждена",
        "signature_bad": "Недействительна",
    },
    "pl": {
        "heading": "Weryfikacja certyfikatu",
        "valid": "Ważny",
        "revoked": "Unieważniony",
        "expired": "Wygasł",
        "unknown": "Nie ma takiego certyfikatu",
        "holder": "Posiadacz",
        "course": "Szkolenie",
        "issued_on": "Data wydania",
        "valid_until": "Ważny do",
        "issuer": "Wydawca",
        "funder": "Finansowanie",
        "number": "Numer",
        "reason": "Powód",
        "superseded": "Zastąpiony",
        "superseded_on": "Data zastąpienia",
        "superseded_by": "Zastąpiony certyfikatem",
        "revoked_on": "Data unieważnienia",
        "signature": "Podpis elektroniczny",
        "signature_ok": "Potwierdzony",
        "signature_bad": "Nieważny",
    },
    "en": {
        "heading": "Certificate verification",
        "valid": "Valid",
        "revoked": "Revoked",
        "expired": "Expired",
        "unknown": "No such certificate",
        "holder": "Holder",
        "course": "Course",
        "issued_on": "Issued on",
        "valid_until": "Valid until",
        "issuer": "Issued by",
        "funder": "Funded by",
        "number": "Number",
        "reason": "Reason",
        "superseded": "Superseded",
        "superseded_on": "Superseded on",
        "superseded_by": "Replaced by certificate",
        "revoked_on": "Revoked on",
        "signature": "Digital signature",
        "signature_ok": "Verified",
        "signature_bad": "Invalid",
    },
}


IssuerDep = Annotated[Issuer, Depends(from_app_state("issuer", Issuer))]
KeyringDep = Annotated[Keyring, Depends(from_app_state("keyring", Keyring))]
Store = Annotated[CertificationStore, Depends(from_app_state("store", CertificationStore))]


class PartyOut(BaseModel):
    name: str
    programme: str | None = None


class CourseOut(BaseModel):
    id: str
    code: str
    title: str
    language: str
    sessions: list[date]
    location: str | None = None


class HolderOut(BaseModel):
    full_name: str
    email: str


class CertificateOut(BaseModel):
    number: str
    enrolment_id: str
    holder: HolderOut
    course: CourseOut
    issued_on: date
    valid_until: date | None
    issuer: PartyOut
    funder: PartyOut
    status: str
    verification_url: str
    version: int = Field(description="1 for the first certificate of the enrolment, then 2, 3…")
    replaces: str | None = Field(default=None, description="The version this one supersedes.")
    superseded_by: str | None = Field(default=None, description="The version that replaced it.")
    superseded_at: datetime | None = None
    revoked_reason: str | None = None
    revoked_at: datetime | None = None


class SignatureCheck(BaseModel):
    """Whether the certificate's signed data is intact and says what the certificate says."""

    valid: bool
    kid: str | None = Field(default=None, description="The published key that signed it.")
    problem: str | None = None
    jws: str = Field(
        description="The signed data (compact JWS, EdDSA): check it yourself against "
        "/.well-known/attesta-keys.json."
    )


class VerificationOut(BaseModel):
    """What anyone may learn from a verification code: no email, no other personal data."""

    valid: bool
    status: str = Field(description="valid, revoked, superseded or expired")
    language: str = Field(description="The certificate's language (bg, ru, pl or en).")
    number: str
    holder: str
    course: str
    issued_on: date
    valid_until: date | None
    issuer: str
    funder: str
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    superseded_at: datetime | None = None
    superseded_by: str | None = Field(
        default=None, description="The number of the certificate that replaced this one."
    )
    superseded_by_url: str | None = Field(
        default=None, description="Where the replacing certificate is verified."
    )
    signature: SignatureCheck | None = Field(
        default=None, description="None only for certificates issued before signing began."
    )


class RevokeIn(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


def revocation_of(doc: Document) -> dict[str, Any]:
    found: dict[str, Any] = doc.get("revocation") or {}
    return found


def superseding_of(doc: Document) -> dict[str, Any]:
    found: dict[str, Any] = doc.get("superseded") or {}
    return found


def certificate_out(doc: Document, issuer: Issuer) -> CertificateOut:
    course = doc["course"]
    return CertificateOut(
        number=doc["_id"],
        enrolment_id=doc["enrolment_id"],
        holder=HolderOut.model_validate(doc["holder"]),
        course=CourseOut.model_validate(course),
        issued_on=doc["issued_on"],
        valid_until=doc.get("valid_until"),
        issuer=PartyOut(name=course["issuer"]["name"]),
        funder=PartyOut(name=course["funder"]["name"], programme=course["funder"].get("programme")),
        status=doc["status"],
        verification_url=issuer.verification_url(doc["verification_code"]),
        version=doc.get("version", 1),
        replaces=doc.get("replaces"),
        superseded_by=superseding_of(doc).get("by"),
        superseded_at=superseding_of(doc).get("at"),
        revoked_reason=revocation_of(doc).get("reason"),
        revoked_at=revocation_of(doc).get("at"),
    )


async def signature_check(doc: Document, keyring: Keyring) -> SignatureCheck | None:
    """Checks the stored signature against the published keys and the stored certificate: an
    edit of the certificate behind the signature's back shows here."""
    jws = doc.get("signature")
    if jws is None:
        return None
    try:
        kid = signatures.header_kid(jws)
        verified = signatures.verify(jws, await keyring.public_keys(kid))
    except signatures.SignatureProblem as refused:
        return SignatureCheck(valid=False, problem=str(refused), jws=jws)
    if verified.claims != domain.signed_claims(doc):
        mismatch = "the certificate on record no longer matches what was signed"
        return SignatureCheck(valid=False, kid=verified.kid, problem=mismatch, jws=jws)
    return SignatureCheck(valid=True, kid=verified.kid, jws=jws)


def verification_out(
    doc: Document, signature: SignatureCheck | None, successor_url: str | None = None
) -> VerificationOut:
    valid_until = date.fromisoformat(doc["valid_until"]) if doc.get("valid_until") else None
    status = domain.standing(
        CertificateStatus(doc["status"]), valid_until, datetime.now(UTC).date()
    )
    course = doc["course"]
    return VerificationOut(
        valid=status == "valid" and (signature is None or signature.valid),
        signature=signature,
        status=status,
        language=course["language"],
        number=doc["_id"],
        holder=doc["holder"]["full_name"],
        course=course["title"],
        issued_on=doc["issued_on"],
        valid_until=valid_until,
        issuer=course["issuer"]["name"],
        funder=course["funder"]["name"],
        revoked_at=revocation_of(doc).get("at"),
        revoked_reason=revocation_of(doc).get("reason"),
        superseded_at=superseding_of(doc).get("at"),
        superseded_by=superseding_of(doc).get("by"),
        superseded_by_url=successor_url,
    )


async def verified(
    code: str, store: CertificationStore, issuer: Issuer, keyring: Keyring
) -> VerificationOut | None:
    """What the verification code's certificate says, pointing a superseded one to its
    replacement (whoever holds the old code may see the new version of the same
    certificate)."""
    doc = await store.by_code(code)
    if doc is None:
        return None
    successor_url = None
    if (successor := superseding_of(doc).get("by")) is not None:
        replacement = await store.by_number(successor)
        if replacement is not None:
            successor_url = issuer.verification_url(replacement["verification_code"])
    return verification_out(doc, await signature_check(doc, keyring), successor_url)


async def visible_certificate(
    number: str, caller: Principal, store: CertificationStore
) -> Document:
    doc = await store.by_number(number)
    if doc is None or not caller.may_see(doc["partner_id"]):
        raise Problem(404, f"No certificate {number} of yours.")
    return doc


@router.get("/v1/certificates/{number}", response_model=CertificateOut, tags=["certificates"])
async def get_certificate(
    number: str, caller: Caller, store: Store, issuer: IssuerDep
) -> CertificateOut:
    return certificate_out(await visible_certificate(number, caller, store), issuer)


@router.get(
    "/v1/certificates/{number}/pdf",
    tags=["certificates"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def get_pdf(number: str, caller: Caller, store: Store) -> Response:
    await visible_certificate(number, caller, store)
    pdf = await store.pdf_of(number)
    if pdf is None:
        raise Problem(404, f"Certificate {number} has no PDF on record.")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


@router.get(
    "/v1/courses/{course_id}/certificates.zip",
    tags=["certificates"],
    response_class=StreamingResponse,
    summary="A ZIP of a course's valid certificates (yours only, for a partner)",
    responses={200: {"content": {"application/zip": {}}}},
)
async def course_bundle(
    course_id: str, caller: Caller, store: Store, issuer: IssuerDep
) -> StreamingResponse:
    """Every valid certificate of the course as `<number>.pdf`, plus `certificates.csv` listing
    them. Written while it downloads; superseded and revoked certificates are left out."""
    partner_id = None if caller.is_admin else caller.partner_id
    certificates = store.valid_of_course(course_id, partner_id)
    first = await anext(certificates, None)
    if first is None:
        raise Problem(404, f"No valid certificates of course {course_id} that you may see.")

    async def bundled() -> AsyncIterator[BundledCertificate]:
        assert first is not None
        yield await bundled_certificate(first, issuer, store)
        async for doc in certificates:
            yield await bundled_certificate(doc, issuer, store)

    code = first["course"]["code"]
    return StreamingResponse(
        zipped(bundled()),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{code}-certificates.zip"'},
    )


async def bundled_certificate(
    doc: Document, issuer: Issuer, store: CertificationStore
) -> BundledCertificate:
    pdf = await store.pdf_of(doc["_id"])
    if pdf is None:  # only a database edited by hand lacks one; the ZIP is already under way
        raise RuntimeError(f"certificate {doc['_id']} has no PDF on record")
    return BundledCertificate(
        number=doc["_id"],
        holder=doc["holder"]["full_name"],
        issued_on=doc["issued_on"],
        valid_until=doc.get("valid_until"),
        verification_url=issuer.verification_url(doc["verification_code"]),
        pdf=pdf,
        created_at=doc["created_at"],
    )


@router.post(
    "/v1/certificates/{number}/revoke", response_model=CertificateOut, tags=["certificates"]
)
async def revoke(number: str, body: RevokeIn, _: Admin, issuer: IssuerDep) -> CertificateOut:
    doc = await issuer.revoke(number, body.reason)
    if doc is None:
        raise Problem(404, f"No certificate {number}.")
    return certificate_out(doc, issuer)


@router.get("/v1/verify/{code}", response_model=VerificationOut, tags=["verification"])
async def verify(
    code: str, store: Store, issuer: IssuerDep, keyring: KeyringDep
) -> VerificationOut:
    result = await verified(code, store, issuer, keyring)
    if result is None:
        raise Problem(404, "No certificate has this verification code. Check it for typos.")
    return result


@router.get("/verify/{code}", response_class=HTMLResponse, tags=["verification"])
async def verify_page(
    code: str, store: Store, issuer: IssuerDep, keyring: KeyringDep
) -> HTMLResponse:
    result = await verified(code, store, issuer, keyring)
    if result is None:
        page = _pages.get_template("verify.html").render(
            language="en", t=PAGE_TEXT["en"], found=False, code=code, number=None
        )
        return HTMLResponse(page, status_code=404)
    page = _pages.get_template("verify.html").render(
        t=PAGE_TEXT[result.language],
        found=True,
        code=code,
        dates=page_dates(result, result.language),
        **result.model_dump(),
    )
    return HTMLResponse(page)


def page_dates(result: VerificationOut, language: str) -> dict[str, str]:
    """The dates a person reads, written the way the certificate's language writes them."""
    moments = {
        "issued_on": result.issued_on,
        "valid_until": result.valid_until,
        "revoked_at": result.revoked_at.date() if result.revoked_at else None,
        "superseded_at": result.superseded_at.date() if result.superseded_at else None,
    }
    return {name: long_date(day, language) for name, day in moments.items() if day is not None}


@router.get(
    signatures.KEYS_PATH,
    tags=["verification"],
    summary="The public keys that sign certificates (a JWK set), retired ones included",
)
async def published_keys(keyring: KeyringDep) -> JSONResponse:
    return JSONResponse(
        keyring.published(),
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


class RotatedKey(BaseModel):
    kid: str
    created: datetime


@router.post("/v1/signing-keys/rotate", response_model=RotatedKey, tags=["verification"])
async def rotate_signing_key(_: Admin, keyring: KeyringDep) -> RotatedKey:
    """A new key signs from now on; certificates signed with older keys still verify."""
    fresh = await keyring.rotate()
    return RotatedKey(kid=fresh.kid, created=fresh.created_at)

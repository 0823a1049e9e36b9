"""`attesta verify-pdf`: is this certificate PDF genuine? Checked offline, from the signed data
the PDF carries and the published keys (a file, or the certification service's URL)."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from cli.errors import NOT_GENUINE, OK, CliError
from cli.output import print_document, print_json
from cli.registry import Context, Subcommands, command
from shared import signatures

DEFAULT_CERTIFICATION_URL = "http://127.0.0.1:8002"


def register(commands: Subcommands) -> None:
    verify = command(
        commands,
        "verify-pdf",
        verify_pdf,
        help="check a certificate PDF's signature against the published keys (offline)",
    )
    verify.add_argument("pdf", metavar="CERTIFICATE.pdf", type=Path)
    verify.add_argument(
        "--keys",
        metavar="FILE_OR_URL",
        help="the published keys: a saved attesta-keys.json, or a URL (default: the "
        f"certification service's {signatures.KEYS_PATH}; env ATTESTA_CERTIFICATION_URL, "
        f"else {DEFAULT_CERTIFICATION_URL})",
    )


def verify_pdf(ctx: Context, args: argparse.Namespace) -> int:
    pdf = read_pdf(args.pdf)
    jws = attached_signature(pdf, args.pdf)
    keys = signatures.keys_from_jwks(published_keys(args.keys, ctx))
    try:
        verified = signatures.verify(jws, keys)
    except signatures.SignatureProblem as problem:
        raise CliError(f"NOT GENUINE: {problem}", exit_code=NOT_GENUINE) from None
    missing = not_printed(pdf, verified.claims)
    if missing:
        raise CliError(
            "NOT GENUINE: the signed data is ours, but the PDF does not print "
            + " and ".join(missing),
            exit_code=NOT_GENUINE,
        )
    result = {"genuine": True, "kid": verified.kid, "certificate": verified.claims}
    if ctx.as_json:
        print_json(result)
    else:
        print(f"genuine: signed by key {verified.kid}, and the PDF prints what was signed")
        print("whether it was revoked since: open the verification link or QR code")
        print_document(verified.claims)
    return OK


def read_pdf(path: Path) -> PdfReader:
    try:
        return PdfReader(io.BytesIO(path.read_bytes()))
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    except PdfReadError as error:
        raise CliError(f"{path} is not a readable PDF: {error}") from None


def attached_signature(pdf: PdfReader, path: Path) -> str:
    attached = pdf.attachments.get(signatures.PDF_ATTACHMENT)
    if not attached:
        raise CliError(
            f"NOT GENUINE: {path} carries no signed data ({signatures.PDF_ATTACHMENT}); "
            "certificates issued before signing began can be checked only online",
            exit_code=NOT_GENUINE,
        )
    return attached[0].decode("ascii", errors="replace")


def published_keys(source: str | None, ctx: Context) -> dict[str, Any]:
    if source is None:
        base = os.environ.get("ATTESTA_CERTIFICATION_URL") or DEFAULT_CERTIFICATION_URL
        source = base.rstrip("/") + signatures.KEYS_PATH
    try:
        if re.match(r"https?://", source):
            with httpx.Client(transport=ctx.transport, timeout=10) as http:
                text = http.get(source).raise_for_status().text
        else:
            text = Path(source).read_text(encoding="utf-8")
        document: dict[str, Any] = json.loads(text)
    except (httpx.HTTPError, OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read the published keys from {source}: {error}") from None
    return document


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def not_printed(pdf: PdfReader, claims: dict[str, Any]) -> list[str]:
    """What the signature vouches for that the PDF's text does not show: a genuine signed
    payload attached to a doctored page must not pass."""
    text = _squeezed(" ".join(page.extract_text() or "" for page in pdf.pages))
    wanted = {"the holder's name": claims.get("holder"), "the number": claims.get("number")}
    return [what for what, value in wanted.items() if not value or _squeezed(value) not in text]

"""`attesta verify-pdf`: a genuine certificate passes offline; an altered one, a genuine
signature glued to another page, or a PDF without signed data does not."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter

from cli.errors import NOT_GENUINE, OK
from cli.main import main
from services.certification.render import CertificateContent, CertificateRenderer
from shared import signatures
from shared.signatures import b64url
from tests.unit.samples import course

KEY = Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


def certificate(
    renderer: CertificateRenderer, holder: str, number: str, jws: str | None = "sign"
) -> bytes:
    claims = {"number": number, "holder": holder, "issued_on": "2002-09-11"}
    signature = signatures.sign(claims, KEY) if jws == "sign" else jws
    content = CertificateContent(
        number=number,
        holder=holder,
        course=course(),
        issued_on=date(2002, 9, 11),
        valid_until=None,
        verification_url="https://verify.example/verify/abc",
        signature=signature,
    )
    return renderer.render(content)


def attachment_of(pdf: bytes) -> str:
    [data] = PdfReader(io.BytesIO(pdf)).attachments[signatures.PDF_ATTACHMENT]
    return data.decode()


def with_attachment(pdf: bytes, jws: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer._root_object.pop("/Names", None)  # drop the original attachment
    writer.add_attachment(signatures.PDF_ATTACHMENT, jws.encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "attesta-keys.json"
    path.write_text(json.dumps({"keys": [signatures.public_jwk(KEY.public_key())]}))
    return path


def run(*argv: str, transport: httpx.BaseTransport | None = None) -> int:
    return main(["verify-pdf", *argv], transport=transport)


def test_a_genuine_certificate_verifies_offline_from_a_saved_key_file(
    renderer: CertificateRenderer,
    keys_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pdf = tmp_path / "FRMS-2002-000001.pdf"
    pdf.write_bytes(certificate(renderer, "Иванка Петрова", "FRMS-2002-000001"))

    assert run(str(pdf), "--keys", str(keys_file)) == OK
    out = capsys.readouterr().out
    assert "genuine" in out and "Иванка Петрова" in out


def test_the_keys_can_come_from_the_certification_service(
    renderer: CertificateRenderer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(certificate(renderer, "Zofia Wiśniewska", "FRMS-2002-000002"))
    published = {"keys": [signatures.public_jwk(KEY.public_key())]}

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == signatures.KEYS_PATH
        return httpx.Response(200, json=published)

    keys_url = f"https://certificates.example{signatures.KEYS_PATH}"
    code = run("--json", str(pdf), "--keys", keys_url, transport=httpx.MockTransport(answer))

    assert code == OK
    assert json.loads(capsys.readouterr().out)["certificate"]["holder"] == "Zofia Wiśniewska"


def test_signed_data_altered_inside_the_pdf_is_not_genuine(
    renderer: CertificateRenderer,
    keys_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    genuine = certificate(renderer, "Ivan Petrov", "FRMS-2002-000003")
    header, _, signature = attachment_of(genuine).split(".")
    forged_claims = {
        "number": "FRMS-2002-000003",
        "holder": "Ivan Petrov",
        "issued_on": "2001-01-01",
    }
    forged = f"{header}.{b64url(signatures.canonical_json(forged_claims))}.{signature}"
    pdf = tmp_path / "altered.pdf"
    pdf.write_bytes(with_attachment(genuine, forged))

    assert run(str(pdf), "--keys", str(keys_file)) == NOT_GENUINE
    assert "altered" in capsys.readouterr().err


def test_a_genuine_signature_attached_to_another_persons_page_is_not_genuine(
    renderer: CertificateRenderer,
    keys_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = certificate(renderer, "Ivan Petrov", "FRMS-2002-000004")
    fake_page = certificate(renderer, "Someone Else", "FRMS-2002-000004", jws=None)
    pdf = tmp_path / "glued.pdf"
    pdf.write_bytes(with_attachment(fake_page, attachment_of(real)))

    assert run(str(pdf), "--keys", str(keys_file)) == NOT_GENUINE
    assert "does not print the holder's name" in capsys.readouterr().err


def test_a_pdf_without_signed_data_cannot_be_verified_offline(
    renderer: CertificateRenderer,
    keys_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pdf = tmp_path / "unsigned.pdf"
    pdf.write_bytes(certificate(renderer, "Ivan Petrov", "FRMS-2002-000005", jws=None))

    assert run(str(pdf), "--keys", str(keys_file)) == NOT_GENUINE
    assert "carries no signed data" in capsys.readouterr().err


def test_a_signature_by_a_key_we_never_published_is_not_genuine(
    renderer: CertificateRenderer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(certificate(renderer, "Ivan Petrov", "FRMS-2002-000006"))
    other = tmp_path / "other-keys.json"
    stranger = Ed25519PrivateKey.generate().public_key()
    other.write_text(json.dumps({"keys": [signatures.public_jwk(stranger)]}))

    assert run(str(pdf), "--keys", str(other)) == NOT_GENUINE
    assert "not published" in capsys.readouterr().err

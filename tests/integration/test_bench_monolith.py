"""The benchmark's monolith peer (bench/monolith.py) does the whole flow for real: one email per
trainee reaches the sink, each with its certificate, and its scratch databases are gone after."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from bench import monolith
from shared.mongo import connect
from tests.conftest import Stack


def _pdf_of(message: EmailMessage) -> bytes | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            payload = part.get_content()
            return payload if isinstance(payload, bytes) else None
    return None


async def test_the_monolith_emails_every_trainee_a_certificate_and_cleans_up(stack: Stack) -> None:
    before = {path.name for path in stack.mail_dir.glob("*.eml")}
    said: list[str] = []

    figures = await monolith.measure(stack.mongo_url, stack.smtp_port, 4, 2, said.append)

    assert figures.error is None
    assert len(figures.runs) == 2 and all(rate > 0 for rate in figures.runs)
    assert figures.cpu_ms_per_certificate is not None and figures.cpu_ms_per_certificate > 0
    assert said, "it says what it is doing"
    fresh = [p for p in stack.mail_dir.glob("*.eml") if p.name not in before]
    assert len(fresh) == 8, "one email per trainee of each repeat"
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in fresh
    ]
    pdfs = [_pdf_of(m) for m in messages if isinstance(m, EmailMessage)]
    assert len(pdfs) == 8 and all(pdf and pdf.startswith(b"%PDF") for pdf in pdfs)

    client = connect(stack.mongo_url)
    try:
        left = [name for name in await client.list_database_names() if "bench_mono" in name]
    finally:
        await client.close()
    assert left == []

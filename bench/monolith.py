"""The peer of issue #8: the same flow with the three services collapsed into direct function
calls in one process, on the same database server and the same mail sink.

Per trainee, with the services' own code and nothing between the steps:

1. registration's `Registrar.complete` (the enrolment moves to completed in a transaction);
2. certification's `Issuer.issue` with that completion (number, signature, Typst PDF and the
   certificate stored, in a transaction);
3. notification's `Composer.certificate` and `SmtpChannel.send` over kept-open connections.

What is gone is what the event-driven design adds: Kafka hops, outbox relays, consumers and
their idempotency records, three processes. The steps still write the outbox rows their code
writes (nobody relays them): they are part of each step's transaction, and a monolith built
from the same modules would carry them too.
"""

from __future__ import annotations

import asyncio
import copy
import resource
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pymongo import AsyncMongoClient

from bench import cpu, rendering
from bench.baselines import spread
from bench.flow_figures import MonolithFigures
from bench.people import trainees
from services.certification.issuing import Issuer
from services.certification.keyring import Keyring
from services.certification.render import CertificateContent, CertificateRenderer
from services.certification.samples import sample_course
from services.certification.store import CertificationStore
from services.notification.composing import Composer, MailIdentity, recipients
from services.notification.settings import NotificationSettings
from services.notification.smtp import WIRE, SmtpChannel, SmtpConfig
from services.registration.commands import Registrar
from services.registration.store import RegistrationStore, email_key, now
from shared import outbox
from shared.events import CertificateIssuedV1, CourseSnapshot, EnrolmentCompletedV1, Holder
from shared.mongo import Database, Document, connect

Progress = Callable[[str], None]
# As the services run on the embedded server: one transaction at a time per database.
SERIALISE = True
PUBLIC_BASE_URL = "https://certificates.example.org"


class KeptRenderer(CertificateRenderer):
    """The certificate renderer, keeping each PDF for the email step (the issuer stores it and
    returns the certificate document without it; a monolith would pass it along in memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.pdfs: dict[str, bytes] = {}

    def render(self, content: CertificateContent) -> bytes:
        pdf = super().render(content)
        self.pdfs[content.number] = pdf
        return pdf


@dataclass
class Parts:
    """One repeat's databases and the services' objects on them."""

    registration: Database
    certification: Database
    registrar: Registrar
    issuer: Issuer
    renderer: KeptRenderer
    composer: Composer
    channels: list[SmtpChannel]
    course: Document
    enrolments: list[Document]


def course_document(tag: str) -> Document:
    """A course as registration stores it: the sample course's fields under a fresh id."""
    course_id = f"mono-{tag}"
    fields = sample_course(rendering.LANGUAGE, rendering.DESIGN) | {
        "id": course_id,
        "code": f"MONO{tag[:4].upper()}-1",
    }
    # Stored as JSON values (dates as ISO strings), as registration keeps its courses.
    return {**CourseSnapshot.model_validate(fields).model_dump(mode="json"), "_id": course_id}


def enrolment_documents(course: Document, partner_id: str, count: int) -> list[Document]:
    """Enrolled trainees, shaped as registration's bulk upload writes them."""
    made = []
    for person in trainees(f"mono-{course['_id']}", count):
        made.append(
            {
                "_id": uuid.uuid4().hex,
                "course_id": course["_id"],
                "partner_id": partner_id,
                "external_ref": person.external_ref,
                "full_name": person.full_name,
                "email": person.email,
                "position": person.position,
                "organisation": person.organisation,
                "email_key": email_key(person.email),
                "status": "enrolled",
                "certificate_number": None,
                "history": [{"status": "enrolled", "at": now(), "cause": "enrolled"}],
                "created_at": now(),
            }
        )
    return made


def issued_event(certificate: Document, pdf: bytes, issuer: Issuer) -> CertificateIssuedV1:
    """What certification would publish, built straight from the stored certificate."""
    return CertificateIssuedV1(
        certificate_number=certificate["_id"],
        verification_code=certificate["verification_code"],
        verification_url=issuer.verification_url(certificate["verification_code"]),
        enrolment_id=certificate["enrolment_id"],
        partner_id=certificate["partner_id"],
        holder=Holder.model_validate(certificate["holder"]),
        course=CourseSnapshot.model_validate(certificate["course"]),
        issued_on=certificate["issued_on"],
        pdf_base64=CertificateIssuedV1.encode_pdf(pdf),
    )


async def through(parts: Parts, enrolment: Document, channel: SmtpChannel) -> None:
    """One trainee, completion to accepted email."""
    # The enrolment as registration finds it: complete() updates it in place when it moves.
    current = await parts.registrar.complete(dict(enrolment))
    if current["status"] != "completed":
        raise RuntimeError(f"monolith: enrolment {current['_id']} is {current['status']}")
    event = EnrolmentCompletedV1(
        enrolment_id=current["_id"],
        partner_id=current["partner_id"],
        external_ref=current["external_ref"],
        holder=Holder(
            full_name=current["full_name"],
            email=current["email"],
            position=current.get("position"),
            organisation=current.get("organisation"),
        ),
        course=CourseSnapshot.model_validate({**parts.course, "id": parts.course["_id"]}),
        completed_on=current["history"][-1]["at"].date(),  # as complete() dated it
        attended_sessions=[],
    )
    certificate = await parts.certification.in_transaction(
        lambda session: parts.issuer.issue(session, event)
    )
    if certificate is None:
        raise RuntimeError(f"monolith: no certificate for {current['_id']}")
    pdf = parts.renderer.pdfs.pop(certificate["_id"])
    message = parts.composer.certificate(issued_event(certificate, pdf, parts.issuer))

    async def nothing_to_do() -> None:
        return None

    await channel.send(
        message.as_bytes(policy=WIRE),
        sender=message["From"].addresses[0].addr_spec,
        recipients=recipients(message),
        before_data=nothing_to_do,
    )


@asynccontextmanager
async def parts_on(
    client: AsyncMongoClient[Document], smtp_port: int, count: int
) -> AsyncIterator[Parts]:
    """Fresh scratch databases with `count` enrolled trainees; dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    registration = Database(client, f"bench_mono_{tag}_registration", serialise=SERIALISE)
    certification = Database(client, f"bench_mono_{tag}_certification", serialise=SERIALISE)
    settings = NotificationSettings()
    channels = [
        SmtpChannel(SmtpConfig(host="127.0.0.1", port=smtp_port))
        for _ in range(settings.smtp_connections)
    ]
    try:
        store = RegistrationStore(registration)
        await store.ensure_indexes()
        await registration.ensure_collections(outbox.COLLECTION)
        certificates = CertificationStore(certification)
        await certificates.ensure_indexes()
        await certification.ensure_collections(outbox.COLLECTION)
        keyring = Keyring(certification)
        await keyring.load()
        renderer = KeptRenderer()
        course = course_document(tag)
        await store.courses.insert_one(copy.deepcopy(course))
        enrolments = enrolment_documents(course, f"mono-{tag}", count)
        await store.enrolments.insert_many(copy.deepcopy(enrolments))
        yield Parts(
            registration=registration,
            certification=certification,
            registrar=Registrar(store),
            issuer=Issuer(certificates, renderer, keyring, PUBLIC_BASE_URL),
            renderer=renderer,
            composer=Composer(
                MailIdentity(
                    settings.mail_from, settings.mail_reply_to, settings.message_id_domain
                ),
                settings.mail_templates_dir,
            ),
            channels=channels,
            course=course,
            enrolments=enrolments,
        )
    finally:
        for channel in channels:
            await channel.close()
        for database in (registration, certification):
            await client.drop_database(database.db.name)


async def one_repeat(
    client: AsyncMongoClient[Document], smtp_port: int, count: int, servers: Mapping[str, int]
) -> tuple[float, float]:
    """Certificates emailed per second, and CPU milliseconds per certificate (this process and
    the servers), for `count` trainees: each kept-open SMTP connection drives one pipeline."""
    async with parts_on(client, smtp_port, count) as parts:
        pending = iter(parts.enrolments)

        async def pipeline(channel: SmtpChannel) -> None:
            for enrolment in pending:
                await through(parts, enrolment, channel)

        before = cpu.snapshot(servers)
        own = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await asyncio.gather(*(pipeline(channel) for channel in parts.channels))
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        spent = sum(cpu.spent(before, cpu.snapshot(servers)).values())
        spent += (after.ru_utime - own.ru_utime) + (after.ru_stime - own.ru_stime)
    return count / seconds, 1000.0 * spent / count


async def measure(
    mongo_url: str,
    smtp_port: int,
    count: int,
    repeats: int,
    progress: Progress,
    *,
    servers: Mapping[str, int] | None = None,
) -> MonolithFigures:
    """`repeats` runs of `count` trainees; `servers` are the pids of the database and the
    sink, whose CPU counts in the monolith's cost as in the stack's."""
    what = (
        "the services' code as direct calls in one process: Registrar.complete, Issuer.issue "
        "(Typst), Composer + SmtpChannel over kept-open connections; no Kafka, no relays"
    )
    progress(f"monolith: {repeats} × {count:,} trainees, completion to email, in one process…")
    client = connect(mongo_url)
    rates: list[float] = []
    costs: list[float] = []
    try:
        for _ in range(repeats):
            rate, cost = await one_repeat(client, smtp_port, count, servers or {})
            rates.append(round(rate, 1))
            costs.append(cost)
    except Exception as error:  # reported with the figures: the rest of the run still counts
        return MonolithFigures(
            certificates=count,
            runs=rates,
            spread=spread(rates or [0.0]),
            cpu_ms_per_certificate=None,
            what=what,
            error=f"{type(error).__name__}: {error}",
        )
    finally:
        await client.close()
    return MonolithFigures(
        certificates=count,
        runs=rates,
        spread=spread(rates),
        cpu_ms_per_certificate=round(sorted(costs)[len(costs) // 2], 1),
        what=what,
    )

"""The short version of `make chaos`: trainees go through the real system (five service
processes on the real broker, database and SMTP sink) while instances are killed with
SIGKILL, the database and the mail sink stop, the broker restarts empty and its topics are
replayed from the outboxes, and poison is injected. Then the databases, the sink's files and
the dead-letter topics are audited: every qualifying trainee has one certificate and one email,
no certificate number is shared or skipped, every poison message is dead-lettered by every
service that reads its topic, and every instance is ready."""

from __future__ import annotations

from chaos.faults import SHORT, Kind
from chaos.progress import Progress
from chaos.report import table
from chaos.run import RunSettings, run


async def test_nothing_is_lost_or_done_twice_through_crashes_outages_and_poison() -> None:
    settings = RunSettings(trainees=60, poison_per_topic=3, scale=SHORT, quiet_seconds=5)

    outcome = await run(settings, Progress(quiet=True))

    report = table(outcome)
    audit = outcome.audit
    assert audit.passed, report
    assert {f.kind for f in outcome.faults} == set(Kind), report  # every kind of fault struck
    assert audit.certificates == audit.qualifying == 54, report
    assert audit.emails == 54, report
    assert audit.dead_lettered == 33, report  # 10 topics x 3, certificate.issued read twice

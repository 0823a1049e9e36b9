"""The monitor's page as the server renders it: figures in the right places, anything read
from the broker escaped, unreachable services said so, and the small charts drawn to scale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.registration.ops_monitor.routes import age_text, rate_text, render, trend_bars
from services.registration.ops_monitor.snapshot import (
    DeadLetterCount,
    Failure,
    GroupLag,
    OutboxBacklog,
    PartitionLagRow,
    Snapshot,
    Throughput,
    Timeline,
    TimelineEntry,
    TopicThroughput,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script>"


def snapshot() -> Snapshot:
    return Snapshot(
        taken_at=NOW,
        throughput=Throughput(
            observed_seconds=120,
            topics=[
                TopicThroughput(
                    topic="certificate.issued",
                    per_second=1.5,
                    last_5_minutes=45,
                    total=300,
                    trend=[0, 5, 40],
                ),
                TopicThroughput(
                    topic="course.closed", per_second=0.0, last_5_minutes=0, total=0, trend=[0]
                ),
            ],
        ),
        lag=[
            GroupLag(
                group="notification.certificate.issued",
                service="notification",
                topics=["certificate.issued"],
                lag=7,
                partitions=[
                    PartitionLagRow(
                        topic="certificate.issued", partition=0, committed=3, end=10, lag=7
                    )
                ],
            )
        ],
        outboxes=[
            OutboxBacklog(
                service="registration",
                reachable=True,
                pending=2,
                oldest_pending_seconds=95,
                published_kept=10,
            ),
            OutboxBacklog(
                service="notification", reachable=False, problem="unreachable (ConnectError)"
            ),
        ],
        dead_letters=[DeadLetterCount(topic="certificate.issued", dead_letters=3, retrying=1)],
        failures=[
            Failure(
                failed_at=NOW - timedelta(minutes=1),
                service="certification",
                topic="enrolment.completed",
                error_type="JSONDecodeError",
                error=HOSTILE,
                attempts=1,
                event_type=None,
                subject=HOSTILE,
                dead_letter_topic="enrolment.completed.dlq",
                partition=1,
                offset=4,
            )
        ],
    )


def html(template: str, **context: object) -> str:
    return bytes(render(template, **context).body).decode()


def test_the_panels_show_each_figure() -> None:
    page = html("panels.html", snapshot=snapshot())
    assert 'data-topic="certificate.issued"' in page
    assert '<td class="num strong" data-field="per_second">1.50</td>' in page
    assert '<td class="num" data-field="last_5_minutes">45</td>' in page
    assert 'data-group="notification.certificate.issued"' in page
    assert '<td class="num strong warn" data-field="lag">7</td>' in page
    assert '<td class="num" data-field="oldest">2 min</td>' in page
    assert '<span class="figure" data-field="rate">1.50</span>' in page
    assert '<span class="figure" data-field="pending">2</span>' in page
    assert '<span class="figure" data-field="dead_letters">3</span>' in page


def test_a_service_that_did_not_answer_is_marked_unreachable_not_zero() -> None:
    page = html("panels.html", snapshot=snapshot())
    row = page.split('data-service="notification"', 1)[1].split("</tr>", 1)[0]
    assert "unreachable (ConnectError)" in row
    assert 'data-field="pending">0<' not in row
    assert "1/2 services answer" in page


def test_what_comes_from_the_broker_is_escaped() -> None:
    page = html("panels.html", snapshot=snapshot())
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_page_is_sent_uncached_and_runs_only_its_own_script() -> None:
    answer = render("login.html", status=401, problem="That is not the admin key.")
    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_the_timeline_lists_entries_and_says_when_there_are_none() -> None:
    entry = TimelineEntry(
        at=NOW,
        event_type="attesta.certificate.issued.v1",
        source="attesta/certification",
        topic="certificate.issued",
        event_id="e1",
        copies=2,
        partition=1,
        offset=9,
        outbox=None,
        error_type=None,
    )
    found = Timeline(enrolment_id="abc", status="certified", entries=[entry])
    page = html("timeline.html", searched="abc", timeline=found)
    assert '<tr data-event="certificate.issued">' in page
    assert "certification" in page
    assert "1@9" in page
    assert "×2 on the topic" in page
    assert 'data-field="status">certified<' in page
    empty = html("timeline.html", searched="abc", timeline=Timeline(enrolment_id="abc", entries=[]))
    assert "No events about this id" in empty


def test_trend_bars_are_drawn_to_scale_and_a_small_count_is_never_flat() -> None:
    bars = trend_bars([0, 1, 50, 100], height=20)
    assert [b.h for b in bars] == [0, 1, 10, 20]
    assert [b.y for b in bars] == [20, 19, 10, 0]
    assert [b.x for b in bars] == [0, 4, 8, 12]
    assert all(b.h == 0 for b in trend_bars([0, 0, 0]))


def test_rates_and_ages_read_naturally() -> None:
    assert [rate_text(v) for v in (0.0, 0.125, 3.0, 42.4)] == ["0", "0.12", "3.00", "42"]
    assert [age_text(s) for s in (None, 4.2, 95, 7200)] == ["—", "4 s", "2 min", "2.0 h"]

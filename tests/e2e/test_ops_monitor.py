"""The web monitor at /ops on the registration service: in headless Chromium (Debian's
`chromium`, which `make test` installs) after real traffic through the three services, and
who may open it.

`ATTESTA_SCREENSHOT=1` also saves the browser's view to docs/ops-monitor.png."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from services.registration.ops_monitor.session import COOKIE_NAME
from shared.stream_inspection import read_records
from tests.conftest import ADMIN_KEY, Services, Stack, eventually
from tests.e2e.conftest import Training
from tests.e2e.kafka_tools import produce

CHROMIUM = Path("/usr/bin/chromium")
# The machine's closed network refuses Chromium's background connections: ask for none.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ops-monitor.png"


def chromium_path() -> str:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (part of `make test`) installs it")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services.urls["registration"], timeout=30) as client:
        yield client


async def cell(page: Page, selector: str) -> str:
    return (await page.inner_text(selector)).strip()


async def test_the_monitor_shows_the_traffic_the_outboxes_the_failures_and_a_timeline(
    page: Page, services: Services, stack: Stack, training: Training, tmp_path: Path
) -> None:
    # Traffic: three trainees certified, the first one's email sent, and one poison message.
    first = await training.complete("ops-1", "Ana Kovač")
    for ref in ("ops-2", "ops-3"):
        await training.certify(ref, "Jan Nowak")

    async def notified() -> bool:
        return bool((await training.partner.enrolment(first))["status"] == "notified")

    await eventually(notified, what="the first trainee's email")
    poison_key = f"ops-monitor-{uuid.uuid4().hex[:8]}"
    await produce(stack.kafka, "enrolment.completed", poison_key.encode(), b"{not json")

    async def dead_lettered() -> bool:
        return bool(await read_records(stack.kafka, ["enrolment.completed.dlq"], key=poison_key))

    await eventually(dead_lettered, what="the poison message on enrolment.completed.dlq")

    # Not logged in: the login form; then the admin key.
    registration = services.urls["registration"]
    await page.goto(f"{registration}/ops")
    assert page.url == f"{registration}/ops/login"
    await page.fill("#key", ADMIN_KEY)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{registration}/ops")

    for topic in ("enrolment.completed", "certificate.issued"):
        row = f'#throughput tr[data-topic="{topic}"]'
        assert int(await cell(page, f'{row} [data-field="last_5_minutes"]')) >= 3, topic
        assert float(await cell(page, f'{row} [data-field="per_second"]')) > 0, topic
        assert await page.locator(f"{row} svg.trend rect").count() > 0, topic
    assert float(await cell(page, '#overview [data-field="rate"]')) > 0

    groups = await page.locator("#lag tr[data-group]").evaluate_all(
        "rows => rows.map(r => r.dataset.group)"
    )
    assert "certification.enrolment.completed" in groups
    assert "notification.certificate.issued" in groups

    for service in ("registration", "certification", "notification"):
        pending = await cell(page, f'#outboxes tr[data-service="{service}"] [data-field="pending"]')
        assert pending.isdigit(), f"{service}'s outbox: {pending}"

    dead = int(await cell(page, '#dead-letters tr[data-topic="enrolment.completed"] td.num'))
    assert dead >= 1
    poison = page.locator(f'#failures li:has(.error[title*="{poison_key}"])')
    assert await poison.count() == 1
    assert "JSONDecodeError" in await poison.inner_text()
    assert "certification" in await poison.inner_text()

    # One trainee's timeline, from the search box.
    await page.fill("#enrolment", first)
    await page.click("#search button")
    await page.wait_for_selector("table.timeline")
    assert page.url.endswith(f"/ops?enrolment={first}")
    assert await cell(page, '#timeline [data-field="status"]') == "notified"
    events = await page.locator("table.timeline tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.event)"
    )
    flow = [
        e for e in events if e in ("enrolment.completed", "certificate.issued", "notification.sent")
    ]
    assert flow == ["enrolment.completed", "certificate.issued", "notification.sent"]
    sources = await page.locator("table.timeline tbody tr td:nth-child(3)").all_inner_texts()
    assert sources[: len(flow)] == ["registration", "certification", "notification"]

    # Ids, types and statuses only: no trainee's name or address anywhere on the page.
    text = await page.inner_text("body")
    assert "Ana Kovač" not in text
    assert training.address("ops-1") not in text

    # The panels refresh by themselves.
    updated = await cell(page, "#taken-at")
    await expect(page.locator("#taken-at")).not_to_have_text(updated, timeout=15_000)

    shot = tmp_path / "ops-monitor.png"
    await page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("ATTESTA_SCREENSHOT"):
        shutil.copyfile(shot, SCREENSHOT)


async def test_without_credentials_the_page_sends_to_the_login_form_and_the_data_is_401(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/ops")
    assert (answer.status_code, answer.headers["location"]) == (303, "/ops/login")
    for path in ("/ops/api/snapshot", "/ops/api/timeline/abc", "/ops/fragments/panels"):
        assert (await http.get(path)).status_code == 401, path
    assert (await http.get("/ops/login")).status_code == 200


async def test_a_wrong_key_on_the_login_form_is_401_and_opens_nothing(
    http: httpx.AsyncClient, training: Training
) -> None:
    for key in ("not-the-key", training.partner.key):
        answer = await http.post("/ops/login", data={"key": key})
        assert answer.status_code == 401
        assert "not the admin key" in answer.text
        assert "set-cookie" not in answer.headers
    assert (await http.get("/ops")).status_code == 303


async def test_the_login_form_sets_a_strict_http_only_cookie_that_never_holds_the_key(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/ops/login", data={"key": ADMIN_KEY})
    assert (answer.status_code, answer.headers["location"]) == (303, "/ops")
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ops"} <= attributes
    assert ADMIN_KEY not in cookie
    assert http.cookies.get(COOKIE_NAME)

    page = await http.get("/ops")
    assert page.status_code == 200
    assert "Throughput per topic" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (await http.get("/ops/api/snapshot")).status_code == 200

    # Logging out clears it; a forged cookie opens nothing either.
    await http.post("/ops/logout")
    assert (await http.get("/ops")).status_code == 303
    http.cookies.set(COOKIE_NAME, "v1.99999999999.nonce.forged", path="/ops")
    assert (await http.get("/ops")).status_code == 303


async def test_the_admin_bearer_key_reads_the_json_and_a_partner_key_is_403(
    http: httpx.AsyncClient, training: Training
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    snapshot = (await http.get("/ops/api/snapshot", headers=admin)).json()
    assert {o["service"] for o in snapshot["outboxes"] if o["reachable"]} == {
        "registration",
        "certification",
        "notification",
    }
    enrolment_id = await training.complete("ops-json", "Ivan Horvat")

    async def listed() -> list[str]:
        answer = await http.get(f"/ops/api/timeline/{enrolment_id}", headers=admin)
        assert answer.status_code == 200
        types: list[str] = [e["event_type"] for e in answer.json()["entries"]]
        return types if "attesta.certificate.issued.v1" in types else []

    types: list[str] = await eventually(listed, what="the certificate in the timeline")
    assert types.index("attesta.enrolment.completed.v1") < types.index(
        "attesta.certificate.issued.v1"
    )
    bad_id = await http.get("/ops/api/timeline/<script>", headers=admin)
    assert bad_id.status_code == 400

    partner = {"Authorization": f"Bearer {training.partner.key}"}
    for path in ("/ops", "/ops/api/snapshot", f"/ops/api/timeline/{enrolment_id}"):
        assert (await http.get(path, headers=partner)).status_code == 403, path
    wrong = {"Authorization": "Bearer not-a-key"}
    assert (await http.get("/ops/api/snapshot", headers=wrong)).status_code == 401

"""docs/events.md is generated from the event models and the catalog, and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import event_docs
from shared.event_catalog import CATALOG, SERVICES
from shared.events import EVENT_TYPES
from shared.topics import ALL_TOPICS


def test_docs_events_md_is_current() -> None:
    current = event_docs.DOCS.read_text(encoding="utf-8") if event_docs.DOCS.exists() else ""
    assert current == event_docs.render(), (
        f"{event_docs.DOCS} is stale: run `{event_docs.REGENERATE}` "
        "(python -m shared.event_docs --write) and commit the result"
    )


def test_every_event_type_travels_on_exactly_one_topic() -> None:
    listed = [event for flow in CATALOG for event in flow.events]
    assert sorted(e.EVENT_TYPE for e in listed) == sorted(EVENT_TYPES)
    assert len(listed) == len(set(listed))


def test_every_topic_has_one_producer_and_known_consumers() -> None:
    assert sorted(flow.topic for flow in CATALOG) == sorted(ALL_TOPICS)
    for flow in CATALOG:
        assert flow.producer in SERVICES
        assert flow.consumers, f"nobody reads {flow.topic}"
        assert set(flow.consumers) <= set(SERVICES)
        assert flow.producer not in flow.consumers


def test_the_docs_name_every_event_type_field_and_topic() -> None:
    text = event_docs.render()
    for event_type, payload in EVENT_TYPES.items():
        assert f"### {payload.__name__}" in text
        assert f"`{event_type}`" in text
        for field in payload.model_fields:
            assert f"| `{field}` |" in text
    for topic in ALL_TOPICS:
        assert f"| `{topic}` |" in text
    assert "| `certificate.issued` | [`attesta.certificate.issued.v1`]" in text
    assert "| certification | registration, notification |" in text
    assert "`pdf_base64` | string | yes | The certificate PDF, base64" in text
    assert '| `language` | `"bg"` \\| `"ru"` \\| `"pl"` \\| `"en"` | yes |' in text


def test_check_fails_on_a_stale_file_and_says_how_to_regenerate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "events.md"
    target.write_text("# Events\n\nold\n", encoding="utf-8")
    assert event_docs.main(["--check", "--path", str(target)]) == 1
    assert "make docs" in capsys.readouterr().err
    assert event_docs.main(["--write", "--path", str(target)]) == 0
    assert event_docs.main(["--check", "--path", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == event_docs.render()

"""The digest of service logs a failing end-to-end test carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.service_log_digest import digest, loud_lines


def line(at: float, level: str, message: str, logger: str = "aiokafka") -> str:
    time = datetime.fromtimestamp(at, UTC).isoformat()
    return json.dumps({"time": time, "level": level, "logger": logger, "message": message})


def test_only_warnings_and_errors_since_the_test_began_are_kept(tmp_path: Path) -> None:
    log = tmp_path / "certification.log"
    log.write_text(
        "\n".join(
            [
                line(100.0, "ERROR", "before the test"),
                line(200.0, "INFO", "certificate issued"),
                line(201.0, "WARNING", "transaction could not start"),
                "Traceback (not JSON)",
            ]
        )
    )

    kept = loud_lines(log, since=150.0)

    assert len(kept) == 1
    assert "WARNING transaction could not start" in kept[0]


def test_repeats_differing_only_in_numbers_are_counted_once(tmp_path: Path) -> None:
    log = tmp_path / "certification.log"
    log.write_text(
        "\n".join(
            line(200.0 + n, "WARNING", f"Heartbeat failed for generation {n}") for n in range(3)
        )
    )

    assert [entry.endswith("(x3)") for entry in loud_lines(log, since=0)] == [True]


def test_the_digest_names_each_log_and_says_when_all_were_quiet(tmp_path: Path) -> None:
    (tmp_path / "registration.log").write_text(line(5.0, "INFO", "started"))
    assert digest(tmp_path, since=0) == "(no warnings or errors in the service logs)"

    (tmp_path / "notification.log").write_text(line(5.0, "ERROR", "SMTP refused"))
    assert digest(tmp_path, since=0).startswith("--- notification.log ---\n")

"""How `attesta ops …` is reached from the `attesta` command and how it exits, with no broker
and no service running."""

from __future__ import annotations

import pytest

from cli.errors import UNREACHABLE, USAGE
from cli.main import main
from cli.ops.options import OpsOptions, split_ops
from shared.devstack.servers import free_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ops", "lag"], (OpsOptions(), ["lag"])),
        (["--json", "ops", "topics"], (OpsOptions(as_json=True), ["topics"])),
        (
            ["--url", "http://r", "--key=k", "ops", "trace", "e1"],
            (OpsOptions(url="http://r", key="k"), ["trace", "e1"]),
        ),
        (["dlq", "list"], None),
        (["--json", "partners", "list"], None),
        (["--url", "ops"], None),  # `ops` is the URL here, and the command is missing
        (["enrolment", "show", "ops"], None),
    ],
)
def test_only_the_ops_command_goes_to_the_ops_app(
    argv: list[str], expected: tuple[OpsOptions, list[str]] | None
) -> None:
    assert split_ops(argv) == expected


def test_attesta_help_lists_ops(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")

    assert code == 0
    assert any(line.split()[:1] == ["ops"] for line in out.splitlines())


def test_ops_alone_prints_its_commands_and_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "ops")

    assert code == USAGE
    for name in ("topics", "lag", "tail", "trace", "dlq"):
        assert name in out + err


def test_an_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ops", "lag", "--no-such-option")

    assert code == USAGE
    assert "--no-such-option" in err


def test_a_malformed_dead_letter_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ops", "dlq", "show", "not-an-id")

    assert code == USAGE
    assert "is not a message ID" in err


@pytest.mark.parametrize(
    "command",
    [["topics", "--interval", "0"], ["lag"], ["trace", "enr-1"], ["dlq", "list"]],
)
def test_a_broker_that_cannot_be_reached_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    address = f"127.0.0.1:{free_port()}"

    code, _, err = run(capsys, "ops", "--kafka", address, *command)

    assert code == UNREACHABLE
    assert f"cannot reach Kafka at {address}" in err
    assert "make run" in err

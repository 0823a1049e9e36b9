"""The event catalog says what each service publishes: check it against the code, where every
event leaves through `outbox.add(session, database, topics.X, new_event(Payload(...)))`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import events, topics
from shared.event_catalog import SERVICES, produced_by

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def _scopes(tree: ast.AST) -> Iterator[list[ast.AST]]:
    """The nodes of each function, without those of the functions nested in it."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        nodes: list[ast.AST] = []
        stack: list[ast.AST] = list(function.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            nodes.append(node)
            stack.extend(ast.iter_child_nodes(node))
        yield nodes


def _is_call(node: ast.AST, owner: str | None, name: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if owner is None:
        return isinstance(func, ast.Name) and func.id == name
    return (
        isinstance(func, ast.Attribute)
        and func.attr == name
        and isinstance(func.value, ast.Name)
        and func.value.id == owner
    )


def _payload_of(call: ast.AST, where: str) -> str:
    assert _is_call(call, None, "new_event"), f"{where}: the event is not a new_event(...) call"
    assert isinstance(call, ast.Call)
    payload = call.args[0]
    assert isinstance(payload, ast.Call) and isinstance(payload.func, ast.Name), where
    return payload.func.id


def published(service: str) -> set[tuple[str, str]]:
    """(topic, payload class name) of every `outbox.add` in the service's code."""
    found: set[tuple[str, str]] = set()
    for path in sorted((SERVICES_DIR / service).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for nodes in _scopes(tree):
            made = {
                target.id: node.value
                for node in nodes
                if isinstance(node, ast.Assign) and _is_call(node.value, None, "new_event")
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in nodes:
                if not _is_call(node, "outbox", "add"):
                    continue
                assert isinstance(node, ast.Call)
                where = f"{path.relative_to(SERVICES_DIR.parent)}:{node.lineno}"
                topic, event = node.args[2], node.args[3]
                assert isinstance(topic, ast.Attribute), f"{where}: use a topics.* constant"
                if isinstance(event, ast.Name):
                    assert event.id in made, f"{where}: {event.id} is not a new_event(...)"
                    event = made[event.id]
                found.add((getattr(topics, topic.attr), _payload_of(event, where)))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_the_catalog_lists_what_each_service_publishes(service: str) -> None:
    declared = {
        (flow.topic, event.__name__) for flow in produced_by(service) for event in flow.events
    }
    in_code = published(service)
    assert in_code, f"found no outbox.add in services/{service}"
    assert in_code == declared, (
        f"{service} publishes {sorted(in_code - declared)} not in shared/event_catalog.py, "
        f"and the catalog lists {sorted(declared - in_code)} that its code never publishes"
    )
    for _, name in in_code:
        assert isinstance(getattr(events, name, None), type), name

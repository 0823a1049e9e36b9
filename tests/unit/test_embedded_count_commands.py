"""Which commands the embedded database answers with an SQL count (shared/devstack/
mongo_server.py): exactly PyMongo's count_documents outside a transaction; and a count of one
field's value through that field's index agrees with neosqlite's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neosqlite

from shared.devstack.mongo_server import (
    COUNT_GROUP,
    count_filter,
    equality_on_one_field,
    indexed_equality_count,
)


def counting(match: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"aggregate": "outbox", "pipeline": [{"$match": match}, COUNT_GROUP], **extra}


def test_count_documents_outside_a_transaction_is_recognised_with_its_filter() -> None:
    assert count_filter(counting({"published": False}, cursor={}, **{"$db": "x"})) == {
        "published": False
    }
    assert count_filter(counting({})) == {}


def test_a_count_inside_a_transaction_goes_the_usual_way() -> None:
    assert count_filter(counting({"status": "sent"}, txnNumber=3, lsid={"id": 1})) is None


def test_counts_with_skip_or_limit_and_other_aggregations_go_the_usual_way() -> None:
    with_limit = {
        "aggregate": "outbox",
        "pipeline": [{"$match": {}}, {"$limit": 5}, COUNT_GROUP],
    }
    summing = {
        "aggregate": "deliveries",
        "pipeline": [{"$match": {}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}],
    }
    assert count_filter(with_limit) is None
    assert count_filter(summing) is None
    assert count_filter({"find": "outbox", "filter": {}}) is None


def test_only_a_scalar_equality_on_one_plain_field_is_counted_through_an_index() -> None:
    assert equality_on_one_field({"published": False}) == ("published", False)
    assert equality_on_one_field({"status": "sent"}) == ("status", "sent")
    assert equality_on_one_field({"_id": "x"}) is None
    assert equality_on_one_field({"a.b": 1}) is None
    assert equality_on_one_field({"status": {"$in": ["a"]}}) is None
    assert equality_on_one_field({"status": None}) is None  # null also matches a missing field
    assert equality_on_one_field({"a": 1, "b": 2}) is None


def test_an_indexed_count_agrees_with_neosqlite_arrays_included(tmp_path: Path) -> None:
    connection = neosqlite.Connection(str(tmp_path / "counts.db"))
    deliveries = connection["deliveries"]
    for status in ["sent", "sent", "held", ["sent", "held"], "[sent", "pending"]:
        deliveries.insert_one({"status": status, "pdf": "x" * 1000})
    assert indexed_equality_count(deliveries, {"status": "sent"}) is None  # no index yet

    deliveries.create_index("status")
    for status in ("sent", "held", "[sent", "pending", "failed"):
        expected = deliveries.count_documents({"status": status})
        assert indexed_equality_count(deliveries, {"status": status}) == expected, status
    assert indexed_equality_count(deliveries, {"status": "sent"}) == 3

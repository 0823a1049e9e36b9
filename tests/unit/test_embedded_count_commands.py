"""Which commands the embedded database answers with an SQL count (shared/devstack/
mongo_server.py): exactly PyMongo's count_documents outside a transaction."""

from __future__ import annotations

from typing import Any

from shared.devstack.mongo_server import COUNT_GROUP, count_filter


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

"""The alert rules and the Grafana dashboard use only metrics the services expose (the list in
deploy/metrics.txt), and the dashboard is one Grafana loads. With `promtool` on the PATH
(Debian's `prometheus` package), the rules, the config and every dashboard query are also
checked by Prometheus itself, and the alert rules' own unit tests are run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
METRICS = DEPLOY / "metrics.txt"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "attesta.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"

HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}
# Label lists after these words are label names, not metrics.
LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def known_metrics() -> set[str]:
    """Every series name a query may use: the list's names, and a histogram's series."""
    names: set[str] = set()
    for line in METRICS.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, kind = words[0], words[1]
        assert kind in {"counter", "gauge", "histogram"}, line
        if kind == "histogram":
            names.update(name + suffix for suffix in HISTOGRAM_SERIES)
        else:
            names.add(name)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (enough of PromQL for ours: strings, label
    matchers, ranges and label lists removed; what is left and is not a function is a name)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = LABEL_LISTS.sub(" ", expr)
    names: set[str] = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", expr):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def dashboard_queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def test_the_metric_name_parser_sees_names_and_only_names() -> None:
    assert metric_names(
        'histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{status=~"5..",x="b_c"}[5m])))'
        " / on (job) group_left(route) max without (instance) (b offset 5m) > bool 1e3"
    ) == {"a_bucket", "b"}
    assert metric_names(
        "deriv(sum by (g) (x)[5m:30s]) * 60 > 0 and on (g) sum(y) > 0"
        " and sum(rate(z[$__rate_interval]))"
    ) == {"x", "y", "z"}


def test_every_metric_in_the_alert_rules_is_one_the_services_expose() -> None:
    known = known_metrics()
    for rule in rules():
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, f"{rule['alert']} uses {sorted(unknown)}, not in {METRICS.name}"


def test_every_metric_on_the_dashboard_is_one_the_services_expose() -> None:
    known = known_metrics()
    for title, expr in dashboard_queries():
        unknown = metric_names(expr) - known
        assert not unknown, f"panel {title!r} uses {sorted(unknown)}, not in {METRICS.name}"


def test_the_metrics_ops_asked_for_are_watched() -> None:
    used = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert {
        "attesta_consumer_lag_messages",
        "attesta_outbox_oldest_pending_age_seconds",
        "attesta_dlq_messages",
        "attesta_email_attempts_total",
    } <= used
    on_dashboard = {name for _, expr in dashboard_queries() for name in metric_names(expr)}
    missing = known_metrics() - on_dashboard
    # A histogram is shown through its buckets.
    missing -= {n for n in missing if n.endswith(("_sum", "_count"))}
    assert not missing, f"not on the dashboard: {sorted(missing)}"


def test_every_alert_has_a_severity_a_summary_and_what_to_do() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    expected = {
        "AttestaConsumerLagGrowing",
        "AttestaOutboxStuck",
        "AttestaDeadLetters",
        "AttestaEmailFailureRate",
    }
    assert expected <= set(names)
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert len(rule["annotations"]["description"]) > 80, rule["alert"]
    by_name = {rule["alert"]: rule for rule in rules()}
    assert by_name["AttestaConsumerLagGrowing"]["for"] == "5m"
    assert "> 60" in by_name["AttestaOutboxStuck"]["expr"]
    assert "attesta outbox status" in by_name["AttestaOutboxStuck"]["annotations"]["description"]
    assert "attesta dlq list" in by_name["AttestaDeadLetters"]["annotations"]["description"]


def test_the_dashboard_is_a_grafana_dashboard_on_the_provisioned_datasource() -> None:
    board = dashboard()
    [datasource] = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert board["uid"] and board["title"]
    assert isinstance(board["schemaVersion"], int)
    panels = board["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    charts = [panel for panel in panels if panel["type"] != "row"]
    assert len(charts) >= 10
    for panel in charts:
        assert panel["title"], panel
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"], panel["title"]
            assert target["expr"].strip(), panel["title"]
    titles = " | ".join(panel["title"] for panel in charts).lower()
    for subject in ("latency", "lag", "outbox", "dead-letter", "email", "certificates"):
        assert subject in titles, subject


promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool is not installed")


def run_promtool(*args: str) -> None:
    assert promtool is not None
    result = subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_config_and_the_rules() -> None:
    run_promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    run_promtool("check", "rules", str(RULES))


@needs_promtool
def test_the_alerts_fire_when_they_should_and_not_otherwise() -> None:
    run_promtool("test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml"))


@needs_promtool
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    def promql(expr: str) -> str:
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        return expr

    queries = [
        {"record": f"dashboard:query_{n}", "expr": promql(expr)}
        for n, (_, expr) in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": queries}]}))
    run_promtool("check", "rules", str(path))

"""The office dashboard: valid Grafana JSON on the gateway's real series.

tests/ops/test_prometheus_scrape.py also runs every panel query on a real Prometheus.
"""

from __future__ import annotations

import re

import pytest

from ktp_gateway.observability.metrics_doc import exported_series

from .grafana import DASHBOARD, expressions, load, panels

METRIC = re.compile(r"\b(ktp_gateway_[a-z0-9_]+)")
# What an office looks at: each must be on the dashboard.
TOPICS = {
    "ktp_gateway_reader_attached", "ktp_gateway_reader_card_present", "ktp_gateway_sam_state",
    "ktp_gateway_sam_activation_state", "ktp_gateway_card_reads_total",
    "ktp_gateway_reader_errors_total", "ktp_gateway_card_read_duration_seconds_bucket",
    "ktp_gateway_apdu_duration_seconds_bucket", "ktp_gateway_verifications_total",
    "ktp_gateway_dukcapil_requests_total", "ktp_gateway_dukcapil_request_duration_seconds_bucket",
    "ktp_gateway_dukcapil_circuit_state", "ktp_gateway_return_data_items",
    "ktp_gateway_return_data_oldest_item_timestamp_seconds", "ktp_gateway_reader_monitor_up",
    "ktp_gateway_agreement_days_remaining", "ktp_gateway_pcsc_up",
}  # fmt: skip


def test_the_dashboard_is_json_with_a_uid_a_title_and_a_schema_version() -> None:
    dashboard = load()
    assert dashboard["uid"] == "ktp-gateway-office" and len(dashboard["uid"]) <= 40
    assert dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    assert dashboard["panels"], "no panels"


def test_panels_have_unique_ids_and_sit_on_the_24_column_grid_without_overlap() -> None:
    every = panels(load())
    ids = [panel["id"] for panel in every]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    taken: set[tuple[int, int]] = set()
    for panel in every:
        grid = panel["gridPos"]
        x, y, w, h = (grid[k] for k in ("x", "y", "w", "h"))
        assert all(isinstance(v, int) for v in (x, y, w, h)) and w > 0 and h > 0, panel["title"]
        assert x >= 0 and x + w <= 24, f"{panel['title']} leaves the grid"
        cells = {(col, row) for col in range(x, x + w) for row in range(y, y + h)}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
        assert panel["type"] == "row" or panel.get("targets"), f"{panel['title']} has no query"


def test_queries_go_to_the_prometheus_chosen_in_the_datasource_variable() -> None:
    dashboard = load()
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    uid = f"${{{variable['name']}}}"
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
    for query in [v for v in dashboard["templating"]["list"] if v["type"] == "query"]:
        assert query["datasource"]["uid"] == uid


def test_every_series_on_the_dashboard_is_exported_by_the_gateway() -> None:
    exported = exported_series()
    used: set[str] = set()
    for where, expr in expressions(load()).items():
        names = set(METRIC.findall(expr))
        assert names <= exported, f"{where}: {names - exported} is not exported"
        used |= names
    assert TOPICS - used == set(), "the office dashboard misses these"


@pytest.mark.parametrize("text", ["${datasource}", "$instance"])
def test_the_file_is_portable_no_fixed_datasource_or_office(text: str) -> None:
    raw = DASHBOARD.read_text(encoding="utf-8")
    assert text in raw
    assert '"uid": "prometheus"' not in raw and "localhost" not in raw

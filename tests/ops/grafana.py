"""The shipped Grafana dashboard and its panel queries, as Prometheus would receive them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "ktp-gateway-office.json"
# What Grafana puts in place of the template variables ("All" selected, a short range).
VARIABLES = {"$instance": ".*", "$reader": ".*", "$__rate_interval": "1m"}


def load(path: Path = DASHBOARD) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dashboard


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def expressions(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each query as `panel title / refId` -> PromQL with the variables filled in."""
    queries = {}
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            queries[f"{panel['title']} / {target['refId']}"] = expr
    return queries

"""The shipped alert rules: valid, unit-tested by promtool, documented, on exported series."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ktp_gateway.observability.metrics_doc import exported_series

from .conftest import DEPLOY, REPO, RULES
from .prometheus import render_config, render_rules

UNIT_TESTS = sorted((DEPLOY / "tests").glob("*.test.yml"))
RUNBOOK = REPO / "docs" / "alerts.md"
METRIC = re.compile(r"\b(ktp_gateway_[a-z0-9_]+)")


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def promtool_run(promtool: Path, *args: str | Path, cwd: Path = REPO) -> str:
    done = subprocess.run(  # noqa: S603 (the packaged promtool, our arguments)
        [str(promtool), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_promtool_accepts_the_rule_file(promtool: Path) -> None:
    output = promtool_run(promtool, "check", "rules", RULES)
    assert f"SUCCESS: {len(rules())} rules found" in output


def test_promtool_unit_tests_pass(promtool: Path) -> None:
    assert UNIT_TESTS, "no promtool unit tests found"
    output = promtool_run(promtool, "test", "rules", *UNIT_TESTS)
    assert output.count("SUCCESS") == len(UNIT_TESTS), output


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in rules()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet"


def test_every_rule_has_a_severity_a_summary_and_a_runbook_section() -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    anchors = {f"#{m.lower()}" for m in re.findall(r"^## (\w+)$", runbook, flags=re.M)}
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert annotations["runbook_url"] == f"docs/alerts.md#{rule['alert'].lower()}"
        assert f"#{rule['alert'].lower()}" in anchors, f"{rule['alert']} has no runbook section"


def test_rules_use_only_series_the_gateway_exports() -> None:
    exported = exported_series()
    for rule in rules():
        used = set(METRIC.findall(rule["expr"]))
        assert used <= exported, f"{rule['alert']}: {used - exported} not exported"


def test_the_shipped_config_is_valid_and_loads_the_rules(promtool: Path, tmp_path: Path) -> None:
    key = tmp_path / "api-key"
    key.write_text("kgw_placeholder\n")
    rule_file = render_rules(tmp_path / "rules.yml")
    config = render_config(
        tmp_path / "prometheus.yml",
        gateway="127.0.0.1:8600",
        credentials_file=key,
        rule_file=rule_file,
    )
    output = promtool_run(promtool, "check", "config", config)
    assert "SUCCESS" in output and f"{len(rules())} rules found" in output


def test_rendering_for_a_test_changes_only_the_for_durations(tmp_path: Path) -> None:
    rendered = yaml.safe_load(render_rules(tmp_path / "r.yml", for_duration="3s").read_text())
    for original, changed in zip(rules(), rendered["groups"][0]["rules"], strict=True):
        assert changed == {**original, "for": "3s"}

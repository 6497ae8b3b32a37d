"""A real Prometheus server for tests: the repo's config and rules, rendered for a loopback run."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from ktp_gateway_dev.stack.processes import free_port, terminate

from .conftest import DEPLOY, RULES

CONFIG = DEPLOY / "prometheus.yml"


def render_rules(target: Path, *, for_duration: str | None = None) -> Path:
    """The repo's rule file, each `for:` set to `for_duration` (a test cannot wait minutes)."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    if for_duration is not None:
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule["for"] = for_duration
    target.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return target


def render_config(
    target: Path, *, gateway: str, credentials_file: Path, rule_file: Path, interval: str = "1s"
) -> Path:
    """The repo's prometheus.yml with only the office-specific values changed."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(rule_file)]
    (job,) = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(credentials_file)
    job["static_configs"] = [{"targets": [gateway]}]
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


class PrometheusServer:
    """`prometheus` on a free loopback port with a temporary storage folder; stopped on exit."""

    def __init__(self, binary: Path, config: Path, storage: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._argv = [
            str(binary),
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]
        self._log_path = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 (the packaged binary, our arguments)
                self._argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            terminate(self._process)

    def log(self) -> str:
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_ready(self, timeout: float = 20) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"prometheus exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready in {timeout} s:\n{self.log()}")

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a successful answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as answer:  # noqa: S310
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's vector."""
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """Active (pending or firing) alerts of one rule."""
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]

"""A real Prometheus scrapes a real access point over HTTPS and sees a desk go away and come
back (`ktp_gateway_desk_up`), with the repo's config and rules (tests/ops/prometheus.py)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from ktp_gateway_dev.demo import simulator_process
from ktp_gateway_dev.stack.desks import Desk
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.desks.conftest import plan_office
from tests.ops.prometheus import PrometheusServer, render_config, render_rules

pytestmark = pytest.mark.pcsc


def _value(prometheus: PrometheusServer, expr: str) -> float | None:
    found = prometheus.query(expr)
    return float(found[0]["value"][1]) if found else None


def _wait(prometheus: PrometheusServer, expr: str, want: float, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _value(prometheus, expr) != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"{expr} did not become {want}: {_value(prometheus, expr)}")
        time.sleep(0.2)


def test_prometheus_sees_a_desk_go_away_and_come_back(
    tmp_path: Path,
    pcscd_service: PcscdService,
    reader_pair: VirtualReaderPair,
    prometheus_binary: Path,
) -> None:
    planned = plan_office(tmp_path)
    point, simulator_port, password, api_key = (
        planned.point, planned.simulator_port, planned.password, planned.api_key
    )  # fmt: skip
    key_file = tmp_path / "scrape.key"
    key_file.write_text(api_key + "\n", encoding="utf-8")
    config = render_config(
        tmp_path / "prometheus.yml",
        gateway=f"127.0.0.1:{point.api_port}",
        credentials_file=key_file,
        rule_file=render_rules(tmp_path / "rules.yml", for_duration="1s"),
    )
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    (job,) = settings["scrape_configs"]
    job["scheme"] = "https"  # an access point serves HTTPS (its desks check its certificate)
    job["tls_config"] = {"ca_file": str(point.pki.ca)}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    desk = Desk("meja-1", tmp_path / "meja-1", [reader_pair.card_reader])
    up = 'ktp_gateway_desk_up{desk="meja-1"}'
    with (
        simulator_process(simulator_port, password, tmp_path),
        point.process(tmp_path / "access-point.log"),
    ):
        desk.enrol(point, os.environ)
        agent = desk.process(point, os.environ, tmp_path / "meja-1.log")
        with (
            agent,
            PrometheusServer(
                prometheus_binary, config, tmp_path / "tsdb", tmp_path / "prometheus.log"
            ) as prometheus,
        ):
            _wait(prometheus, up, 1)
            sam = 'ktp_gateway_desk_sam_state{desk="meja-1", state="open"}'
            assert _value(prometheus, sam) in (0.0, 1.0)  # the desk's reader, per state
            assert agent.process is not None
            agent.process.send_signal(signal.SIGKILL)
            _wait(prometheus, up, 0)
            agent.stop()
            agent.start()
            _wait(prometheus, up, 1)

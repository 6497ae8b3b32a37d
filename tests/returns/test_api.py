"""`/v1/return-data`, outbox metrics and `ktp-gateway returns` against a real gateway process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ktp_gateway_dev.stack.processes import free_port
from tests.dukcapil.conftest import Simulator, start_simulator

from .gateway import Gateway, outbox_env

NIK = "3171011505809901"
ITEM = {
    "officer_id": "PETUGAS-UJI-01",
    "purpose": "perlindungan_saksi",
    "nik": NIK,
    "nomor_register": "REG-0042/LPSK/2026",
    "nomor_sk_rapat_paripurna": "SK-17/RP/LPSK/05/2026",
}


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Gateway, Simulator, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("api")
    sim = start_simulator()
    env = outbox_env(
        sim, {"sqlite_path": str(tmp / "outbox.sqlite3")}, KTP_GATEWAY_RETURN_DATA__MAX_ATTEMPTS="2"
    )
    try:
        with Gateway(free_port(), sim, env, tmp / "gateway.log") as gateway:
            yield gateway, sim, env
    finally:
        sim.stop()


def wait_until(condition: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
        [sys.executable, "-m", "ktp_gateway.cli", "returns", *args, "--json"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def metric(gateway: Gateway, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/metrics", timeout=5) as page:
        for line in page.read().decode().splitlines():
            if line.startswith(name + " ") or (
                line.startswith(name + "{") and line.split(" ")[0] == name
            ):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_queue_deliver_and_repeat(running: tuple[Gateway, Simulator, dict[str, str]]) -> None:
    gateway, sim, _ = running
    sim.reset()
    status, item = gateway.call("POST", "/v1/return-data", ITEM)
    assert status == 202 and item["status"] in {"pending", "delivering"}
    assert item["nik_masked"] == "************9901" and NIK not in json.dumps(item)
    wait_until(lambda: gateway.call("GET", "/v1/return-data")[1]["items"] == [], "delivery")
    assert gateway.call("GET", f"/v1/return-data/{item['id']}")[0] == 404  # deleted once held
    ledger = sim._admin("GET", "returns")
    assert ledger["records"][0]["nik"] == NIK and ledger["records"][0]["accepted"] == 1
    assert metric(gateway, 'ktp_gateway_return_data_deliveries_total{outcome="accepted"}') == 1


def test_a_repeat_while_queued_is_the_same_item(
    running: tuple[Gateway, Simulator, dict[str, str]],
) -> None:
    gateway, sim, _ = running
    sim.reset()
    sim.configure(return_latency_ms=500)
    first = gateway.call("POST", "/v1/return-data", {**ITEM, "nomor_register": "REG-7/2026"})
    again = gateway.call("POST", "/v1/return-data", {**ITEM, "nomor_register": "REG-7/2026"})
    assert first[0] == 202 and again[0] == 200 and again[1]["id"] == first[1]["id"]
    wait_until(lambda: gateway.call("GET", "/v1/return-data")[1]["items"] == [], "delivery")
    assert sim._admin("GET", "returns")["records"][0]["received"] == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**ITEM, "nik": "3171013213809901"}, "invalid_nik"),
        # The case number shares the accountability part's name, and its code.
        ({**ITEM, "nomor_register": f"REG/{NIK}"}, "accountability_required"),
        ({**ITEM, "nomor_sk_rapat_paripurna": "<script>"}, "invalid_request"),
        ({k: v for k, v in ITEM.items() if k != "nomor_sk_rapat_paripurna"}, "invalid_request"),
    ],
)
def test_malformed_items_are_refused_without_echo(
    running: tuple[Gateway, Simulator, dict[str, str]], body: dict[str, str], code: str
) -> None:
    gateway, _, _ = running
    status, problem = gateway.call("POST", "/v1/return-data", body)
    assert status == 422 and problem["code"] == code
    assert body["nik"] not in json.dumps(problem) and NIK not in json.dumps(problem)


def test_dead_letter_is_visible_then_retried_by_the_cli(
    running: tuple[Gateway, Simulator, dict[str, str]],
) -> None:
    gateway, sim, env = running
    sim.reset()
    sim.arm({"mode": "http_500", "count": 2, "target": "return_data"})
    _, item = gateway.call("POST", "/v1/return-data", {**ITEM, "nomor_register": "REG-DEAD/1"})
    dead = lambda: gateway.call("GET", f"/v1/return-data/{item['id']}")[1]["status"] == "dead"  # noqa: E731
    wait_until(dead, "the dead letter")
    listing = gateway.call("GET", "/v1/return-data?status=dead")[1]
    assert [i["id"] for i in listing["items"]] == [item["id"]] and listing["counts"]["dead"] == 1
    assert listing["items"][0]["last_error"] == "dukcapil_unavailable"
    assert metric(gateway, 'ktp_gateway_return_data_items{status="dead"}') == 1
    assert cli(env, "list", "--status", "dead")["items"][0]["id"] == item["id"]
    assert gateway.call("POST", "/v1/return-data/nope/retry")[0] == 404
    assert cli(env, "retry", item["id"]) == {"retried": 1}
    wait_until(lambda: gateway.call("GET", "/v1/return-data")[1]["items"] == [], "the retry")
    assert sim._admin("GET", "returns")["records"][0]["accepted"] == 1


def test_retrying_an_item_that_is_not_dead_is_a_conflict(
    running: tuple[Gateway, Simulator, dict[str, str]],
) -> None:
    gateway, sim, _ = running
    sim.reset()
    sim.arm({"mode": "timeout", "hang_seconds": 3, "count": 5, "target": "return_data"})
    _, item = gateway.call("POST", "/v1/return-data", {**ITEM, "nomor_register": "REG-BUSY/1"})
    status, problem = gateway.call("POST", f"/v1/return-data/{item['id']}/retry")
    assert status == 409 and problem["code"] == "return_data_not_retryable"
    sim.reset()


def test_without_configuration_the_endpoint_says_so(tmp_path: Path) -> None:
    sim = start_simulator()
    try:
        with Gateway(free_port(), sim, {}, tmp_path / "gateway.log") as gateway:
            status, problem = gateway.call("POST", "/v1/return-data", ITEM)
    finally:
        sim.stop()
    assert status == 503 and problem["code"] == "return_data_disabled"

"""A real Prometheus scrapes a real gateway on the virtual stack, and the shipped rules fire.

Everything runs for real: pcscd with the virtual readers, the virtual SAM, the Dukcapil
simulator, the gateway process (caller authentication on, return-data outbox on), and the
Debian `prometheus` server on a free loopback port with a temporary storage folder. Its config
is the repo's deploy/prometheus/prometheus.yml with only the office-specific values changed
(1 s scrape and evaluation, the gateway's port, the key file) and the repo's rule file with each
`for:` rendered to FOR (a test cannot wait the real minutes; promtool's unit tests check the
real durations). Prometheus scrapes /metrics with its own API key, as the install guide says.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ktp_gateway.callers.keys import hash_key, new_key
from ktp_gateway.observability.metrics_doc import exported_series
from ktp_gateway_dev.demo import (
    DEMO_ACCOUNTABILITY,
    gateway_env,
    post_json,
    simulator_process,
)
from ktp_gateway_dev.simulators.dukcapil.config import DEFAULT_RETURN_TOKEN
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair

from . import grafana
from .conftest import RULES
from .prometheus import PrometheusServer, render_config, render_rules

pytestmark = pytest.mark.pcsc

FOR = "2s"
BUDI = "3171011505809901"  # synthetic (simulators/data/synthetic_people.yaml)
WHO = {"officer_id": "PETUGAS-UJI-07", "purpose": "perlindungan_saksi"}
OUTBOX_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # test-only sealing key (bytes 0..31)


@dataclass
class Office:
    """One office's stack: the reader, the simulator, the gateway and its Prometheus."""

    pair: VirtualReaderPair
    simulator: ManagedProcess
    gateway_url: str
    case_key: str  # the case application's API key
    scrape_key: str  # Prometheus's own API key (no person fields)
    prometheus: PrometheusServer


def _clients(directory: Path) -> tuple[str, str, Path]:
    (case_id, case_key), (scrape_id, scrape_key) = new_key(), new_key()
    clients = [
        {"name": "case-app", "keys": [{"id": case_id, "hash": hash_key(case_key)}]},
        # Prometheus gets its own client with no person fields: it only reads /metrics.
        {"name": "prometheus", "keys": [{"id": scrape_id, "hash": hash_key(scrape_key)}],
         "fields": []},
    ]  # fmt: skip
    path = directory / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": clients}), encoding="utf-8")
    path.chmod(0o600)
    return case_key, scrape_key, path


def _gateway_env(
    port: int, sim_port: int, password: str, tmp: Path, clients: Path
) -> dict[str, str]:
    return {
        **gateway_env(port, sim_port, password, data_dir=tmp / "data", clients_file=clients),
        "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
        "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY": OUTBOX_KEY,
        "KTP_GATEWAY_RETURN_DATA__SQLITE_PATH": str(tmp / "data" / "outbox.sqlite3"),
        "KTP_GATEWAY_RETURN_DATA__POLL_SECONDS": "0.2",
        "KTP_GATEWAY_DUKCAPIL__RETURNS__URL": f"http://127.0.0.1:{sim_port}/dukcapil/data-balikan/store",
        "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN": DEFAULT_RETURN_TOKEN,
        "KTP_GATEWAY_DUKCAPIL__RETURNS__ID_LEMBAGA": "LPSK-UJICOBA",
        # Two failures open the breaker, and a stopped simulator fails fast.
        "KTP_GATEWAY_DUKCAPIL__BREAKER_FAILURES": "2",
        "KTP_GATEWAY_DUKCAPIL__RETRIES": "0",
        "KTP_GATEWAY_DUKCAPIL__CONNECT_TIMEOUT_SECONDS": "1",
    }  # fmt: skip


@pytest.fixture(scope="module")
def office(
    pcscd_service: PcscdService, prometheus_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Office]:
    tmp = tmp_path_factory.mktemp("office")
    password = secrets.token_urlsafe(16)
    case_key, scrape_key, clients = _clients(tmp)
    sim_port, gateway_port = free_port(), free_port()
    key_file = tmp / "prometheus.api-key"
    key_file.write_text(scrape_key + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    config = render_config(
        tmp / "prometheus.yml",
        gateway=f"127.0.0.1:{gateway_port}",
        credentials_file=key_file,
        rule_file=render_rules(tmp / "ktp-gateway.rules.yml", for_duration=FOR),
    )
    env = _gateway_env(gateway_port, sim_port, password, tmp, clients)
    gateway = ManagedProcess.python_module(
        "gateway", "ktp_gateway.cli", "serve",
        ready_url=f"http://127.0.0.1:{gateway_port}/healthz", env=env, log_path=tmp / "gateway.log",
    )  # fmt: skip
    with (
        VirtualReaderPair() as pair,
        simulator_process(sim_port, password, tmp) as simulator,
        gateway,
        PrometheusServer(prometheus_binary, config, tmp / "tsdb", tmp / "prometheus.log") as prom,
    ):
        yield Office(
            pair, simulator, f"http://127.0.0.1:{gateway_port}", case_key, scrape_key, prom
        )


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def value(office: Office, expr: str) -> float | None:
    result = office.prometheus.query(expr)
    return float(result[0]["value"][1]) if result else None


def watch_alert(
    office: Office, name: str, *, reader: str | None = None, since: float | None = None
) -> dict[str, float]:
    """Seconds from `since` (default now) until the alert was first seen pending and firing."""
    started, seen = since or time.monotonic(), {}

    def firing() -> bool:
        for alert in office.prometheus.alerts(name):
            if reader is None or alert["labels"].get("reader") == reader:
                seen.setdefault(alert["state"], round(time.monotonic() - started, 2))
        return "firing" in seen

    wait_for(f"{name} to fire", firing, timeout=30)
    return seen


def get_metrics(url: str, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(f"{url}/metrics", headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def tap(office: Office, person: str) -> int:
    """One verification as the case application asks it, the card placed while it waits."""
    answer: list[int] = []
    body = {**DEMO_ACCOUNTABILITY, "wait_seconds": 10}
    url = f"{office.gateway_url}/v1/verifications"
    waiting = threading.Thread(
        target=lambda: answer.append(post_json(url, body, api_key=office.case_key)[0])
    )
    waiting.start()
    time.sleep(0.3)
    office.pair.place(person)
    waiting.join(20)
    office.pair.remove()
    return answer[0]


def test_prometheus_scrapes_reader_sam_dukcapil_and_return_data_series(office: Office) -> None:
    assert tap(office, "budi") == 200
    status, _ = post_json(
        f"{office.gateway_url}/v1/nik-lookups", {"nik": BUDI, **WHO}, api_key=office.case_key
    )
    assert status == 200
    # /metrics is closed without a credential: the scrape works because of its key file.
    assert get_metrics(office.gateway_url, None) == 401
    assert get_metrics(office.gateway_url, office.scrape_key) == 200
    reader = f'reader="{CARD_READER}"'
    expected = {
        'up{job="ktp-gateway"}': 1,
        "ktp_gateway_pcsc_up": 1,
        "ktp_gateway_reader_monitor_up": 1,
        f"ktp_gateway_reader_attached{{{reader}}}": 1,
        # present, or open once its activation check passed: either is a working SAM slot
        f'sum(ktp_gateway_sam_state{{{reader}, state=~"present|open"}})': 1,
        f'ktp_gateway_sam_activation_state{{{reader}, state="active"}}': 1,
        'ktp_gateway_dukcapil_requests_total{operation="nik", outcome="ok"}': 2,  # tap, lookup
        'ktp_gateway_dukcapil_circuit_state{state="closed"}': 1,
        "ktp_gateway_return_data_outbox_up": 1,
        'ktp_gateway_return_data_items{status="pending"}': 0,
        "ktp_gateway_agreement_in_force": 1,
        f'ktp_gateway_card_reads_total{{{reader}, outcome="ok"}}': 1,
        'ktp_gateway_verifications_total{outcome="verified"}': 1,
    }
    for expr, want in expected.items():
        wait_for(f"{expr} == {want}", lambda e=expr, w=want: value(office, e) == w)
    assert value(office, f"ktp_gateway_sam_activation_expiry_timestamp_seconds{{{reader}}}")
    assert value(office, "ktp_gateway_agreement_expiry_timestamp_seconds")
    # Every series Prometheus holds is one the reference (docs/metrics.md) lists.
    names = set(office.prometheus.api("label/__name__/values"))
    ours = {name for name in names if name.startswith("ktp_gateway_")}
    assert ours - exported_series() == set()
    # Every shipped rule evaluates against the real series without an error.
    groups = office.prometheus.api("rules", type="alert")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    shipped = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"][0]["rules"]
    assert len(rules) == len(shipped) and all(rule["health"] == "ok" for rule in rules), rules


def test_every_dashboard_query_runs_on_the_real_prometheus(office: Office) -> None:
    wait_for("a scraped tap", lambda: office.prometheus.query("ktp_gateway_card_reads_total"))
    time.sleep(2)  # a few more scrapes, so rates have two samples
    results = {
        where: office.prometheus.query(expr)  # a malformed query fails here (HTTP 400)
        for where, expr in grafana.expressions(grafana.load()).items()
    }
    empty = sorted(where for where, result in results.items() if not result)
    # Quiet series stay empty on a fresh gateway (no errors, no quota answer, no certificate,
    # no dead letter); everything an office watches in normal work has data.
    for where in (
        "Readers attached / A", "PC/SC (pcscd) / A", "PC/SC monitor / A", "Gateway scrape / A",
        "Readers: card and SAM / C", "Taps per minute by reader / A", "Card read latency / B",
        "APDU round trip (p95) / A", "Dukcapil requests by outcome / A", "Dukcapil latency / B",
        "Circuit breaker / A", "Outbox items by status / A", "Agreement days left / A",
        "Days until certificates expire / B", "Gateway version / A",
    ):  # fmt: skip
        assert where not in empty, f"{where} has no data"


def test_a_sam_pulled_from_the_reader_fires_sam_missing_and_clears_when_back(
    office: Office,
) -> None:
    wait_for("the first scrapes", lambda: value(office, 'up{job="ktp-gateway"}') == 1)
    before = office.prometheus.alerts("KtpGatewaySamMissing")
    assert not [a for a in before if a["labels"]["reader"] == CARD_READER]
    removed = time.monotonic()
    office.pair.remove_sam()
    seen = watch_alert(office, "KtpGatewaySamMissing", reader=CARD_READER, since=removed)
    (alert,) = [
        a for a in office.prometheus.alerts("KtpGatewaySamMissing")
        if a["labels"]["reader"] == CARD_READER
    ]  # fmt: skip
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["state"] == "absent"
    assert alert["annotations"]["runbook_url"] == "docs/alerts.md#ktpgatewaysammissing"
    print(f"\nSAM removed -> KtpGatewaySamMissing {seen} s (for: {FOR})")
    office.pair.start()  # the SAM back in its slot
    wait_for(
        "the alert to clear",
        lambda: not [
            a for a in office.prometheus.alerts("KtpGatewaySamMissing")
            if a["labels"]["reader"] == CARD_READER
        ],
    )  # fmt: skip


def test_dukcapil_down_opens_the_breaker_fires_its_alerts_and_holds_return_data(
    office: Office,
) -> None:
    stopped = time.monotonic()
    office.simulator.stop()
    lookup = f"{office.gateway_url}/v1/nik-lookups"
    codes = []
    for _ in range(5):  # a scrape between failures, so rate() sees each error series grow
        codes.append(post_json(lookup, {"nik": BUDI, **WHO}, api_key=office.case_key)[1]["code"])
        time.sleep(1.2)
    assert codes == ["dukcapil_unavailable"] * 2 + ["dukcapil_circuit_open"] * 3
    item = {
        **DEMO_ACCOUNTABILITY,
        "nik": BUDI,
        "nomor_register": "REG-UJI/2026/07",
        "nomor_sk_rapat_paripurna": "SK-7",
    }
    status, _ = post_json(f"{office.gateway_url}/v1/return-data", item, api_key=office.case_key)
    assert status == 202
    breaker = watch_alert(office, "KtpGatewayDukcapilCircuitOpen", since=stopped)
    ratio = watch_alert(office, "KtpGatewayDukcapilErrorRatioHigh", since=stopped)
    print(f"\nsimulator stopped -> CircuitOpen {breaker} s, ErrorRatioHigh {ratio} s (for: {FOR})")
    age = 'time() - ktp_gateway_return_data_oldest_item_timestamp_seconds{status="pending"}'
    wait_for("the undelivered item's age", lambda: office.prometheus.query(age))
    queued = value(office, age)
    assert queued is not None and 0 <= queued < 60

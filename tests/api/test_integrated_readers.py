"""The integrated family through the app: listed with its family, tapped by name, checked
against the real Dukcapil simulator, its faults typed; all over pyserial on the emulator's pty."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.audit.render import to_html
from ktp_gateway.audit.report import build_report, date_range
from ktp_gateway.config import ReaderSettings
from ktp_gateway.reader.events import EventHub
from ktp_gateway.reader.monitor import EventKind, ReaderEvent
from ktp_gateway.reader.serial.monitor import SerialMonitor
from ktp_gateway.reader.serial.service import IntegratedReaders
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings
from tests.reader.integrated import NAME, PROFILE, plugged, ports


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[IntegratedReaderEmulator]:
    with plugged(tmp_path) as device:
        yield device


@pytest.fixture
def client(
    sim: Simulator, emulator: IntegratedReaderEmulator, tmp_path: Path
) -> Iterator[TestClient]:
    settings = make_settings(sim.base_url)
    settings.reader = ReaderSettings(
        serial_ports=[ports(tmp_path)], finger_timeout_seconds=1, monitor=False
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _verify(client: TestClient, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "reader": NAME, **body})
    return response.status_code, response.json()


def test_the_reader_is_listed_with_its_family(client: TestClient) -> None:
    readers = client.get("/v1/readers").json()["readers"]
    [integrated] = [r for r in readers if r["family"] == "integrated"]
    assert integrated["name"] == NAME and integrated["profile"] == PROFILE.id
    assert integrated["sam_reader"] is None and integrated["holder_checks"] == ["fingerprint"]
    assert integrated["card_present"] is False and integrated["busy"] is False


def test_a_verification_on_the_integrated_reader(
    client: TestClient, emulator: IntegratedReaderEmulator, sim: Simulator
) -> None:
    emulator.place("budi")
    status, body = _verify(client, wait_seconds=2)
    assert status == 200, body
    card = body["card"]
    assert body["outcome"] == "verified" and card["reader"] == NAME  # type: ignore[index]
    assert card["signature_checked_by"] == ["device"]  # type: ignore[index]
    assert card["data"]["nama_lengkap"] == "BUDI CONTOH"  # type: ignore[index]
    assert body["registry"]["status"] == "found"  # type: ignore[index]
    assert body["apdus"] == {"card": 0, "sam": 0}
    assert "ISLAM" not in json.dumps(body)  # agama never leaves the driver
    assert sim.requests() >= 1


def test_no_reader_named_goes_to_the_one_holding_a_card(
    client: TestClient, emulator: IntegratedReaderEmulator
) -> None:
    emulator.place("siti")
    response = client.post("/v1/verifications", json={**ACCOUNTABLE, "wait_seconds": 1})
    assert response.status_code == 200, response.json()
    assert response.json()["card"]["reader"] == NAME


def test_a_mute_device_is_a_typed_error_and_the_service_goes_on(
    client: TestClient, emulator: IntegratedReaderEmulator, sim: Simulator
) -> None:
    emulator.place("budi")
    emulator.fault = "mute"
    before = sim.requests()
    status, body = _verify(client)
    assert (status, body["code"]) == (504, "reader_not_responding")
    assert sim.requests() == before  # nothing reached the registry
    emulator.fault = None
    status, body = _verify(client)
    assert status == 200, body  # found again by the next scan, and read


def test_an_unplugged_reader_is_not_found_until_plugged_back(
    client: TestClient, emulator: IntegratedReaderEmulator
) -> None:
    emulator.unplug()
    status, body = _verify(client)
    assert (status, body["code"]) in {(404, "reader_not_found"), (503, "reader_unavailable")}
    assert not [r for r in client.get("/v1/readers").json()["readers"] if r["name"] == NAME]
    emulator.replug()
    emulator.place("budi")
    status, body = _verify(client, wait_seconds=1)
    assert status == 200, body


def test_the_event_hub_carries_both_families(
    emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    readers = IntegratedReaders([PROFILE], ports=(ports(tmp_path),))
    monitor = SerialMonitor(readers, interval=0.2)
    emulator.place("budi")

    async def first_events() -> list[ReaderEvent]:
        hub = EventHub([monitor], asyncio.get_running_loop())
        monitor.start()
        try:
            seen: list[ReaderEvent] = []
            async with asyncio.timeout(5):
                async for event in hub.subscribe():
                    seen.append(event)
                    if event.kind is EventKind.CARD_INSERTED:
                        return seen
        finally:
            monitor.stop()
            hub.close()
        return seen

    try:
        events = asyncio.run(first_events())
    finally:
        readers.close()
    assert [(e.kind, e.family) for e in events][-2:] == [
        (EventKind.READER_ATTACHED, "integrated"),
        (EventKind.CARD_INSERTED, "integrated"),
    ]


def _trail(client: TestClient) -> list[dict[str, object]]:
    trail = client.app.state.services.policy.trail  # type: ignore[attr-defined]
    return [r.data for r in trail.records() if r.kind == "access"]


@pytest.mark.parametrize(
    ("finger", "required", "outcome", "result"),
    [
        ("match", True, "verified", "match"),
        ("no_match", True, "holder_mismatch", "no_match"),
        ("no_match", False, "holder_mismatch", "no_match"),
        ("none", True, "holder_unchecked", "timeout"),
        ("none", False, "verified", "timeout"),
    ],
)
def test_the_holder_check_is_an_outcome_and_audited(
    client: TestClient,
    emulator: IntegratedReaderEmulator,
    finger: str,
    required: bool,
    outcome: str,
    result: str,
) -> None:
    emulator.place("budi", finger=finger)  # type: ignore[arg-type]
    check = "fingerprint" if required else {"method": "fingerprint", "required": False}
    status, body = _verify(client, holder_check=check)
    assert status == 200, body
    assert body["outcome"] == outcome
    assert body["holder_check"] == {
        "method": "fingerprint",
        "required": required,
        "finger": "right_index",
        "result": result,
    }
    assert body["registry"]["status"] == "found"  # type: ignore[index]
    [record] = _trail(client)
    assert record["holder_check"] == result and record["outcome"] == outcome
    assert record["officer_id"] == ACCOUNTABLE["officer_id"]


def test_a_card_without_readable_finger_codes_refuses_a_required_check_before_the_registry(
    client: TestClient, emulator: IntegratedReaderEmulator, sim: Simulator
) -> None:
    emulator.place("budi")
    emulator.card_fingers = ("0", "0")  # codes the profile does not know: unreadable templates
    before = sim.requests()
    status, body = _verify(client, holder_check="fingerprint")
    assert (status, body["code"]) == (409, "holder_check_unavailable")
    assert sim.requests() == before
    assert _trail(client)[-1]["holder_check"] == "unavailable"
    status, body = _verify(client, holder_check={"method": "fingerprint", "required": False})
    assert status == 200 and body["outcome"] == "verified"
    assert body["holder_check"]["result"] == "not_attempted"  # type: ignore[index]
    status, body = _verify(client)  # without a holder check the card reads as ever
    assert status == 200 and body["holder_check"] is None


def test_a_required_check_with_no_reader_named_goes_to_the_integrated_reader(
    client: TestClient, emulator: IntegratedReaderEmulator
) -> None:
    emulator.place("budi")
    response = client.post(
        "/v1/verifications",
        json={**ACCOUNTABLE, "wait_seconds": 1, "holder_check": "fingerprint"},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["card"]["reader"] == NAME


def test_a_required_check_on_a_reader_that_cannot_match_is_refused_before_the_registry(
    client: TestClient, sim: Simulator
) -> None:
    before = sim.requests()
    response = client.post(
        "/v1/verifications",
        json={**ACCOUNTABLE, "reader": "Virtual PCD 00 00", "holder_check": "fingerprint"},
    )
    assert (response.status_code, response.json()["code"]) == (409, "holder_check_unavailable")
    assert sim.requests() == before


def test_the_semester_report_counts_holder_checks_by_result(
    client: TestClient, emulator: IntegratedReaderEmulator
) -> None:
    for finger in ("match", "match", "no_match"):
        emulator.place("budi", finger=finger)  # type: ignore[arg-type]
        assert _verify(client, holder_check="fingerprint")[0] == 200
    _verify(client, reader="Virtual PCD 00 00", holder_check="fingerprint")
    today = dt.datetime.now(dt.UTC).date()
    trail = client.app.state.services.policy.trail  # type: ignore[attr-defined]
    report = build_report(trail, date_range(today, today), agreement={"reference": "uji"})
    assert report.by_holder_check == {"match": 2, "no_match": 1, "unavailable": 1}
    assert "Holder checks" in to_html(report) and "BUDI" not in to_html(report)


def test_metrics_report_the_integrated_reader_and_its_holder_checks(
    client: TestClient, emulator: IntegratedReaderEmulator
) -> None:
    emulator.place("budi", finger="no_match")
    assert _verify(client, holder_check="fingerprint")[0] == 200
    text = client.get("/metrics").text
    assert f'ktp_gateway_reader_card_present{{reader="{NAME}"}} 1.0' in text
    assert f'ktp_gateway_holder_checks_total{{reader="{NAME}",result="no_match"}} 1.0' in text
    assert "BUDI" not in text

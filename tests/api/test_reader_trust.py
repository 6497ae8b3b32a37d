"""Card and SAM trust as the case application and the operator see it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import build_services, create_app
from ktp_gateway.config import ActivationSettings
from ktp_gateway.errors import ConfigurationError
from ktp_gateway_dev.simulators import keys
from ktp_gateway_dev.simulators.activation import virtual_record, write_record
from ktp_gateway_dev.simulators.sam import VirtualSam
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import Simulator, make_settings, verification_body

pytestmark = pytest.mark.pcsc

SERIAL_HEX = keys.sam_serial().hex()
PCID_HEX = keys.reader_activation().pcid.hex()


def _no_secrets(text: str) -> None:
    lowered = text.lower()
    assert SERIAL_HEX not in lowered and PCID_HEX not in lowered


def test_readers_show_the_activation_and_metrics_the_days_left(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    verified = client.post("/v1/verifications", json=verification_body(wait_seconds=5))
    assert verified.status_code == 200, verified.text
    assert verified.json()["card"]["signature_checked_by"] == ["sam", "host"]
    response = client.get("/v1/readers")
    [reader] = [r for r in response.json()["readers"] if r["name"] == CARD_READER]
    activation = reader["activation"]
    assert activation["state"] == "active" and activation["agency"] == "LPSK"
    assert activation["valid_until"].startswith("2035-12-31") and activation["checked_at"]
    assert 3000 < activation["days_until_expiry"] < 3700
    _no_secrets(response.text)
    metrics = client.get("/metrics").text
    state = f'ktp_gateway_sam_activation_state{{reader="{CARD_READER}",state="active"}} 1.0'
    assert state in metrics
    assert f'ktp_gateway_sam_activation_days_remaining{{reader="{CARD_READER}"}}' in metrics
    _no_secrets(metrics)


def test_taps_in_a_row_keep_the_sam_open_between_them(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.place("budi")
    first, second = (
        client.post("/v1/verifications", json=verification_body(wait_seconds=5)) for _ in "12"
    )
    assert first.status_code == second.status_code == 200, second.text
    # The second tap neither reads the SAM's serial nor opens it: reader.sam_hold_seconds.
    assert second.json()["apdus"]["sam"] == first.json()["apdus"]["sam"] - 2
    assert second.json()["card"]["signature_checked_by"] == ["sam", "host"]


@pytest.mark.parametrize(
    "variant", [{"altered_biodata": {"nama": "BUDI PALSU"}}, {"bad_signature": True}]
)
def test_a_card_not_matching_its_signature_releases_nothing(
    client: TestClient, reader_pair: VirtualReaderPair, sim: Simulator, variant: dict[str, object]
) -> None:
    reader_pair.place("budi", **variant)
    response = client.post("/v1/verifications", json=verification_body(wait_seconds=5))
    assert response.status_code == 422 and response.json()["code"] == "card_not_genuine"
    assert "BUDI" not in response.text and "3171" not in response.text
    assert sim.requests() == 0  # nothing from a forged card reaches Dukcapil


@pytest.fixture
def moved_sam_client(sim: Simulator, pcscd_service: PcscdService) -> Iterator[TestClient]:
    with VirtualReaderPair(sam=VirtualSam.virtual(serial=bytes(range(8)))) as pair:
        pair.place("budi")
        with TestClient(create_app(make_settings(sim.base_url))) as test_client:
            yield test_client


def test_a_sam_from_another_reader_is_refused_with_its_own_code(
    moved_sam_client: TestClient,
) -> None:
    response = moved_sam_client.post("/v1/verifications", json=verification_body(wait_seconds=5))
    problem = response.json()
    assert response.status_code == 503 and problem["code"] == "sam_reader_mismatch"
    assert "activated" in problem["hint"]
    readers = moved_sam_client.get("/v1/readers").json()["readers"]
    [reader] = [r for r in readers if r["name"] == CARD_READER]
    assert reader["activation"]["state"] == "reader_mismatch"  # found by the start-up check


def test_a_record_readable_by_others_stops_start_up(tmp_path: Path) -> None:
    path = write_record(tmp_path / "activation.json", virtual_record())
    path.chmod(0o644)
    settings = make_settings("http://127.0.0.1:9")
    settings.activation = ActivationSettings(record_files=[path])
    with pytest.raises(ConfigurationError, match="chmod 600"):
        build_services(settings)

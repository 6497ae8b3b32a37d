"""Reader faults at a service counter, through the API and the real pcscd (issue 3).

Each fault gets its stable code, and the gateway keeps serving: the next tap works.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.api.app import create_app
from ktp_gateway.config import ReaderSettings
from ktp_gateway_dev.simulators.card import VirtualKtpCard
from ktp_gateway_dev.simulators.faults import FaultyCard, ForeignCard
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import Simulator, make_settings, verification_body

pytestmark = pytest.mark.pcsc


def _verify(client: TestClient, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post(
        "/v1/verifications", json=verification_body(**{"wait_seconds": 5, **body})
    )
    return response.status_code, response.json()


def _next_tap_works(client: TestClient, pair: VirtualReaderPair) -> None:
    pair.place("budi")
    status, body = _verify(client)
    assert status == 200 and body["outcome"] == "verified", body


@pytest.mark.parametrize(
    "after", [3, 12, 30], ids=["during-authentication", "during-biodata", "during-photo"]
)
def test_a_card_pulled_mid_read_is_card_removed(
    client: TestClient, reader_pair: VirtualReaderPair, after: int
) -> None:
    reader_pair.place_card(FaultyCard(VirtualKtpCard.for_person("budi"), pull_after=after))
    status, body = _verify(client)
    assert (status, body["code"]) == (409, "card_removed"), body
    assert "BUDI" not in str(body)
    reader_pair.remove()
    _next_tap_works(client, reader_pair)


def test_a_mute_card_is_card_timeout_and_the_reader_recovers_when_it_is_lifted(
    sim: Simulator, pcscd_service: PcscdService, reader_pair: VirtualReaderPair
) -> None:
    settings = make_settings(sim.base_url).model_copy(
        update={"reader": ReaderSettings(card_timeout_seconds=1.0)}
    )
    with TestClient(create_app(settings)) as client:
        reader_pair.place_card(FaultyCard(VirtualKtpCard.for_person("budi"), mute_after=12))
        started = time.monotonic()
        status, body = _verify(client, reader=CARD_READER, wait_seconds=0)
        assert (status, body["code"]) == (504, "card_timeout"), body
        assert time.monotonic() - started < 5
        # The PC/SC call is still blocked on the mute card: the reader says so, and refuses.
        [reader] = [r for r in client.get("/v1/readers").json()["readers"] if r["busy"]]
        assert (reader["name"], reader["last_error"]) == (CARD_READER, "card_timeout")
        status, body = _verify(client, reader=CARD_READER, wait_seconds=0)
        assert (status, body["code"]) == (409, "reader_busy"), body
        reader_pair.remove()  # the officer lifts the card: the blocked call returns
        _next_tap_works(client, reader_pair)


def test_a_card_that_is_no_ktp_el(client: TestClient, reader_pair: VirtualReaderPair) -> None:
    reader_pair.place_card(ForeignCard())
    status, body = _verify(client)
    assert (status, body["code"]) == (422, "card_not_ktp_el")
    reader_pair.remove()
    _next_tap_works(client, reader_pair)


def test_the_sam_gone_is_sam_unavailable(
    client: TestClient, reader_pair: VirtualReaderPair
) -> None:
    reader_pair.remove_sam()
    reader_pair.place("budi")
    status, body = _verify(client)
    assert (status, body["code"]) == (503, "sam_unavailable")
    [reader] = [r for r in client.get("/v1/readers").json()["readers"] if r["name"] == CARD_READER]
    assert reader["last_error"] == "sam_unavailable" and not reader["sam_present"]
    assert reader["sam_state"] == "absent"
    reader_pair.remove()
    reader_pair.start()  # the SAM is back
    _next_tap_works(client, reader_pair)
    [reader] = [r for r in client.get("/v1/readers").json()["readers"] if r["name"] == CARD_READER]
    assert (reader["sam_state"], reader["last_error"]) == ("open", None)


def test_pcscd_restart_during_service_needs_no_gateway_restart(
    client: TestClient, pcscd_service: PcscdService, reader_pair: VirtualReaderPair
) -> None:
    if not pcscd_service.started_here:
        pytest.skip("this run reuses a pcscd it did not start, so it cannot restart it")
    reader_pair.stop()
    pcscd_service.stop()
    status, body = _verify(client, wait_seconds=0)
    assert (status, body["code"]) == (503, "reader_unavailable")
    started = time.monotonic()
    pcscd_service.start()
    reader_pair.start()
    _next_tap_works(client, reader_pair)
    recovered = time.monotonic() - started
    health = client.get("/healthz").json()
    assert health["monitor"] in ("running", "reconnecting") and health["pcsc_context_resets"] >= 1
    print(f"recovered {recovered:.2f} s after pcscd came back")

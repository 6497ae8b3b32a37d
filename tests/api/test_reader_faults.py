"""Reader faults at a service counter, through the API and the real pcscd (issue 3).

Each fault gets its stable code, and the gateway keeps serving: the next tap works.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from ktp_gateway.simulators.card import VirtualKtpCard
from ktp_gateway.simulators.faults import FaultyCard, ForeignCard
from ktp_gateway.stack.pcscd import PcscdService
from ktp_gateway.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import verification_body

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
    reader_pair.remove()
    reader_pair.start()  # the SAM is back
    _next_tap_works(client, reader_pair)


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

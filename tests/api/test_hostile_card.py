"""A hostile card never takes the reader down and never blames the wrong party (issue 17).

Each row places a card that answers out of profile (the dev stack's `HostileCard`, or a card
issued with out-of-profile files) behind the real pcscd and vpcd, the project's SAM in the SAM
slot, and asserts the code the caller gets, the reader's `last_error`, the SAM state, and that
the next genuine card on the same reader verifies without anyone touching the SAM.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ktp_gateway_dev.simulators.card import VirtualKtpCard
from ktp_gateway_dev.simulators.card.files import CardVariant
from ktp_gateway_dev.simulators.faults import FaultyCard, HostileCard
from ktp_gateway_dev.simulators.sam import VirtualSam
from ktp_gateway_dev.simulators.vpcd import VirtualSmartcard
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import verification_body

pytestmark = pytest.mark.pcsc

HUGE = 0xFFFD  # with 90 00, the largest answer vpcd's 2-byte length carries


def _budi(**variant: Any) -> VirtualKtpCard:
    return VirtualKtpCard.for_person("budi", variant=CardVariant(**variant))


CASES: dict[str, tuple[Any, str]] = {
    "oversized GET UID": (lambda: HostileCard(_budi(), oversized={0xCA: HUGE}), "card_error"),
    "oversized GET CHALLENGE": (
        lambda: HostileCard(_budi(), oversized={0x84: HUGE}),
        "card_error",
    ),
    "oversized EXTERNAL AUTHENTICATE": (
        lambda: HostileCard(_budi(), oversized={0x82: HUGE}),
        "card_error",
    ),
    "oversized READ BINARY": (
        lambda: HostileCard(_budi(), oversized={0xB0: HUGE}),
        "card_error",
    ),
    "endless 61xx on GET UID": (
        lambda: HostileCard(_budi(), endless_chain=0xCA),
        "card_error",
    ),
    "empty signature EF": (lambda: _budi(signature_length=0), "card_not_genuine"),
    "signature EF over the profile": (lambda: _budi(signature_length=300), "card_data_invalid"),
    "malformed NIK, signed": (
        lambda: _budi(signed_biodata={"nik": "9971011505809901"}),
        "card_data_invalid",
    ),
    "card leaves after GET UID": (lambda: FaultyCard(_budi(), pull_after=1), "card_removed"),
    "card leaves during authentication": (
        lambda: FaultyCard(_budi(), pull_after=5),
        "card_removed",
    ),
    "card leaves during the photo": (lambda: FaultyCard(_budi(), pull_after=30), "card_removed"),
}


def _reader(client: TestClient) -> dict[str, Any]:
    readers = client.get("/v1/readers").json()["readers"]
    reader: dict[str, Any] = next(r for r in readers if r["name"] == CARD_READER)
    return reader


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_card_gets_a_card_side_code_and_leaves_the_sam_alone(
    client: TestClient, reader_pair: VirtualReaderPair, case: str
) -> None:
    make, code = CASES[case]
    card: VirtualSmartcard = make()
    reader_pair.place_card(card)
    response = client.post("/v1/verifications", json=verification_body(wait_seconds=5))
    assert response.status_code >= 400 and response.json()["code"] == code, response.text
    reader = _reader(client)
    assert reader["last_error"] == code
    assert reader["sam_state"] != "error"
    reader_pair.place("budi")
    again = client.post("/v1/verifications", json=verification_body(wait_seconds=5))
    assert again.status_code == 200 and again.json()["outcome"] == "verified", again.text


def test_a_sam_pulled_mid_tap_is_the_sams_fault_not_the_cards(
    client: TestClient, pcscd_service: object
) -> None:
    # Counted from the tap: serial and open (activation), reset, then the 5th is F1.
    sam = FaultyCard(VirtualSam.virtual(), pull_after=4)
    with VirtualReaderPair(sam=sam) as pair:  # type: ignore[arg-type]
        pair.place("budi")
        response = client.post("/v1/verifications", json=verification_body(wait_seconds=5))
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "sam_unavailable"
        assert _reader(client)["last_error"] == "sam_unavailable"

"""Card and SAM trust through the real pcscd, pyscard and the virtual card and SAM.

One outcome per case: a genuine card, altered biodata, a bad signature, a forgery a rogue SAM
accepts, a clone; the SAM activated for this reader, moved from another, expired, for another
agency, with wrong values, locked, or with no record at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.sam.binding import Activations, ActivationState
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators import keys
from ktp_gateway_dev.simulators.sam import MAX_OPEN_TRIES, VirtualSam
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.reader.activations import at, virtual_activations

pytestmark = pytest.mark.pcsc


async def _outcome(service: ReaderService) -> str:
    """The read's stable outcome: "read" or the error code."""
    try:
        await service.read()
    except GatewayError as exc:
        return exc.code.value
    return "read"


def _service(activations: Activations | None = None) -> ReaderService:
    return ReaderService(load_specs(), activations or virtual_activations())


@pytest.fixture
def pair_with(pcscd_service: PcscdService) -> Iterator[Any]:
    """Start a reader pair holding a given SAM (one at a time)."""
    pairs: list[VirtualReaderPair] = []

    def start(sam: VirtualSam) -> VirtualReaderPair:
        pair = VirtualReaderPair(sam=sam)
        pair.start()
        pairs.append(pair)
        return pair

    yield start
    for pair in pairs:
        pair.stop()


# --- card data authenticity -------------------------------------------------------------


async def test_a_genuine_card_is_verified_by_the_sam_and_again_on_the_host(
    reader_pair: VirtualReaderPair,
) -> None:
    reader_pair.place("budi")
    reading = await _service().read()
    assert reading.signature_verified and reading.signature_checks == ("sam", "host")


@pytest.mark.parametrize(
    ("variant", "outcome"),
    [
        ({}, "read"),
        ({"altered_biodata": {"nama": "BUDI PALSU"}}, "card_not_genuine"),
        ({"bad_signature": True}, "card_not_genuine"),
        ({"forged_issuer": True}, "card_not_genuine"),
        ({"clone": True}, "card_auth_failed"),
    ],
)
async def test_each_card_case_has_its_stable_outcome(
    reader_pair: VirtualReaderPair, variant: dict[str, Any], outcome: str
) -> None:
    reader_pair.place("budi", **variant)
    assert await _outcome(_service()) == outcome


async def test_a_forgery_that_a_rogue_sam_accepts_is_still_refused_by_the_host(
    pair_with: Any,
) -> None:
    # A SAM personalised with the forger's key says "valid"; the host's issuer key does not.
    rogue = VirtualSam.virtual(issuer_public_key=keys.forger_private_key().public_key())
    pair = pair_with(rogue)
    pair.place("budi", forged_issuer=True)
    with pytest.raises(GatewayError) as caught:
        await _service().read()
    assert caught.value.code is ErrorCode.CARD_NOT_GENUINE
    assert "refused by the host" in caught.value.detail
    assert "BUDI" not in str(caught.value)


# --- SAM personalisation and reader activation ------------------------------------------


async def test_the_activated_sam_opens_and_the_reader_shows_it_active(
    reader_pair: VirtualReaderPair,
) -> None:
    service = _service(virtual_activations(clock=at(2030)))
    assert service.check_activations()[CARD_READER] == "active"
    [reader] = [r for r in await service.list_readers() if r.name == CARD_READER]
    activation = reader.activation
    assert activation is not None and activation.state is ActivationState.ACTIVE
    assert activation.agency == "LPSK" and activation.checked_at is not None
    assert activation.days_until_expiry is not None and 2190 < activation.days_until_expiry < 2200
    assert keys.sam_serial().hex().upper() not in repr(reader)  # never a serial


async def test_a_sam_moved_from_another_reader_is_refused_before_any_open_attempt(
    pair_with: Any,
) -> None:
    other = VirtualSam.virtual(serial=bytes.fromhex("0102030405060708"))
    pair = pair_with(other)
    pair.place("budi")
    service = _service()
    assert await _outcome(service) == "sam_reader_mismatch"
    assert other.failed_opens == 0  # no open was tried with this reader's values
    [reader] = [r for r in await service.list_readers() if r.name == CARD_READER]
    assert reader.activation is not None
    assert reader.activation.state is ActivationState.READER_MISMATCH


@pytest.mark.parametrize(
    ("activations", "outcome"),
    [
        (lambda: virtual_activations(unit="Another Reader 00"), "sam_reader_mismatch"),
        (lambda: virtual_activations(clock=at(2036, 1, 2)), "sam_activation_expired"),
        (lambda: virtual_activations(clock=at(2024, 6, 1)), "sam_not_activated"),
        (lambda: virtual_activations(agency="BUKAN-LPSK"), "sam_not_activated"),
        (lambda: virtual_activations(pcid=bytes(16), conf=bytes(32)), "sam_not_activated"),
        (lambda: Activations([], agency="LPSK"), "sam_not_activated"),
    ],
    ids=["record-for-another-reader", "expired", "not-yet-valid", "other-agency", "wrong-values",
         "no-record"],
)  # fmt: skip
async def test_each_activation_case_has_its_stable_outcome(
    reader_pair: VirtualReaderPair, activations: Any, outcome: str
) -> None:
    reader_pair.place("budi")
    assert await _outcome(_service(activations())) == outcome


async def test_a_locked_sam_is_reported_as_locked(pair_with: Any) -> None:
    locked = VirtualSam.virtual()
    locked.failed_opens = MAX_OPEN_TRIES
    pair_with(locked).place("budi")
    service = _service()
    assert await _outcome(service) == "sam_locked"
    assert service.check_activations()[CARD_READER] == "sam_locked"


async def test_an_expired_activation_shows_in_the_reader_list(
    reader_pair: VirtualReaderPair,
) -> None:
    service = _service(virtual_activations(clock=at(2036, 1, 31)))
    [reader] = [r for r in await service.list_readers() if r.name == CARD_READER]
    activation = reader.activation
    assert activation is not None and activation.state is ActivationState.EXPIRED
    assert activation.days_until_expiry is not None and -31 < activation.days_until_expiry < -29


async def test_activation_values_and_serials_never_reach_the_logs(
    reader_pair: VirtualReaderPair,
) -> None:
    reader_pair.place("budi")
    secrets = {keys.sam_serial().hex(), keys.reader_activation().pcid.hex()}
    secrets |= {keys.reader_activation().conf.hex()}
    with structlog.testing.capture_logs() as logs:
        _service().check_activations()
        _service(virtual_activations(pcid=bytes(16), conf=bytes(32))).check_activations()
        assert await _outcome(_service()) == "read"
    text = repr(logs).lower()
    assert logs and not any(secret in text for secret in secrets)


async def test_values_the_sam_refused_are_not_sent_again(pair_with: Any) -> None:
    sam = VirtualSam.virtual()
    pair_with(sam).place("budi")
    service = _service(virtual_activations(pcid=bytes(16), conf=bytes(32)))
    for _ in range(3):
        assert await _outcome(service) == "sam_not_activated"
    assert sam.failed_opens == 1 and not sam.locked  # one try, then the gateway stops trying

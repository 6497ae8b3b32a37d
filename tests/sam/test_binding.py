"""Which record applies to a reader and its SAM, and what `GET /v1/readers` says of it."""

from __future__ import annotations

import datetime as dt

import pytest

from ktp_gateway.errors import ErrorCode, SamError
from ktp_gateway.reader.smartcard.connection import processor_for
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.sam.activation_record import parse_record
from ktp_gateway.sam.binding import Activations, ActivationState
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators import keys
from ktp_gateway_dev.simulators.activation import record_json, virtual_record
from ktp_gateway_dev.simulators.sam import VirtualSam
from tests.reader.activations import at, virtual_activations

SPECS = load_specs()
PAIR = ReaderPair("Virtual PCD 00 00", "Virtual PCD 00 01", SPECS.readers["vpcd-virtual"])
SECOND = ReaderPair("Virtual PCD 03 00", "Virtual PCD 03 01", SPECS.readers["vpcd-virtual"])
SERIAL = keys.sam_serial()


def _code(activations: Activations, pair: ReaderPair = PAIR, serial: bytes = SERIAL) -> ErrorCode:
    with pytest.raises(SamError) as caught:
        activations.record_for(pair, serial)
    return caught.value.code


def test_the_record_for_this_reader_sam_and_agency_applies() -> None:
    assert virtual_activations(clock=at(2030)).record_for(PAIR, SERIAL).agency == "LPSK"


def test_another_sam_in_this_reader_and_this_sam_in_another_reader_are_mismatches() -> None:
    activations = virtual_activations(clock=at(2030))
    assert _code(activations, serial=bytes(8)) is ErrorCode.SAM_READER_MISMATCH
    assert _code(activations, pair=SECOND) is ErrorCode.SAM_READER_MISMATCH


def test_a_reader_and_sam_no_record_names_are_not_activated() -> None:
    activations = virtual_activations(clock=at(2030))
    assert _code(activations, pair=SECOND, serial=bytes(8)) is ErrorCode.SAM_NOT_ACTIVATED


def test_validity_bounds() -> None:
    assert _code(virtual_activations(clock=at(2036))) is ErrorCode.SAM_ACTIVATION_EXPIRED
    assert _code(virtual_activations(clock=at(2024))) is ErrorCode.SAM_NOT_ACTIVATED


def test_a_renewed_record_takes_over_from_the_expired_one() -> None:
    old = virtual_record(valid_until=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), reference="OLD")
    new = virtual_record(valid_from=dt.datetime(2025, 12, 1, tzinfo=dt.UTC), reference="NEW")
    records = [parse_record(record_json(e), SPECS, "t") for e in (old, new)]
    activations = Activations(records, agency="LPSK", clock=at(2027))
    assert activations.record_for(PAIR, SERIAL).reference == "NEW"
    assert activations.status(PAIR).state is ActivationState.UNCHECKED


def test_status_before_any_check_and_without_a_record() -> None:
    status = virtual_activations(clock=at(2035, 12, 1)).status(PAIR)
    assert status.state is ActivationState.UNCHECKED and status.checked_at is None
    assert status.days_until_expiry == 31.0  # 30 days and 23:59:59, rounded to 2 places
    assert Activations([], agency="LPSK").status(PAIR).state is ActivationState.NOT_ACTIVATED
    assert virtual_activations(agency="KPK").status(PAIR).state is ActivationState.NOT_ACTIVATED


class _InProcess:
    """A `Connection` straight to an emulator (no pcscd): for the binding's own logic."""

    def __init__(self, card: VirtualSam) -> None:
        self.card = card
        self.atr = card.atr

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.process(apdu)

    def close(self) -> None:
        pass


def test_values_the_sam_refused_are_not_sent_again() -> None:
    sam = VirtualSam.virtual()
    session = SamSession(processor_for(_InProcess(sam)), SPECS.sams["ktp-el-sam"])
    activations = virtual_activations(pcid=bytes(16), conf=bytes(32), clock=at(2030))
    for _ in range(3):
        with pytest.raises(SamError) as caught:
            activations.open(session, PAIR)
        assert caught.value.code is ErrorCode.SAM_NOT_ACTIVATED
    assert sam.failed_opens == 1 and not sam.locked
    assert activations.status(PAIR).state is ActivationState.NOT_ACTIVATED


def test_a_good_open_marks_the_reader_active() -> None:
    session = SamSession(processor_for(_InProcess(VirtualSam.virtual())), SPECS.sams["ktp-el-sam"])
    activations = virtual_activations(clock=at(2030))
    assert activations.open(session, PAIR).reference == "VIRTUAL-ACTIVATION-0001"
    status = activations.status(PAIR)
    assert status.state is ActivationState.ACTIVE and status.checked_at is not None

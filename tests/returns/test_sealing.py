"""Sealing: the NIK is ciphertext at rest, bound to its item; idempotency keys reveal nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.sealing import Payload, Sealer

NIK = "3171011505809901"
PAYLOAD = Payload(NIK, "REG-0042/LPSK/2026", "SK-17/RP/LPSK/05/2026")


def test_seal_round_trip_hides_every_value() -> None:
    sealer = Sealer(bytes(32))
    sealed = sealer.seal("item-1", PAYLOAD)
    assert sealer.open("item-1", sealed) == PAYLOAD
    for value in (NIK.encode(), b"REG-0042", b"LPSK"):
        assert value not in sealed
    assert sealed != sealer.seal("item-1", PAYLOAD)  # a fresh nonce each time


def test_a_sealed_item_cannot_be_moved_or_opened_with_another_key() -> None:
    sealed = Sealer(bytes(32)).seal("item-1", PAYLOAD)
    with pytest.raises(ConfigurationError):
        Sealer(bytes(32)).open("item-2", sealed)
    with pytest.raises(ConfigurationError):
        Sealer(b"\x01" * 32).open("item-1", sealed)


def test_idempotency_key_is_stable_opaque_and_keyed() -> None:
    sealer = Sealer(bytes(32))
    key = sealer.idempotency_key(PAYLOAD)
    assert key == sealer.idempotency_key(PAYLOAD) and NIK not in key
    assert key != Sealer(b"\x02" * 32).idempotency_key(PAYLOAD)
    assert key != sealer.idempotency_key(PAYLOAD, "caller-key-1")
    other = Payload(NIK, "REG-0043/LPSK/2026", PAYLOAD.nomor_sk)
    assert key != sealer.idempotency_key(other)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_any_payload_round_trips(register: str, sk: str) -> None:
    sealer = Sealer(bytes(32))
    payload = Payload(NIK, register, sk)
    assert sealer.open("x", sealer.seal("x", payload)) == payload

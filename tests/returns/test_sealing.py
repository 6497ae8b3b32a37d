"""Sealing: the NIK is ciphertext at rest, bound to its item; idempotency keys reveal nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.sealing import Payload, Sealer, SealingKeyMissing

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


def _first_format(key: bytes, item_id: str, payload: Payload) -> bytes:
    """An item as sealed before key ids: 0x01 || nonce || ciphertext, three fields."""
    import json
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ktp_gateway.returns.sealing import _derive

    aead = AESGCM(_derive(key, b"ktp-gateway return outbox seal v1"))
    nonce = os.urandom(12)
    plain = json.dumps([payload.nik, payload.nomor_register, payload.nomor_sk]).encode()
    return b"\x01" + nonce + aead.encrypt(nonce, plain, item_id.encode())


def test_rotation_opens_with_any_configured_key_and_seals_with_the_current() -> None:
    old, new = b"\x0a" * 32, b"\x0b" * 32
    sealed_old = Sealer(old).seal("item-1", PAYLOAD)
    rotating = Sealer(new, [old])
    assert rotating.open_indexed("item-1", sealed_old) == (PAYLOAD, 1)
    assert rotating.open_indexed("item-1", rotating.seal("item-1", PAYLOAD)) == (PAYLOAD, 0)
    assert rotating.open_indexed("item-1", _first_format(old, "item-1", PAYLOAD)) == (PAYLOAD, 1)
    with pytest.raises(SealingKeyMissing, match=Sealer(old).key_id):
        Sealer(new).open("item-1", sealed_old)
    with pytest.raises(ConfigurationError):
        Sealer(new).open("item-1", _first_format(old, "item-1", PAYLOAD))


def test_key_ids_are_opaque_and_idempotency_keys_cover_every_key() -> None:
    old, new = b"\x0a" * 32, b"\x0b" * 32
    rotating = Sealer(new, [old])
    assert len(rotating.key_id) == 8 and rotating.key_id not in (old.hex(), new.hex())
    assert rotating.idempotency_keys(PAYLOAD) == [
        Sealer(new).idempotency_key(PAYLOAD),
        Sealer(old).idempotency_key(PAYLOAD),
    ]
    with_caller = Payload(NIK, PAYLOAD.nomor_register, PAYLOAD.nomor_sk, "case-1")
    sealed = rotating.seal("x", with_caller)
    assert rotating.open("x", sealed) == with_caller  # the caller's key survives a rekey
    assert rotating.idempotency_key(with_caller) == rotating.idempotency_key(PAYLOAD, "case-1")

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway_dev.simulators import crypto, keys


def _cbc(key: bytes, data: bytes) -> bytes:
    encryptor = Cipher(TripleDES(key), modes.CBC(bytes(8))).encryptor()
    return encryptor.update(data) + encryptor.finalize()


@given(st.binary(max_size=80))
def test_padding_method_2_round_trips_to_whole_blocks(data: bytes) -> None:
    padded = crypto.pad(data)
    assert len(padded) % 8 == 0 and len(padded) > len(data)
    assert crypto.unpad(padded) == data


@pytest.mark.parametrize("bad", [b"", bytes(8), b"\x01" * 8, b"abc\x80" + bytes(12)])
def test_bad_padding_is_refused(bad: bytes) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.unpad(bad)


def test_mac_is_tdes_cmac_over_padded_data() -> None:
    key = keys.derive("test mac key", 24)
    reference = CMAC(TripleDES(key))
    reference.update(b"hello" + b"\x80\x00\x00")
    assert crypto.mac(key, b"hello") == reference.finalize()


def test_diversification_follows_the_documented_formula() -> None:
    kmc, serial, uid = keys.card_master_key(), bytes(range(8)), bytes(range(7))
    block = hashlib.sha256(serial + uid).digest()[:23]
    derived = crypto.diversify(kmc, serial, uid)
    assert derived.enc == _cbc(kmc, block + b"\x01")
    assert derived.mac == _cbc(kmc, block + b"\x02")
    assert "secret" in repr(derived)


def test_each_card_and_each_master_key_gives_different_keys() -> None:
    serial, uid = bytes(8), bytes(7)
    genuine = crypto.diversify(keys.card_master_key(), serial, uid)
    assert crypto.diversify(keys.card_master_key(), b"\x01" + bytes(7), uid) != genuine
    assert crypto.diversify(keys.clone_master_key(), serial, uid) != genuine


def test_session_keys_follow_the_documented_kdf() -> None:
    k_ifd, k_ic = bytes(range(16)), bytes(range(16, 32))
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    session = crypto.session_keys(k_ifd, k_ic)
    assert session.enc == hashlib.sha256(seed + b"\x00\x00\x00\x01").digest()[:24]
    assert session.mac == hashlib.sha256(seed + b"\x00\x00\x00\x02").digest()[:24]


def test_ssc_starts_from_the_last_four_bytes_of_each_challenge() -> None:
    ssc = crypto.initial_ssc(bytes.fromhex("0001020304050607"), bytes.fromhex("08090A0B0C0D0E0F"))
    assert ssc == 0x040506070C0D0E0F


def test_signatures_are_deterministic_and_verify_by_digest() -> None:
    key = keys.issuer_private_key()
    signature = crypto.sign(key, b"data")
    assert signature == crypto.sign(key, b"data")
    digest = hashlib.sha256(b"data").digest()
    assert crypto.verify_digest(key.public_key(), signature, digest)
    assert not crypto.verify_digest(key.public_key(), signature, hashlib.sha256(b"other").digest())
    assert not crypto.verify_digest(key.public_key(), b"\x30\x00", digest)


def test_test_keys_are_stable_distinct_and_the_right_size() -> None:
    assert keys.card_master_key() == keys.card_master_key()
    assert len(keys.card_master_key()) == 24
    assert keys.card_master_key() != keys.clone_master_key()
    activation = keys.reader_activation()
    assert (len(activation.pcid), len(activation.conf)) == (16, 32)
    hexes = activation.as_hex()
    assert bytes.fromhex(hexes["pcid"]) == activation.pcid
    assert "secret" in repr(activation)


def test_open_data_is_pcid_xor_each_half_of_conf() -> None:
    activation = keys.ReaderActivation(bytes(range(16)), bytes([0xFF] * 16 + [0x0F] * 16))
    data = activation.open_data()
    assert data[:16] == bytes(b ^ 0xFF for b in range(16))
    assert data[16:] == bytes(b ^ 0x0F for b in range(16))

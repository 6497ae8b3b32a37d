"""API keys: shape, hashing, constant-time checks; nothing stored lets anyone call."""

from __future__ import annotations

from ktp_gateway.callers.keys import hash_key, new_key, parse_key, valid_hash, verify_secret


def test_a_new_key_parses_and_verifies_against_its_hash() -> None:
    key_id, key = new_key()
    presented = parse_key(key)
    assert presented is not None and presented.key_id == key_id
    stored = hash_key(key)
    assert valid_hash(stored) and presented.secret not in stored and key not in stored
    assert verify_secret(presented.secret, stored)
    assert not verify_secret(presented.secret[:-1] + "A", stored) or presented.secret.endswith("A")


def test_each_hash_has_its_own_salt() -> None:
    _, key = new_key()
    assert hash_key(key) != hash_key(key)


def test_malformed_keys_and_hashes_are_refused() -> None:
    for text in ("", "kgw_", "kgw_zzzzzzzz_" + "A" * 43, "Bearer kgw", "kgw_0000000_" + "A" * 43):
        assert parse_key(text) is None
    assert not valid_hash("plaintext") and not verify_secret("x", "scrypt$n=1$zz$zz")

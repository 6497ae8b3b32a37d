"""What the outbox stores of an item is sealed: AES-256-GCM, a fresh nonce, the item id as AAD.

The NIK (and with it the case's register and decision numbers) is population data and case
data: on disk it is only ciphertext. The idempotency key is an HMAC of the content under a key
derived from the same secret, so equal items collapse into one without the key revealing the
NIK (a plain hash of a 16-digit structured number could be brute-forced).

Rotation: a `Sealer` holds the current key and any previous ones. It seals with the current key
and writes that key's id (an HMAC of a constant under the key: opaque, never the key) in front
of the nonce, so an item names the key it needs; it opens with whichever configured key fits
(the GCM tag decides). Items of the first format (no key id) are tried under every key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ktp_gateway.errors import ConfigurationError

NONCE_BYTES = 12
KEY_ID_BYTES = 4
VERSION_1 = b"\x01"  # nonce || ciphertext+tag
VERSION = b"\x02"  # key id || nonce || ciphertext+tag


class SealingKeyMissing(ConfigurationError):
    """An item was sealed under a key that is no longer configured."""


@dataclass(frozen=True, slots=True)
class Payload:
    """Only what the return call needs, and the caller's Idempotency-Key (to re-derive ours)."""

    nik: str
    nomor_register: str
    nomor_sk: str
    caller_key: str | None = None
    owner: str | None = None  # the client that queued it: its items are deduplicated apart


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def _material(payload: Payload) -> bytes:
    # Items of another client are never one's twin (a 200 would tell that it queued the same);
    # items from before owners (owner None) keep the keys they were stored under.
    scope = f"owner\x00{payload.owner}\x00" if payload.owner else ""
    if payload.caller_key:
        return f"{scope}caller\x00{payload.caller_key}".encode()
    content = ["content", payload.nik, payload.nomor_register, payload.nomor_sk]
    return (scope + "\x00".join(content)).encode()


class _Key:
    """One configured secret: its AEAD, its MAC key and its public id."""

    def __init__(self, master: bytes) -> None:
        self.aead = AESGCM(_derive(master, b"ktp-gateway return outbox seal v1"))
        self.mac_key = _derive(master, b"ktp-gateway return outbox idempotency v1")
        label = b"ktp-gateway return outbox key id v1"
        self.id = hmac.new(master, label, hashlib.sha256).digest()[:KEY_ID_BYTES]

    def mac(self, payload: Payload) -> str:
        return hmac.new(self.mac_key, _material(payload), hashlib.sha256).hexdigest()[:40]


class Sealer:
    """Seal and open outbox payloads; derive idempotency keys; current key first."""

    def __init__(self, master_key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._keys = [_Key(key) for key in (master_key, *previous)]

    @property
    def key_id(self) -> str:
        """The current key's opaque id (8 hex digits), safe to log."""
        return self._keys[0].id.hex()

    def seal(self, item_id: str, payload: Payload) -> bytes:
        """version || key id || nonce || ciphertext+tag, under the current key, bound to the id."""
        key, nonce = self._keys[0], os.urandom(NONCE_BYTES)
        fields = [
            payload.nik, payload.nomor_register, payload.nomor_sk, payload.caller_key, payload.owner
        ]  # fmt: skip
        plain = json.dumps(fields).encode()
        return VERSION + key.id + nonce + key.aead.encrypt(nonce, plain, item_id.encode())

    def open(self, item_id: str, sealed: bytes) -> Payload:
        """The payload; SealingKeyMissing or ConfigurationError when no configured key fits."""
        return self.open_indexed(item_id, sealed)[0]

    def open_indexed(self, item_id: str, sealed: bytes) -> tuple[Payload, int]:
        """The payload and which key opened it: 0 the current one, 1.. the previous ones."""
        if sealed[:1] == VERSION:
            wanted = sealed[1 : 1 + KEY_ID_BYTES]
            rest = sealed[1 + KEY_ID_BYTES :]
            candidates = [n for n, key in enumerate(self._keys) if key.id == wanted]
            if not candidates:
                raise SealingKeyMissing(
                    f"an outbox item was sealed under key {wanted.hex()}, which is not "
                    "configured (add it to return_data.previous_encryption_key_files)"
                )
        elif sealed[:1] == VERSION_1:
            rest, candidates = sealed[1:], list(range(len(self._keys)))
        else:
            raise ConfigurationError("outbox item sealed in an unknown format")
        nonce, body = rest[:NONCE_BYTES], rest[NONCE_BYTES:]
        for index in candidates:
            try:
                plain = self._keys[index].aead.decrypt(nonce, body, item_id.encode())
            except InvalidTag:
                continue
            nik, register, sk, *rest = json.loads(plain)  # older items: no caller key, owner
            rest += [None] * (2 - len(rest))
            return Payload(nik, register, sk, rest[0], rest[1]), index
        raise ConfigurationError(
            "an outbox item cannot be opened with any configured key (was it changed?)"
        )

    def idempotency_key(self, payload: Payload, caller_key: str | None = None) -> str:
        """A stable, opaque key (current key): from the caller's key if given, else the content."""
        return self.idempotency_keys(payload, caller_key)[0]

    def idempotency_keys(self, payload: Payload, caller_key: str | None = None) -> list[str]:
        """The idempotency key under every configured key, the current one first."""
        if caller_key:
            payload = dataclasses.replace(payload, caller_key=caller_key)
        return [key.mac(payload) for key in self._keys]

    def mac_under(self, index: int, payload: Payload) -> str:
        """The idempotency key under configured key `index` (0: the current one)."""
        return self._keys[index].mac(payload)

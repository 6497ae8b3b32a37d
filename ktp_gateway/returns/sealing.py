"""What the outbox stores of an item is sealed: AES-256-GCM, a fresh nonce, the item id as AAD.

The NIK (and with it the case's register and decision numbers) is population data and case
data: on disk it is only ciphertext. The idempotency key is an HMAC of the content under a key
derived from the same secret, so equal items collapse into one without the key revealing the
NIK (a plain hash of a 16-digit structured number could be brute-forced).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ktp_gateway.errors import ConfigurationError

NONCE_BYTES = 12
VERSION = b"\x01"


@dataclass(frozen=True, slots=True)
class Payload:
    """Only what the return call needs."""

    nik: str
    nomor_register: str
    nomor_sk: str


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class Sealer:
    """Seal and open outbox payloads; derive idempotency keys."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"ktp-gateway return outbox seal v1"))
        self._mac_key = _derive(master_key, b"ktp-gateway return outbox idempotency v1")

    def seal(self, item_id: str, payload: Payload) -> bytes:
        """version || nonce || ciphertext+tag, bound to the item id."""
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps([payload.nik, payload.nomor_register, payload.nomor_sk]).encode()
        return VERSION + nonce + self._aead.encrypt(nonce, plain, item_id.encode())

    def open(self, item_id: str, sealed: bytes) -> Payload:
        """The payload, or ConfigurationError when the key is not the one it was sealed with."""
        if sealed[:1] != VERSION:
            raise ConfigurationError("outbox item sealed in an unknown format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, body, item_id.encode())
        except InvalidTag:
            raise ConfigurationError(
                "an outbox item cannot be opened with the configured key (was it changed?)"
            ) from None
        nik, register, sk = json.loads(plain)
        return Payload(nik=nik, nomor_register=register, nomor_sk=sk)

    def idempotency_key(self, payload: Payload, caller_key: str | None = None) -> str:
        """A stable, opaque key: from the caller's Idempotency-Key if given, else the content."""
        material = (
            f"caller\x00{caller_key}"
            if caller_key
            else "\x00".join(["content", payload.nik, payload.nomor_register, payload.nomor_sk])
        )
        return hmac.new(self._mac_key, material.encode(), hashlib.sha256).hexdigest()[:40]

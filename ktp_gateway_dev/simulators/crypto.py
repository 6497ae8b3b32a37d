"""Cryptography of the virtual card and SAM: 3-key triple DES, MACs, key derivation, ECDSA P-256.

The algorithms are those the 2014 regulation requires of the SAM (3-key TDES, SHA-256, ECDSA
P-256, shared/ktp-el-notes.md). How keys are diversified and session keys derived is not public:
the choices below are this project's, documented in docs/virtual-stack.md. Both emulators import
this one module so card and SAM agree by construction; the host never does (it holds no keys).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.cmac import CMAC

BLOCK = 8  # DES block size
TDES_KEY_LENGTH = 24  # 3-key triple DES (168-bit), as the regulation requires
MAC_LENGTH = 8
ZERO_IV = bytes(BLOCK)
# Diversification purposes, appended to the diversification block (project's choice).
PURPOSE_ENC = 0x01
PURPOSE_MAC = 0x02
# Session-key counters, appended to the key seed before hashing (ICAO 9303-11 KDF style).
KDF_COUNTER_ENC = 1
KDF_COUNTER_MAC = 2


class CryptoError(ValueError):
    """Bad padding or a cryptogram of the wrong shape: the emulator answers a status word."""


def pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80, then zeros to a block boundary."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % BLOCK)


def unpad(data: bytes) -> bytes:
    """Remove padding method 2; anything else is an error, never silently accepted."""
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= BLOCK:
        raise CryptoError("bad ISO 9797-1 method 2 padding")
    return stripped[:-1]


def _tdes(key: bytes) -> TripleDES:
    if len(key) != TDES_KEY_LENGTH:
        raise CryptoError("3-key triple DES needs a 24-byte key")
    return TripleDES(key)


def tdes_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    """TDES-CBC over whole blocks (callers pad first)."""
    if len(data) % BLOCK:
        raise CryptoError("TDES-CBC input must be whole blocks")
    encryptor = Cipher(_tdes(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def tdes_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV) -> bytes:
    """Inverse of `tdes_encrypt`."""
    if not data or len(data) % BLOCK:
        raise CryptoError("TDES-CBC cryptogram must be whole blocks")
    decryptor = Cipher(_tdes(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def mac(key: bytes, data: bytes) -> bytes:
    """8-byte MAC: CMAC with 3-key TDES (NIST SP 800-38B) over the method-2-padded data.

    Retail MAC (ISO 9797-1 algorithm 3) is defined for two DES keys; CMAC uses the whole 168-bit
    key, and padding first follows ICAO 9303's CMAC secure messaging.
    """
    cmac = CMAC(_tdes(key))
    cmac.update(pad(data))
    return cmac.finalize()[:MAC_LENGTH]


def mac_matches(key: bytes, data: bytes, expected: bytes) -> bool:
    """Constant-time MAC check."""
    return hmac.compare_digest(mac(key, data), expected)


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """An encryption key and a MAC key (card keys or session keys); never printed."""

    enc: bytes
    mac: bytes

    def __repr__(self) -> str:
        return "KeyPair(<secret>)"


def diversify(master_key: bytes, chip_serial: bytes, uid: bytes) -> KeyPair:
    """Card keys from the master key KMC, the chip serial (from the CC) and the UID.

    D = SHA-256(serial || UID); K_p = TDES-CBC(KMC, IV 0, D[0:23] || p) with p = 01 (enc) or
    02 (mac). Without KMC a card's keys cannot be computed, and each card's keys differ.
    """
    block = hashlib.sha256(chip_serial + uid).digest()[: TDES_KEY_LENGTH - 1]
    return KeyPair(
        enc=tdes_encrypt(master_key, block + bytes((PURPOSE_ENC,))),
        mac=tdes_encrypt(master_key, block + bytes((PURPOSE_MAC,))),
    )


def session_keys(k_ifd: bytes, k_ic: bytes) -> KeyPair:
    """Session keys from both sides' key halves: seed = K.IFD xor K.IC, SHA-256(seed || counter)."""
    if len(k_ifd) != len(k_ic):
        raise CryptoError("key halves differ in length")
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))

    def derive(counter: int) -> bytes:
        return hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()[:TDES_KEY_LENGTH]

    return KeyPair(enc=derive(KDF_COUNTER_ENC), mac=derive(KDF_COUNTER_MAC))


def initial_ssc(rnd_ic: bytes, rnd_ifd: bytes) -> int:
    """Send sequence counter start: RND.IC[-4:] || RND.IFD[-4:] (as in ICAO 9303 BAC)."""
    return int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big")


ECDSA_SHA256 = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """DER ECDSA P-256 signature over SHA-256(data); deterministic (RFC 6979) for stable cards."""
    return private_key.sign(data, ECDSA_SHA256)


def verify_digest(public_key: ec.EllipticCurvePublicKey, signature: bytes, digest: bytes) -> bool:
    """Check a DER signature against a SHA-256 digest computed elsewhere (fed in chunks)."""
    try:
        public_key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError):
        return False
    return True

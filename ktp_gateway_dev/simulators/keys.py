"""TEST-ONLY key material of the virtual stack, derived from labelled strings.

NEVER use any of this with a real SAM, card or reader: every value below is computable by anyone
who reads this file. Deriving keys from labels (SHA-256 of "ktp-gateway virtual ... v1") means
no key bytes are committed, the virtual card, SAM and demo configuration always agree, and a
changed label yields a different, equally reproducible key set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway_dev.simulators.crypto import TDES_KEY_LENGTH

_PREFIX = "ktp-gateway virtual "
KEY_VERSION = 0x01  # the version byte the virtual cards' CC carries and the virtual SAM holds
PCID_LENGTH = 16
CONF_LENGTH = 32
SAM_SERIAL_LENGTH = 8
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def derive(label: str, length: int) -> bytes:
    """`length` bytes from SHA-256 in counter mode over the label (test keys only)."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{_PREFIX}{label}|{counter}".encode()).digest()
        counter += 1
    return out[:length]


def card_master_key() -> bytes:
    """KMC: the 3-key TDES master key from which every genuine virtual card's keys derive."""
    return derive(f"KMC v{KEY_VERSION}", TDES_KEY_LENGTH)


def clone_master_key() -> bytes:
    """A different master key: cards made with it are clones the SAM cannot authenticate."""
    return derive("clone KMC v1", TDES_KEY_LENGTH)


def _p256_key(label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(derive(label, 40), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def issuer_private_key() -> ec.EllipticCurvePrivateKey:
    """The virtual issuer that signs card data (EF 6FF6); only the card factory uses it."""
    return _p256_key("issuer ECDSA P-256 v1")


def issuer_public_key() -> ec.EllipticCurvePublicKey:
    """What the virtual SAM is personalised with to check card signatures."""
    return issuer_private_key().public_key()


def forger_private_key() -> ec.EllipticCurvePrivateKey:
    """A key that is not the issuer's: card data signed with it is a forgery."""
    return _p256_key("forger ECDSA P-256 v1")


def activation_signer_private_key() -> ec.EllipticCurvePrivateKey:
    """The virtual "Dukcapil" key that signs activation records of the virtual reader."""
    return _p256_key("activation signer ECDSA P-256 v1")


def sam_serial(unit: int = 1) -> bytes:
    """The serial number of the virtual SAM in reader unit `unit` (1 or 2): one SAM per reader."""
    label = "SAM serial v1" if unit == 1 else f"SAM serial v1 unit {unit}"
    return derive(label, SAM_SERIAL_LENGTH)


@dataclass(frozen=True, slots=True, repr=False)
class ReaderActivation:
    """The virtual reader's activation values (what Dukcapil's activation would produce)."""

    pcid: bytes
    conf: bytes

    def __repr__(self) -> str:
        return "ReaderActivation(<test-only secret>)"

    def open_data(self) -> bytes:
        """SAM open data: PCID xor CONF[0:16] || PCID xor CONF[16:32] (shared/ktp-el-notes.md)."""
        halves = (self.conf[:PCID_LENGTH], self.conf[PCID_LENGTH:])
        return b"".join(bytes(p ^ c for p, c in zip(self.pcid, h, strict=True)) for h in halves)

    def as_hex(self) -> dict[str, str]:
        """Hex strings for the gateway's demo configuration (`activation.pcid` / `.conf`)."""
        return {"pcid": self.pcid.hex().upper(), "conf": self.conf.hex().upper()}


def reader_activation() -> ReaderActivation:
    """PCID and CONF of the virtual reader; the virtual SAM opens only with these."""
    return ReaderActivation(
        pcid=derive("reader PCID v1", PCID_LENGTH), conf=derive("reader CONF v1", CONF_LENGTH)
    )

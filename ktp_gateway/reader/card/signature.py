"""Passive authentication on the host: the card's signature (EF 6FF6) against the issuer's key.

The SAM checks the signature first (its FA steps); where the card profile names issuer public
keys, the host checks it again with `cryptography`, so a SAM that answers "valid" to anything
(faulty, or not the agency's) does not let forged data through on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway.specs import CardProfile, ReaderProfile
from ktp_gateway.specs.keys import trusted_keys

ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
MAX_SIGNATURE_BYTES = 255  # a DER ECDSA P-256 signature is at most 72 bytes


class HostCheck(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    NO_KEY = "no_key"  # the profile names no issuer key this reader trusts: SAM check only


def verify_on_host(
    card: CardProfile, reader: ReaderProfile, signature: bytes, signed: Iterable[bytes]
) -> HostCheck:
    """ECDSA P-256 over SHA-256 of the signed files' bodies, in the profile's order."""
    spec = card.signature
    keys = trusted_keys(spec.issuer_keys, test_reader=reader.test_only) if spec else []
    if not keys:
        return HostCheck.NO_KEY
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        return HostCheck.INVALID
    data = b"".join(signed)
    for key in keys:
        try:
            key.public_key().verify(signature, data, ECDSA_SHA256)
        except (InvalidSignature, ValueError):
            continue
        return HostCheck.VALID
    return HostCheck.INVALID

"""Public keys a profile trusts (card issuer keys, activation signers), from PEM files.

A profile names a key file relative to itself; loading reads and checks it (an ECDSA P-256
public key), so a missing or wrong file is a spec problem at start, not a failure at a tap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

MAX_KEY_FILE_BYTES = 16 * 1024


class PublicKeyRef(BaseModel):
    """A trusted ECDSA P-256 public key from a PEM file named relative to the profile file.

    `test_only` keys (the virtual stack's, computable by anyone) are trusted only on readers
    whose profile is itself `test_only`, so a production reader never accepts them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    pem: str
    test_only: bool = False
    der: bytes  # SubjectPublicKeyInfo, read from `pem` when the profile is loaded

    @model_validator(mode="before")
    @classmethod
    def _read_pem(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "der" in data or not isinstance(data.get("pem"), str):
            return data
        base = Path((info.context or {}).get("base_dir", "."))
        path = base / data["pem"]
        try:
            with path.open("rb") as handle:
                text = handle.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise ValueError(f"cannot read key file {data['pem']}: {exc.strerror}") from None
        if len(text) > MAX_KEY_FILE_BYTES:
            raise ValueError(f"key file {data['pem']} is larger than {MAX_KEY_FILE_BYTES} bytes")
        try:
            key = serialization.load_pem_public_key(text)
        except (ValueError, TypeError):
            raise ValueError(f"{data['pem']} is not a PEM public key") from None
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {**data, "der": der}

    @field_validator("der")
    @classmethod
    def _p256(cls, der: bytes) -> bytes:
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError):
            raise ValueError("not a DER public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError("must be an ECDSA P-256 public key")
        return der

    def public_key(self) -> ec.EllipticCurvePublicKey:
        key = serialization.load_der_public_key(self.der)
        assert isinstance(key, ec.EllipticCurvePublicKey)  # noqa: S101 - checked on load
        return key


def trusted_keys(keys: list[PublicKeyRef], *, test_reader: bool) -> list[PublicKeyRef]:
    """The keys a reader may trust: test-only keys only on a test-only (virtual) reader."""
    return [key for key in keys if test_reader or not key.test_only]

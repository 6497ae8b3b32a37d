"""The activation record Dukcapil delivers for one reader, its file format and its signature.

Dukcapil personalises a SAM and activates it for one reader of one agency: the record names the
SAM (serial), the reader (profile and unit), the agency, when it is in force, and the activation
values (PCID, CONF) that open the SAM. It is signed with a key the SAM profile trusts
(`activation.signer_keys`), so an edited record (another reader, a later date) is refused.

File format (JSON), `docs/card-and-sam-trust.md`:

    {"record": {"format": "ktp-gateway/activation-record/v1", "reference": "...",
                "sam_serial": "<hex>", "reader": {"profile": "...", "unit": "..."},
                "agency": "LPSK", "valid_from": "<ISO 8601 UTC>", "valid_until": "...",
                "pcid": "<hex>", "conf": "<hex>"},
     "signature": "<base64 DER ECDSA P-256 over SHA-256 of the canonical JSON of record>"}

The record carries the activation values, so it is a secret: an owner-only file, or the
environment. Nothing here logs or returns the values.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import stat
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.sam.activation import Activation
from ktp_gateway.specs import Specs
from ktp_gateway.specs.keys import trusted_keys

RECORD_FORMAT = "ktp-gateway/activation-record/v1"
MAX_RECORD_BYTES = 64 * 1024
_HEX = r"^[0-9A-Fa-f]+$"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReaderIdentity(_Record):
    """The reader a SAM is activated for: its profile and the `unit` its PC/SC names carry."""

    profile: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=200)


class ActivationRecord(_Record):
    """One reader's activation, as signed by Dukcapil; `pcid`/`conf` are secrets."""

    format: Literal["ktp-gateway/activation-record/v1"]
    reference: str = Field(min_length=1, max_length=100)  # Dukcapil's own id of the activation
    sam_serial: str = Field(pattern=_HEX, min_length=2, max_length=64)
    reader: ReaderIdentity
    agency: str = Field(min_length=1, max_length=100)
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    pcid: SecretStr
    conf: SecretStr

    @model_validator(mode="after")
    def _consistent(self) -> ActivationRecord:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if len(self.sam_serial) % 2:
            raise ValueError("sam_serial must be whole bytes of hex")
        return self

    @property
    def serial(self) -> bytes:
        return bytes.fromhex(self.sam_serial)

    def values(self) -> Activation:
        """PCID and CONF, for opening the SAM (and nothing else)."""
        return Activation.from_hex(self.pcid.get_secret_value(), self.conf.get_secret_value())

    def in_force(self, now: dt.datetime) -> bool:
        return self.valid_from <= now < self.valid_until


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes the signature covers: sorted keys, no spaces, ASCII-escaped JSON."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def sign_record(record: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The signed envelope (what Dukcapil would deliver; used by the virtual stack and tests)."""
    signature = key.sign(canonical(record), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return {"record": record, "signature": base64.b64encode(signature).decode()}


def _problem(origin: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"activation record {origin}: {message}")


def _json(text: str, origin: str) -> Any:
    if len(text) > MAX_RECORD_BYTES:
        raise _problem(origin, f"larger than {MAX_RECORD_BYTES} bytes")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _problem(origin, "not JSON") from None


def _envelope(envelope: Any, origin: str) -> tuple[dict[str, Any], bytes]:
    if not isinstance(envelope, dict) or set(envelope) != {"record", "signature"}:
        raise _problem(origin, 'expected {"record": {...}, "signature": "..."}')
    record, signature = envelope["record"], envelope["signature"]
    if not isinstance(record, dict) or not isinstance(signature, str):
        raise _problem(origin, "record must be an object and signature a base64 string")
    try:
        return record, base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise _problem(origin, "signature is not base64") from None


def _validated(record: dict[str, Any], origin: str) -> ActivationRecord:
    try:
        return ActivationRecord.model_validate(record)
    except ValidationError as exc:
        # Location and rule only: pydantic's input echo could be a secret value.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_input=False)[:10]
        )
        raise _problem(origin, problems) from None


def _check_signature(
    raw: dict[str, Any], signature: bytes, record: ActivationRecord, specs: Specs, origin: str
) -> None:
    reader = specs.readers.get(record.reader.profile)
    if reader is None:
        raise _problem(origin, f"names reader profile {record.reader.profile!r}, which no spec has")
    layout = specs.sam_for(reader).activation
    keys = trusted_keys(layout.signer_keys, test_reader=reader.test_only)
    for key in keys:
        try:
            key.public_key().verify(signature, canonical(raw), ECDSA_SHA256)
        except (InvalidSignature, ValueError):
            continue
        return
    raise _problem(
        origin,
        "signature does not verify: the record was edited, or is not signed by a key the SAM "
        "profile trusts (activation.signer_keys)",
    )


def parse_record(text: str, specs: Specs, origin: str) -> ActivationRecord:
    """A checked record from its JSON text, or a `ConfigurationError` saying what is wrong."""
    return _checked(_json(text, origin), specs, origin)


def parse_records(text: str, specs: Specs, origin: str) -> list[ActivationRecord]:
    """One record (a JSON object) or several (a JSON array of them), each checked."""
    data = _json(text, origin)
    if isinstance(data, list):
        return [_checked(item, specs, f"{origin} [{i}]") for i, item in enumerate(data)]
    return [_checked(data, specs, origin)]


def _checked(envelope: Any, specs: Specs, origin: str) -> ActivationRecord:
    raw, signature = _envelope(envelope, origin)
    record = _validated(raw, origin)
    _check_signature(raw, signature, record, specs, origin)
    try:
        record.values().open_data(specs.sam_for(specs.readers[record.reader.profile]).activation)
    except ConfigurationError as exc:
        raise _problem(origin, exc.detail) from None
    return record


def read_record_file(path: Path, specs: Specs) -> ActivationRecord:
    """A record from an owner-only file (it holds the activation values)."""
    origin = str(path)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise _problem(origin, "must not be readable by group or others (chmod 600)")
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise _problem(origin, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(origin, "not UTF-8 text") from None
    return parse_record(text, specs, origin)

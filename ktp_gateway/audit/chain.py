"""One audit record, its canonical form and its hash: SHA-256 over previous hash + canonical JSON.

A record is a line of JSON: `seq` (1, 2, 3...), `time` (UTC), `kind`, `data` (flat scalars and
lists of names), `prev` (the previous record's hash) and `hash`. Changing any byte of a record
changes its hash; removing or reordering records breaks the `prev` links or the sequence.
Values are checked before they are written: nothing NIK-shaped ever enters the trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ktp_gateway.errors import ErrorCode, GatewayError

GENESIS = "0" * 64  # `prev` of the first record ever written
_HEX64 = r"^[0-9a-f]{64}$"
_NIK_SHAPED = re.compile(r"(?<!\d)\d{16}(?!\d)")  # exactly 16 digits: could be a NIK
_UNCHECKED = frozenset({"request_id"})  # our own random hex id
MAX_TEXT = 200

Scalar = str | int | float | bool | None
Value = Scalar | list[str]


class AuditError(GatewayError):
    """The trail could not be written (or a value was refused): the access must not happen."""

    code = ErrorCode.AUDIT_UNAVAILABLE


class Kind(StrEnum):
    """What a record is about."""

    ACCESS = "access"  # a card read and/or a registry query (or an attempt refused by policy)
    AGREEMENT = "agreement"  # suspended or resumed by the operator
    RETENTION = "retention"  # records older than the retention period were removed
    STARTED = "started"  # a gateway process started under an agreement
    RETURN_DATA = "return_data"  # a data balikan delivery attempt ended (outcome only)


class Record(BaseModel):
    """One line of the trail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    time: str
    kind: Kind
    data: dict[str, Value]
    prev: str = Field(pattern=_HEX64)
    hash: str = Field(pattern=_HEX64)

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.time)


def canonical(body: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same record always hashes the same."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(prev: str, body: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the record (without prev, hash)."""
    return hashlib.sha256(prev.encode("ascii") + canonical(body)).hexdigest()


def body_of(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in ("prev", "hash")}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _check_text(key: str, value: str) -> None:
    if len(value) > MAX_TEXT:
        raise AuditError(f"audit value {key!r} is longer than {MAX_TEXT} characters")
    if key not in _UNCHECKED and _NIK_SHAPED.search(value):
        # Defence in depth: the API refuses NIK-shaped ids earlier; the trail never takes one.
        raise AuditError(f"audit value {key!r} looks like a NIK; it is never recorded")


def recordable(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`data` without the values the trail refuses (too long, NIK-shaped, not a scalar), and
    the keys left out: an attempt is recorded with them missing rather than not at all."""
    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in data.items():
        try:
            checked({key: value})
        except AuditError:
            left_out.append(key)
            kept[key] = None
        else:
            kept[key] = value
    return kept, left_out


def checked(data: Mapping[str, Any]) -> dict[str, Value]:
    """Flat scalars and lists of short names only; anything NIK-shaped is refused."""
    out: dict[str, Value] = {}
    for key, value in data.items():
        if isinstance(value, list | tuple):
            names = [str(item) for item in value]
            for name in names:
                _check_text(key, name)
            out[key] = names
        elif value is None or isinstance(value, bool | int | float):
            out[key] = value
        elif isinstance(value, str):
            _check_text(key, value)
            out[key] = value
        else:
            raise AuditError(f"audit value {key!r} is a {type(value).__name__}, not a scalar")
    return out


def seal(
    seq: int, kind: Kind, data: Mapping[str, Any], prev: str, time: str | None = None
) -> Record:
    """The next record after `prev`, with its hash."""
    body: dict[str, Any] = {
        "seq": seq, "time": time or now(), "kind": kind.value, "data": checked(data),
    }  # fmt: skip
    return Record.model_validate({**body, "prev": prev, "hash": record_hash(prev, body)})


def seal_all(
    entries: Sequence[tuple[Kind, Mapping[str, Any]]], seq: int, prev: str, time: str | None = None
) -> list[Record | AuditError]:
    """Seal each entry in order after (`seq`, `prev`); one the trail refuses gets its AuditError
    and takes no sequence number, so the sealed records still chain without a gap."""
    results: list[Record | AuditError] = []
    for kind, data in entries:
        try:
            record = seal(seq + 1, kind, data, prev, time)
        except AuditError as exc:
            results.append(exc)
            continue
        seq, prev = record.seq, record.hash
        results.append(record)
    return results


def line_of(record: Record) -> bytes:
    return canonical(record.model_dump(mode="json")) + b"\n"

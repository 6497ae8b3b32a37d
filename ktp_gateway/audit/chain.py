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
_PREV = re.compile(r"[0-9a-f]{64}\Z")
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


def _check_names(key: str, names: list[str]) -> None:
    """`_check_text` for each name, with one search: a line break is no digit, so a NIK-shaped
    run found in the joined text lies within one name."""
    if names and max(map(len, names)) > MAX_TEXT:
        raise AuditError(f"audit value {key!r} is longer than {MAX_TEXT} characters")
    if key not in _UNCHECKED and _NIK_SHAPED.search("\n".join(names)):
        raise AuditError(f"audit value {key!r} looks like a NIK; it is never recorded")


def _checked_value(key: str, value: Any) -> Value:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        _check_text(key, value)
        return value
    if isinstance(value, list | tuple):
        names = [str(item) for item in value]
        _check_names(key, names)
        return names
    raise AuditError(f"audit value {key!r} is a {type(value).__name__}, not a scalar")


def recordable(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`data` without the values the trail refuses (too long, NIK-shaped, not a scalar), and
    the keys left out: an attempt is recorded with them missing rather than not at all."""
    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in data.items():
        try:
            kept[key] = _checked_value(key, value)
        except AuditError:
            left_out.append(key)
            kept[key] = None
    return kept, left_out


def checked(data: Mapping[str, Any]) -> dict[str, Value]:
    """Flat scalars and lists of short names only; anything NIK-shaped is refused."""
    out: dict[str, Value] = {}
    for key, value in data.items():
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is float:
            out[key] = value  # the common cases inline: this runs for every key of every record
        elif (
            kind is str
            and len(value) <= MAX_TEXT
            and (key in _UNCHECKED or not _NIK_SHAPED.search(value))
        ):
            out[key] = value
        else:
            out[key] = _checked_value(key, value)
    return out


def seal(
    seq: int, kind: Kind, data: Mapping[str, Any], prev: str, time: str | None = None
) -> Record:
    """The next record after `prev`, with its hash.

    Built without validation: each field is made here (the data checked, the hash computed),
    and `prev` is checked once by `seal_all`; a validating round trip cost a fifth of the
    writer's time per record.
    """
    body: dict[str, Any] = {
        "seq": seq, "time": time or now(), "kind": kind.value, "data": checked(data),
    }  # fmt: skip
    return Record.model_construct(
        seq=seq, time=body["time"], kind=kind, data=body["data"], prev=prev,
        hash=record_hash(prev, body),
    )  # fmt: skip


def seal_all(
    entries: Sequence[tuple[Kind, Mapping[str, Any]]], seq: int, prev: str, time: str | None = None
) -> list[Record | AuditError]:
    """Seal each entry in order after (`seq`, `prev`); one the trail refuses gets its AuditError
    and takes no sequence number, so the sealed records still chain without a gap."""
    if seq < 0 or not _PREV.match(prev):
        raise AuditError("the trail's tail is not a record's sequence number and hash")
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
    """The record as its line: the canonical JSON of its fields (what `Record` reads back)."""
    fields = {
        "seq": record.seq, "time": record.time, "kind": record.kind.value,
        "data": record.data, "prev": record.prev, "hash": record.hash,
    }  # fmt: skip
    return canonical(fields) + b"\n"

"""A desk's reading, signed by the desk key over the access point's nonce for that tap.

The statement names the tap, the nonce, the desk, the reader, the SAM, what the desk checked
(card authenticated through the SAM, who verified the issuer signature), when, and a digest of
the released data it carries. The access point checks all of it before the NIK goes anywhere:
a reading for another tap or nonce (replayed), too old or from the future (late), naming or
signed by another desk (foreign), or whose data does not match its digest or whose signature
does not verify (tampered) is refused with its own code. This proves that an enrolled desk
asserted the reading, not that the card is genuine: that is the desk's SAM check (docs/desks.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from ktp_gateway.desks.frames import Reading, ReadingPayload, ReadingStatement
from ktp_gateway.errors import DeskError, ErrorCode

SKEW_SECONDS = 30.0  # how far a desk's clock may be from the access point's for a reading


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces (what is signed and digested)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(payload: ReadingPayload) -> str:
    return hashlib.sha256(canonical(payload.model_dump(mode="json"))).hexdigest()


def sign(statement: ReadingStatement, key: ec.EllipticCurvePrivateKey) -> str:
    """The desk's signature over the statement (ECDSA P-256, SHA-256), base64."""
    raw = key.sign(canonical(statement.model_dump(mode="json")), ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode()


def _refuse(detail: str, code: ErrorCode) -> DeskError:
    return DeskError(detail, code=code)


def check(
    reading: Reading,
    *,
    desk: str,
    nonce: str,
    key: CertificatePublicKeyTypes,
    now: dt.datetime,
) -> None:
    """Accept the reading for this desk's tap with `nonce`, or refuse it with its code."""
    statement = reading.statement
    if statement.tap != reading.tap or statement.nonce != nonce:
        raise _refuse("the reading answers another tap", ErrorCode.DESK_READING_REPLAYED)
    if statement.desk != desk:
        raise _refuse("the reading names another desk", ErrorCode.DESK_READING_FOREIGN)
    if abs((now - statement.read_at).total_seconds()) > SKEW_SECONDS:
        raise _refuse("the reading is outside the allowed clock skew", ErrorCode.DESK_READING_LATE)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _refuse("the desk key is not an EC key", ErrorCode.DESK_READING_FOREIGN)
    try:
        signature = base64.b64decode(reading.signature, validate=True)
        key.verify(
            signature, canonical(statement.model_dump(mode="json")), ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError):
        raise _refuse(
            "the reading's signature does not verify with this desk's key",
            ErrorCode.DESK_READING_TAMPERED,
        ) from None
    if statement.digest != digest(reading.payload):
        raise _refuse(
            "the reading's data does not match its digest", ErrorCode.DESK_READING_TAMPERED
        )

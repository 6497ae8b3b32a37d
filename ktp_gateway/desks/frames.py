"""The frames desks and the access point exchange: one JSON object per WebSocket text message.

Every frame is parsed into its model or refused as a whole (unknown type, extra keys, wrong
types, oversized strings): a desk's frame is input from another machine, never trusted as is.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ktp_gateway.domain import GrantedField, HolderAsk, HolderCheck, PersonData
from ktp_gateway.errors import DeskError, ErrorCode

MAX_READERS = 16  # reader pairs one desk may report; more is a broken or hostile agent
Name = Annotated[str, Field(min_length=1, max_length=128)]
Pem = Annotated[str, Field(min_length=1, max_length=16 * 1024)]
TapId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{2,64}$")]
PHOTO_BASE64_MAX = 256 * 1024  # a KTP-el photo is a few kB of JPEG


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# enrolment (on the channel's /enrol path, before the desk has a certificate)
class EnrolRequest(_Frame):
    type: Literal["enrol"] = "enrol"
    code: Annotated[str, Field(min_length=1, max_length=64)]
    csr: Pem  # the desk's key stays on the desk: only its signing request travels


class Enrolled(_Frame):
    type: Literal["enrolled"] = "enrolled"
    desk: Name
    certificate: Pem
    ca_certificate: Pem


class Refused(_Frame):
    """The other side refused the last frame or the connection; `code` is an ErrorCode value."""

    type: Literal["refused"] = "refused"
    code: Annotated[str, Field(max_length=64)]
    detail: Annotated[str, Field(max_length=512)]


# the channel (on /channel, mutual TLS with the desk's certificate)
class DeskReader(_Frame):
    """One reader pair at a desk as the desk reports it: state, never a serial or card data."""

    name: Name
    family: Literal["pcsc", "integrated"] = "pcsc"
    holder_checks: Annotated[list[Literal["fingerprint"]], Field(max_length=1)] = []
    profile: Name
    card_present: bool
    sam_present: bool
    sam_state: Literal["absent", "present", "open", "error"]
    busy: bool
    last_error: Annotated[str | None, Field(max_length=64)] = None
    activation_state: Annotated[str | None, Field(max_length=32)] = None
    activation_days_left: float | None = None


class Hello(_Frame):
    type: Literal["hello"] = "hello"
    version: Annotated[str, Field(max_length=32)]
    readers: Annotated[list[DeskReader], Field(max_length=MAX_READERS)]


class DeskStatus(_Frame):
    """The desk's readers now: sent on every reader event and as the heartbeat."""

    type: Literal["status"] = "status"
    readers: Annotated[list[DeskReader], Field(max_length=MAX_READERS)]


class DeskEvent(_Frame):
    """A reader or card event at the desk (its PC/SC monitor), for the access point's SSE."""

    type: Literal["event"] = "event"
    kind: Literal["reader_attached", "card_inserted", "card_removed", "reader_detached"]
    reader: Name
    seq: Annotated[int, Field(ge=0)]


class Welcome(_Frame):
    type: Literal["welcome"] = "welcome"
    desk: Name
    heartbeat_seconds: float
    certificate_not_after: dt.datetime
    renew_before_days: float


class RenewRequest(_Frame):
    type: Literal["renew"] = "renew"
    csr: Pem


class Renewed(_Frame):
    type: Literal["renewed"] = "renewed"
    certificate: Pem


# taps
class TapRequest(_Frame):
    """Read the card on `reader` (any free one if None) for the tap with this fresh nonce."""

    type: Literal["tap"] = "tap"
    tap: TapId
    nonce: Annotated[str, Field(min_length=16, max_length=64)]
    reader: Name | None = None
    wait_seconds: Annotated[float, Field(ge=0, le=600)]
    fields: Annotated[list[GrantedField], Field(max_length=len(GrantedField))]  # least data
    photo: bool = False
    holder: HolderAsk | None = None  # a holder check to run (an integrated reader's finger)


class CancelTap(_Frame):
    type: Literal["cancel"] = "cancel"
    tap: TapId


class ReadingPayload(_Frame):
    """The released data of one card: only the fields (and photo) the tap asked for."""

    person: PersonData
    photo: Annotated[str | None, Field(max_length=PHOTO_BASE64_MAX)] = None


class ReadingStatement(_Frame):
    """What the desk asserts and signs (readings.py)."""

    tap: TapId
    nonce: Annotated[str, Field(min_length=16, max_length=64)]
    desk: Name
    reader: Name
    sam_serial: Hex
    card_authenticated: Literal[True]
    signature_checks: Annotated[list[Literal["sam", "host", "device"]], Field(max_length=3)]
    read_at: dt.datetime
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    holder: HolderCheck | None = None  # the device's word on the holder, signed with the rest


class Reading(_Frame):
    type: Literal["reading"] = "reading"
    tap: TapId
    statement: ReadingStatement
    payload: ReadingPayload
    signature: Annotated[str, Field(min_length=8, max_length=256)]
    seconds: Annotated[float, Field(ge=0, le=3600)]
    waited_seconds: Annotated[float, Field(ge=0, le=3600)]
    card_apdus: Annotated[int, Field(ge=0, le=100_000)]
    sam_apdus: Annotated[int, Field(ge=0, le=100_000)]


class TapFailed(_Frame):
    type: Literal["tap_failed"] = "tap_failed"
    tap: TapId
    code: Annotated[str, Field(max_length=64)]
    detail: Annotated[str, Field(max_length=512)]


FromDeskFrame = Hello | DeskStatus | DeskEvent | RenewRequest | Reading | TapFailed
FromDesk = Annotated[
    Hello | DeskStatus | DeskEvent | RenewRequest | Reading | TapFailed, Field(discriminator="type")
]
ToDesk = Annotated[
    Welcome | Renewed | Refused | TapRequest | CancelTap, Field(discriminator="type")
]
_from_desk: TypeAdapter[FromDeskFrame] = TypeAdapter(FromDesk)
_to_desk: TypeAdapter[Welcome | Renewed | Refused | TapRequest | CancelTap] = TypeAdapter(ToDesk)
_enrol_answer: TypeAdapter[Enrolled | Refused] = TypeAdapter(
    Annotated[Enrolled | Refused, Field(discriminator="type")]
)


def error_code(value: str) -> ErrorCode:
    """The code a `refused` frame names; one this side does not know is `desk_unavailable`."""
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.DESK_UNAVAILABLE


def _refused_frame(exc: ValidationError) -> DeskError:
    # The error names the failing places, never the values (a frame may carry personal data).
    places = ", ".join(".".join(str(p) for p in e["loc"]) or "frame" for e in exc.errors()[:3])
    return DeskError(f"a malformed frame ({places})", code=ErrorCode.DESK_FRAME_INVALID)


def parse_from_desk(text: str | bytes) -> FromDeskFrame:
    """A desk's frame, or `desk_frame_invalid`."""
    try:
        return _from_desk.validate_json(text)
    except ValidationError as exc:
        raise _refused_frame(exc) from None


def parse_to_desk(text: str | bytes) -> Welcome | Renewed | Refused | TapRequest | CancelTap:
    """The access point's frame, or `desk_frame_invalid`."""
    try:
        return _to_desk.validate_json(text)
    except ValidationError as exc:
        raise _refused_frame(exc) from None


def parse_enrol_request(text: str | bytes) -> EnrolRequest:
    try:
        return EnrolRequest.model_validate_json(text)
    except ValidationError as exc:
        raise _refused_frame(exc) from None


def parse_enrol_answer(text: str | bytes) -> Enrolled | Refused:
    try:
        return _enrol_answer.validate_json(text)
    except ValidationError as exc:
        raise _refused_frame(exc) from None

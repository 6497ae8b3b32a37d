"""The frames desks and the access point exchange: one JSON object per WebSocket text message.

Every frame is parsed into its model or refused as a whole (unknown type, extra keys, wrong
types, oversized strings): a desk's frame is input from another machine, never trusted as is.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ktp_gateway.errors import DeskError, ErrorCode

MAX_READERS = 16  # reader pairs one desk may report; more is a broken or hostile agent
Name = Annotated[str, Field(min_length=1, max_length=128)]
Pem = Annotated[str, Field(min_length=1, max_length=16 * 1024)]


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
    family: Literal["pcsc"] = "pcsc"
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


FromDesk = Annotated[Hello | DeskStatus | RenewRequest, Field(discriminator="type")]
ToDesk = Annotated[Welcome | Renewed | Refused, Field(discriminator="type")]
_from_desk: TypeAdapter[Hello | DeskStatus | RenewRequest] = TypeAdapter(FromDesk)
_to_desk: TypeAdapter[Welcome | Renewed | Refused] = TypeAdapter(ToDesk)
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


def parse_from_desk(text: str | bytes) -> Hello | DeskStatus | RenewRequest:
    """A desk's frame, or `desk_frame_invalid`."""
    try:
        return _from_desk.validate_json(text)
    except ValidationError as exc:
        raise _refused_frame(exc) from None


def parse_to_desk(text: str | bytes) -> Welcome | Renewed | Refused:
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

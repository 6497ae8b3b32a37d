"""One integrated reader, spoken to through its profile: identify, open, read, match, close.

Each call writes one command and waits for the answer with the expected header, within the
command's time budget from the profile (for put, finger and demography: the caller's timeout plus
the profile's extra). An answer for another command (a late one) is skipped; a vendor error code
becomes its typed error; silence is `reader_not_responding`, a half frame then silence
`reader_frame_invalid`. The demography leaves this module as `PersonData` with the granted fields
only: whatever else the device sends is dropped here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ktp_gateway.domain import Address, GrantedField, PersonData
from ktp_gateway.errors import CardError, ErrorCode, ReaderError
from ktp_gateway.reader.serial.frames import DeviceAnswer, FrameCutter, encode
from ktp_gateway.specs.integrated import Command, IntegratedReaderProfile

_VENDOR_CODES = {
    "no_device": ErrorCode.READER_NOT_FOUND,
    "receive_timeout": ErrorCode.READER_NOT_RESPONDING,
    "device_not_open": ErrorCode.READER_UNAVAILABLE,
    "other": ErrorCode.READER_UNAVAILABLE,
}
_SLICE = 0.05  # seconds per read: how fast a deadline is noticed


class Port(Protocol):
    """What the session needs of a serial port (port.SerialPort is one)."""

    def write(self, data: bytes) -> None: ...

    def read_some(self, timeout: float) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    hardware_id: str
    serial: str
    firmware: str


class IntegratedDevice:
    """A session with one integrated reader on an open port."""

    def __init__(
        self,
        port: Port,
        profile: IntegratedReaderProfile,
        *,
        cancel: threading.Event | None = None,
    ) -> None:
        self.port, self.profile = port, profile
        self.cancel = cancel  # set: the wait in progress ends within a read slice (`no_card`)
        self._cutter = FrameCutter(profile.framing)
        self.skipped = 0  # answers for another command (late ones), dropped

    def _deadline_for(self, command: Command, timeout: float | None) -> float:
        budget = command.timeout_seconds if timeout is None else timeout + command.extra_seconds
        return time.monotonic() + budget

    def call(
        self, command: Command, *args: str | int | float, timeout: float | None = None
    ) -> DeviceAnswer:
        """Send `command` and return its answer (typed errors for anything else)."""
        self._cutter.reset()
        self.port.write(encode(self.profile.framing, command.name, *args))
        header = command.header or command.name
        deadline = self._deadline_for(command, timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self.cancel is not None and self.cancel.is_set():
                self._cutter.reset()
                raise ReaderError("the wait for the card was cancelled", code=ErrorCode.NO_CARD)
            for answer in self._cutter.feed(self.port.read_some(min(left, _SLICE))):
                if answer.header != header:
                    self.skipped += 1
                    continue
                self._vendor_error(answer)
                if command.ok is not None and answer.payload != command.ok:
                    raise ReaderError(
                        f"the reader refused {command.name}", code=ErrorCode.READER_UNAVAILABLE
                    )
                return answer
        if self._cutter.pending:
            self._cutter.reset()
            raise ReaderError(
                "the reader started an answer and fell silent", code=ErrorCode.READER_FRAME_INVALID
            )
        raise ReaderError("the reader did not answer", code=ErrorCode.READER_NOT_RESPONDING)

    def _vendor_error(self, answer: DeviceAnswer) -> None:
        try:
            value = int(answer.payload)
        except ValueError:
            return
        kind = self.profile.error_codes.get(value)
        if kind is not None:
            raise ReaderError(f"the reader reported {kind} ({value})", code=_VENDOR_CODES[kind])

    # -- the functions ---------------------------------------------------------------------
    def identify(self) -> str:
        """The model the reader names (discovery); one the profile does not know is refused."""
        model = self.call(self.profile.commands.ack).payload
        if model not in self.profile.models:
            raise ReaderError(
                "the device is not a reader of this profile", code=ErrorCode.READER_NOT_FOUND
            )
        return model

    def open(self) -> None:
        self.call(self.profile.commands.open)

    def close(self) -> None:
        self.call(self.profile.commands.close)

    def info(self) -> DeviceInfo:
        fields = self.call(self.profile.commands.info).fields
        if len(fields) < 3:
            raise ReaderError(
                "the reader's info answer is short", code=ErrorCode.READER_FRAME_INVALID
            )
        return DeviceInfo(hardware_id=fields[0], serial=fields[1], firmware=fields[2])

    def card_present(self) -> bool:
        """Whether a card is on the reader now (the poll's card code)."""
        poll = self.profile.poll
        codes = self.call(self.profile.commands.poll).payload.split(poll.separator)
        if len(codes) <= poll.card_index:
            raise ReaderError(
                "the reader's poll answer is short", code=ErrorCode.READER_FRAME_INVALID
            )
        return codes[poll.card_index].strip() == poll.card_present

    def put_card(self, timeout: float, message: str) -> tuple[int, ...]:
        """Wait for a card; its enrolled finger codes (read from the card, never assumed; none
        when the device cannot read them: the card is still read, the finger cannot be matched)."""
        answer = self.call(self.profile.commands.put, int(timeout), message, timeout=timeout)
        if len(answer.fields) == 1 and answer.payload.startswith("-"):
            raise ReaderError("no card was placed in time", code=ErrorCode.NO_CARD)
        codes = []
        for field in answer.fields:
            if field.isdigit() and int(field) in self.profile.fingers:
                codes.append(int(field))
        return tuple(codes)

    def verify_finger(
        self, timeout: float, finger: int, officer_id: str, officer_nik: str, message: str
    ) -> bool:
        """The device's yes or no for the holder's finger (no score, no template)."""
        answer = self.call(
            self.profile.commands.finger,
            int(timeout), finger, officer_id, officer_nik, message,
            timeout=timeout,
        )  # fmt: skip
        return answer.payload == self.profile.match

    def demography(self, timeout: float, officer_id: str, officer_nik: str) -> PersonData:
        """The card's data, granted fields only."""
        answer = self.call(
            self.profile.commands.demography, int(timeout), officer_id, officer_nik, timeout=timeout
        )
        try:
            values = self.profile.profile_fields(answer.payload)
        except ValueError:
            raise CardError(
                "the reader's demography has another shape than its profile",
                code=ErrorCode.CARD_DATA_INVALID,
            ) from None
        return self._person(values)

    def display(self, message: str) -> None:
        self.call(self.profile.commands.display, message)

    def _person(self, values: dict[str, str]) -> PersonData:
        demography = self.profile.demography
        granted: dict[str, object] = {}
        for name, field in demography.granted.items():
            if field is GrantedField.ALAMAT:
                continue
            value = values.get(name) or None
            if field is GrantedField.TANGGAL_LAHIR and value is not None:
                try:
                    granted[field.value] = dt.datetime.strptime(
                        value, demography.date_format
                    ).date()
                except ValueError:
                    raise CardError(
                        "the reader's birth date does not parse", code=ErrorCode.CARD_DATA_INVALID
                    ) from None
            else:
                granted[field.value] = value
        if GrantedField.ALAMAT in demography.granted.values():
            parts = {part: values.get(name) or None for name, part in demography.address.items()}
            granted["alamat"] = Address.model_validate(parts)
        try:
            return PersonData.model_validate(granted)
        except ValueError:
            raise CardError(
                "the reader's demography does not fit the card data model",
                code=ErrorCode.CARD_DATA_INVALID,
            ) from None

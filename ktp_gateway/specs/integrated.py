"""The profile of an integrated KTP-el reader: one that runs the card session, the SAM relay and
the fingerprint match inside the device and speaks a vendor text protocol over a serial port.

Every wire detail is a profile value (framing, command names, answer headers, timeouts, the
demography's order and separator, finger codes, error codes), so a vendor's variant is a new
file in firmware_specs/readers/. Each profile says where its values come from (`evidence`) and
which of them are assumed rather than seen (`assumed`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ktp_gateway.domain import GrantedField

Token = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SerialLine(_Part):
    """How the port is opened (a USB virtual COM port)."""

    baud: int = Field(default=115200, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    port_patterns: list[str] = ["/dev/ttyACM*", "/dev/ttyUSB*"]  # where discovery looks


class Framing(_Part):
    """Commands are `name#arg#...#;`, answers `$header#payload...;` (a `#` before `;` allowed)."""

    separator: str = Field(default="#", min_length=1, max_length=1)
    command_end: str = Field(default=";", min_length=1, max_length=1)
    command_trailer: str = Field(default="\x00", max_length=1)  # written after each command
    answer_start: str = Field(default="$", min_length=1, max_length=1)
    answer_end: str = Field(default=";", min_length=1, max_length=1)
    max_answer_bytes: int = Field(default=4096, ge=64, le=65536)  # more is a broken device
    encoding: Literal["ascii", "latin-1"] = "ascii"

    @model_validator(mode="after")
    def _distinct(self) -> Framing:
        marks = [self.separator, self.command_end, self.answer_start]
        if len(set(marks)) != len(marks) or self.answer_end == self.separator:
            raise ValueError("separator, ends and answer start must be distinct characters")
        return self


class Command(_Part):
    """One vendor command: its name on the wire, the header its answer carries, how long the
    device may take (for put, finger and demography: the request's timeout plus `extra`)."""

    name: Token
    header: Token | None = None  # None: the answer's header is the command name
    ok: str | None = None  # the payload that means success (open, close: "0")
    timeout_seconds: float = Field(default=2.0, gt=0, le=120)
    extra_seconds: float = Field(default=1.0, ge=0, le=30)


class Commands(_Part):
    ack: Command
    open: Command
    close: Command
    info: Command
    put: Command
    poll: Command
    finger: Command
    demography: Command
    log: Command
    display: Command


class PollAnswer(_Part):
    """The poll answer: status codes joined by `separator`; the one at `card_index` says whether
    a card is on the reader (`card_present`). Poll is how card placed and removed are seen."""

    separator: str = Field(default=",", min_length=1, max_length=1)
    card_index: int = Field(default=1, ge=0, le=15)
    card_present: str = "1"


class Demography(_Part):
    """The card's data as the device answers it: fields in order, joined by `separator`."""

    separator: str = Field(default=",", min_length=1, max_length=1)
    fields: list[Token] = Field(min_length=1, max_length=40)
    # Which of the device's fields are granted fields; everything else is dropped in the driver.
    granted: dict[Token, GrantedField]
    # The address parts the device gives separately, to the granted `alamat`'s parts.
    address: dict[Token, Literal["alamat", "rt", "rw", "kelurahan", "kecamatan", "kabupaten",
                                 "provinsi"]] = {}  # fmt: skip
    date_format: str = "%d-%m-%Y"

    @model_validator(mode="after")
    def _known_fields(self) -> Demography:
        unknown = (set(self.granted) | set(self.address)) - set(self.fields)
        if unknown:
            raise ValueError(f"granted or address names not in fields: {sorted(unknown)}")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError("a demography field is listed twice")
        return self


class IntegratedReaderProfile(_Part):
    """An integrated reader model (docs/integrated-readers.md)."""

    kind: Literal["integrated_reader"]
    id: str
    name: str
    evidence: str = Field(min_length=1)  # where the values come from
    assumed: list[str] = []  # which values are assumed, not seen (dotted paths)
    models: list[str] = Field(min_length=1)  # what the ack answer names (discovery)
    serial: SerialLine = SerialLine()
    framing: Framing = Framing()
    commands: Commands
    poll: PollAnswer = PollAnswer()
    match: str = "Y"  # the finger answer's payload for a match; anything else is no match
    fingers: dict[int, str]  # the device's finger codes
    error_codes: dict[int, Literal["no_device", "receive_timeout", "device_not_open", "other"]]
    demography: Demography
    test_only: bool = False  # an emulator

    def profile_fields(self, payload: str) -> dict[str, str]:
        """The demography answer split into the profile's named fields (too few or too many:
        a card or device this profile does not describe)."""
        values = payload.split(self.demography.separator)
        if len(values) != len(self.demography.fields):
            expected = len(self.demography.fields)
            raise ValueError(f"the demography has {len(values)} fields, the profile {expected}")
        return dict(zip(self.demography.fields, (v.strip() for v in values), strict=True))

    @field_validator("fingers")
    @classmethod
    def _finger_codes(cls, fingers: dict[int, str]) -> dict[int, str]:
        if not fingers or any(code < 0 or code > 99 for code in fingers):
            raise ValueError("finger codes are 0-99")
        return fingers

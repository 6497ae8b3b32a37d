"""Load and validate `firmware_specs/`: the card, SAM and reader profiles the driver layer obeys.

Everything that a new reader model, card generation or SAM firmware could change (file ids,
instruction bytes, chunk sizes, the biodata layout, ATR patterns, slot pairing) is read from
these files, so supporting one is a spec edit, not a code change.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ktp_gateway.errors import ConfigurationError

DEFAULT_SPECS_DIR = Path(__file__).resolve().parent.parent / "firmware_specs"


def _hex(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a hex string")
    return bytes.fromhex(value.replace(" ", ""))


HexBytes = Annotated[bytes, BeforeValidator(_hex)]
Byte = Annotated[int, Field(ge=0, le=0xFF)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AtrPattern(_Spec):
    """An ATR that identifies a card or SAM; mask bits set to 0 are ignored."""

    name: str
    value: HexBytes
    mask: HexBytes | None = None

    def matches(self, atr: bytes) -> bool:
        mask = self.mask or b"\xff" * len(self.value)
        if len(atr) != len(self.value):
            return False
        return all((a & m) == (v & m) for a, v, m in zip(atr, self.value, mask, strict=True))


class CommandHeader(_Spec):
    cla: Byte
    ins: Byte
    p1: Byte = 0
    p2: Byte = 0
    le: int | None = None


class Access(StrEnum):
    PLAIN = "plain"
    SECURE_MESSAGING = "secure_messaging"


class FileSpec(_Spec):
    fid: HexBytes
    access: Access


class ReadSpec(_Spec):
    length_prefix: Literal[2]
    first_read: int = Field(gt=0, multiple_of=8)
    chunk: int = Field(gt=0, le=256, multiple_of=8)
    card_control_lengths: list[int]


class BiodataSpec(_Spec):
    encoding: str
    delimiter: str = Field(min_length=1)
    date_format: str
    fields: dict[int, str]


class CardCommands(_Spec):
    select: CommandHeader
    read_binary: CommandHeader
    get_challenge: CommandHeader
    external_authenticate: CommandHeader


class UidSpec(_Spec):
    type_a_command: HexBytes
    prefix: HexBytes


class ApplicationSpec(_Spec):
    df: HexBytes


class CardProfile(_Spec):
    """A card application (e.g. the KTP-el): where its data is and how to read it."""

    kind: Literal["card"]
    id: str
    name: str
    atrs: list[AtrPattern]
    uid: UidSpec
    application: ApplicationSpec
    commands: CardCommands
    files: dict[str, FileSpec]
    read: ReadSpec
    biodata: BiodataSpec
    signed_files: list[str]

    @model_validator(mode="after")
    def _known_files(self) -> CardProfile:
        required = {"card_control", "biodata", "photo", "digital_signature"}
        missing = required - self.files.keys() | (set(self.signed_files) - self.files.keys())
        if missing:
            raise ValueError(f"card profile lacks files: {sorted(missing)}")
        return self

    def matches_atr(self, atr: bytes) -> bool:
        return any(pattern.matches(atr) for pattern in self.atrs)


class SamInstructions(_Spec):
    open: Byte
    reset: Byte
    authenticate: Byte
    verify: Byte
    wrap: Byte
    unwrap: Byte
    signature: Byte


class SignatureSteps(_Spec):
    start: Byte
    load_signature: Byte
    feed: Byte
    decipher: Byte
    stop: Byte
    verify: Byte


class ActivationLayout(_Spec):
    pcid_length: int
    conf_length: int
    open_data: Literal["pcid_xor_conf"]


class SamProfile(_Spec):
    """A SAM application: the instruction bytes of the relay and its activation layout."""

    kind: Literal["sam"]
    id: str
    name: str
    atrs: list[AtrPattern]
    cla: Byte
    instructions: SamInstructions
    authenticate_p2: dict[int, Byte]
    cryptogram_length: int
    signature_steps: SignatureSteps
    signature_feed_chunk: int = Field(gt=0, le=255)
    activation: ActivationLayout
    status_words: dict[str, str]

    def matches_atr(self, atr: bytes) -> bool:
        return any(pattern.matches(atr) for pattern in self.atrs)


class ReaderProfile(_Spec):
    """A reader model: which PC/SC names are its card slot and SAM slot, and what it serves."""

    kind: Literal["reader"]
    id: str
    name: str
    card_profile: str
    sam_profile: str
    card_slot: str
    sam_slot: str
    escape_commands: dict[str, HexBytes] = {}

    @model_validator(mode="after")
    def _pattern_compiles(self) -> ReaderProfile:
        if "unit" not in re.compile(self.card_slot).groupindex:
            raise ValueError("card_slot needs a named group 'unit' to pair the SAM slot")
        return self

    def sam_slot_for(self, card_reader_name: str) -> str | None:
        """The SAM slot's reader name paired with a card slot, or None if it is not a card slot."""
        match = re.match(self.card_slot, card_reader_name)
        return self.sam_slot.format(unit=match["unit"]) if match else None


class Specs(_Spec):
    """Every profile found under one specs folder, by id."""

    cards: dict[str, CardProfile]
    sams: dict[str, SamProfile]
    readers: dict[str, ReaderProfile]

    @model_validator(mode="after")
    def _references_resolve(self) -> Specs:
        for reader in self.readers.values():
            if reader.card_profile not in self.cards or reader.sam_profile not in self.sams:
                raise ValueError(f"reader profile {reader.id!r} names an unknown card or SAM")
        return self

    def card_for(self, reader: ReaderProfile) -> CardProfile:
        return self.cards[reader.card_profile]

    def sam_for(self, reader: ReaderProfile) -> SamProfile:
        return self.sams[reader.sam_profile]


def _load_folder(folder: Path) -> dict[str, Any]:
    profiles: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        profiles[str(data.get("id", path.stem))] = data
    return profiles


@cache
def load_specs(folder: Path = DEFAULT_SPECS_DIR) -> Specs:
    """Load every profile under `folder`; a broken file stops start-up with a clear error."""
    try:
        return Specs.model_validate(
            {
                "cards": _load_folder(folder / "cards"),
                "sams": _load_folder(folder / "sams"),
                "readers": _load_folder(folder / "readers"),
            }
        )
    except (ValidationError, OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"firmware specs in {folder} are invalid: {exc}") from exc

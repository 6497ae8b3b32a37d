"""Load and validate `firmware_specs/`: the card, SAM and reader profiles the driver layer obeys.

Everything that a new reader model, card generation or SAM firmware could change (file ids,
instruction bytes, chunk sizes, the biodata layout, ATR patterns, slot pairing) is read from
these files, so supporting one is a spec edit, not a code change.
"""

from __future__ import annotations

import codecs
import re
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.specs.files import SpecFileError, SpecProblem, dotted, line_of, read_spec_file
from ktp_gateway.specs.integrated import IntegratedReaderProfile
from ktp_gateway.specs.keys import PublicKeyRef

DEFAULT_SPECS_DIR = Path(__file__).resolve().parents[2] / "firmware_specs"


def _hex(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a hex string")
    try:
        return bytes.fromhex(value.replace(" ", ""))
    except ValueError:
        raise ValueError('expected pairs of hex digits, e.g. "7F0A"') from None


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


class FileAccess(StrEnum):
    PLAIN = "plain"
    SECURE_MESSAGING = "secure_messaging"


class FileSpec(_Spec):
    fid: Annotated[HexBytes, Field(min_length=2, max_length=2)]
    access: FileAccess
    # The most bytes this EF may state (below read.max_file_length); more is the card's fault,
    # refused before the bytes reach the SAM (the signature EF is one APDU to the SAM).
    max_length: int | None = Field(default=None, gt=0, le=0x7FFF - 2)


class ReadSpec(_Spec):
    length_prefix: Literal[2]
    first_read: int = Field(gt=0, le=256, multiple_of=8)
    chunk: int = Field(gt=0, le=256, multiple_of=8)
    card_control_lengths: list[int]
    # A stated length above this is refused before reading on (a KTP-el has about 8 KB in all):
    # a corrupt or hostile length prefix is an error, not a long read loop.
    max_file_length: int = Field(default=16384, gt=0, le=0x7FFF - 2)


class BiodataSpec(_Spec):
    encoding: str
    delimiter: str = Field(min_length=1)
    date_format: str
    fields: dict[Annotated[int, Field(ge=0, le=255)], str] = Field(min_length=1)

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown text encoding {encoding!r}") from None
        return encoding

    @field_validator("fields")
    @classmethod
    def _nik_once(cls, fields: dict[int, str]) -> dict[int, str]:
        names = list(fields.values())
        if "nik" not in names:
            raise ValueError("the biodata layout needs a 'nik' field")
        if len(set(names)) != len(names):
            raise ValueError("a field name appears at two indices")
        return fields


class SignatureSpec(_Spec):
    """How the card's data is signed, and the issuer keys the host checks it against."""

    algorithm: Literal["ecdsa-p256-sha256"]
    issuer_keys: list[PublicKeyRef] = []


class CardCommands(_Spec):
    select: CommandHeader
    read_binary: CommandHeader
    get_challenge: CommandHeader
    external_authenticate: CommandHeader


class UidSpec(_Spec):
    type_a_command: HexBytes
    prefix: HexBytes
    # ISO/IEC 14443-3 UIDs are 4, 7 or 10 bytes: a longer answer never reaches the SAM.
    max_length: int = Field(default=10, ge=4, le=10)


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
    signed_files: list[str] = Field(min_length=1)
    signature: SignatureSpec | None = None

    @model_validator(mode="after")
    def _known_files(self) -> CardProfile:
        required = {"card_control", "biodata", "photo", "digital_signature"}
        missing = required - self.files.keys() | (set(self.signed_files) - self.files.keys())
        if missing:
            raise ValueError(f"card profile lacks files: {sorted(missing)}")
        if "digital_signature" in self.signed_files:
            raise ValueError("the digital signature cannot sign itself")
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
    serial: Byte  # the SAM's serial number, asked before opening (binds the activation record)


class SignatureSteps(_Spec):
    start: Byte
    load_signature: Byte
    feed: Byte
    decipher: Byte
    stop: Byte
    verify: Byte


class ActivationLayout(_Spec):
    pcid_length: int = Field(gt=0, le=64)
    conf_length: int = Field(gt=0, le=128)
    open_data: Literal["pcid_xor_conf"]
    # Keys Dukcapil signs activation records with (see docs/card-and-sam-trust.md).
    signer_keys: list[PublicKeyRef] = []

    @model_validator(mode="after")
    def _halves(self) -> ActivationLayout:
        if self.conf_length != 2 * self.pcid_length:
            raise ValueError("pcid_xor_conf needs CONF twice as long as PCID")
        return self


class SamProfile(_Spec):
    """A SAM application: the instruction bytes of the relay and its activation layout."""

    kind: Literal["sam"]
    id: str
    name: str
    atrs: list[AtrPattern]
    cla: Byte
    instructions: SamInstructions
    authenticate_p2: dict[int, Byte]
    cryptogram_length: int = Field(gt=0, le=255)
    signature_steps: SignatureSteps
    signature_feed_chunk: int = Field(gt=0, le=255)
    serial_length: int = Field(default=8, gt=0, le=32)
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
    # An emulator, never production hardware: only such readers trust test-only keys.
    test_only: bool = False

    @field_validator("card_slot")
    @classmethod
    def _pattern_compiles(cls, card_slot: str) -> str:
        try:
            pattern = re.compile(card_slot)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if "unit" not in pattern.groupindex:
            raise ValueError("card_slot needs a named group 'unit' to pair the SAM slot")
        return card_slot

    @field_validator("sam_slot")
    @classmethod
    def _template_formats(cls, sam_slot: str) -> str:
        try:
            sam_slot.format(unit="unit")
        except (KeyError, IndexError, ValueError, AttributeError):
            raise ValueError("sam_slot may only use the placeholder {unit}") from None
        return sam_slot

    def unit_of(self, card_reader_name: str) -> str | None:
        """The physical reader's identity in a card slot's name (the `unit` group)."""
        match = re.match(self.card_slot, card_reader_name)
        return match["unit"] if match else None

    def sam_slot_for(self, card_reader_name: str) -> str | None:
        """The SAM slot's reader name paired with a card slot, or None if it is not a card slot."""
        unit = self.unit_of(card_reader_name)
        return None if unit is None else self.sam_slot.format(unit=unit)


class Specs(_Spec):
    """Every profile found under one specs folder, by id."""

    cards: dict[str, CardProfile]
    sams: dict[str, SamProfile]
    readers: dict[str, ReaderProfile]
    # Integrated readers (docs/integrated-readers.md): the second family, same folder.
    integrated: dict[str, IntegratedReaderProfile] = {}

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


Profile = CardProfile | SamProfile | ReaderProfile | IntegratedReaderProfile
_KINDS: dict[
    str,
    type[CardProfile] | type[SamProfile] | type[ReaderProfile] | type[IntegratedReaderProfile],
] = {
    "card": CardProfile,
    "sam": SamProfile,
    "reader": ReaderProfile,
    "integrated_reader": IntegratedReaderProfile,
}
# The kinds each folder holds: both reader families live in readers/.
FOLDERS = {"cards": ("card",), "sams": ("sam",), "readers": ("reader", "integrated_reader")}
MAX_PROBLEMS_PER_FILE = 50


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validate_profile_file(
    path: Path, *, name: str | None = None, expected_kind: tuple[str, ...] | None = None
) -> tuple[Profile | None, list[SpecProblem]]:
    """One profile file checked on its own: the profile, or every problem with its location."""
    label = name or str(path)
    try:
        data, node = read_spec_file(path, label)
    except SpecFileError as exc:
        return None, [exc.problem]
    kind = data.get("kind")
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        message = f"must be one of {', '.join(_KINDS)} (got {kind!r})"
        return None, [SpecProblem(label, "kind", message, line_of(node, ["kind"]))]
    if expected_kind is not None and kind not in expected_kind:
        message = f"a {kind} profile in the folder for {' and '.join(expected_kind)} profiles"
        return None, [SpecProblem(label, "kind", message, line_of(node, ["kind"]))]
    try:
        return model.model_validate(data, context={"base_dir": path.parent}), []
    except ValidationError as exc:
        return None, [
            SpecProblem(label, dotted(error["loc"]), _message(error), line_of(node, error["loc"]))
            for error in exc.errors()[:MAX_PROBLEMS_PER_FILE]
        ]


def _reference_problems(
    readers: dict[str, tuple[str, ReaderProfile]], specs: dict[str, Any]
) -> list[SpecProblem]:
    problems = []
    for label, reader in readers.values():
        if reader.card_profile not in specs["cards"]:
            problems.append(
                SpecProblem(
                    label, "card_profile", f"no card profile has id {reader.card_profile!r}"
                )
            )
        if reader.sam_profile not in specs["sams"]:
            problems.append(
                SpecProblem(label, "sam_profile", f"no SAM profile has id {reader.sam_profile!r}")
            )
    return problems


def check_specs(folder: Path) -> tuple[Specs | None, list[SpecProblem]]:
    """Every profile under `folder`, or every problem found in them (files and references)."""
    if not folder.is_dir():
        return None, [SpecProblem(str(folder), "", "not a folder of firmware specs")]
    problems: list[SpecProblem] = []
    found: dict[str, Any] = {sub: {} for sub in FOLDERS}
    readers: dict[str, tuple[str, ReaderProfile]] = {}
    integrated: dict[str, IntegratedReaderProfile] = {}
    for sub, kinds in FOLDERS.items():
        for path in sorted((folder / sub).glob("*.yaml")):
            label = f"{sub}/{path.name}"
            profile, file_problems = validate_profile_file(path, name=label, expected_kind=kinds)
            problems += file_problems
            if profile is None:
                continue
            if profile.id in found[sub] or profile.id in integrated:
                problems.append(
                    SpecProblem(label, "id", f"another profile here has id {profile.id!r}")
                )
                continue
            if isinstance(profile, IntegratedReaderProfile):
                integrated[profile.id] = profile
                continue
            found[sub][profile.id] = profile
            if isinstance(profile, ReaderProfile):
                readers[profile.id] = (label, profile)
    if not readers and not integrated and not problems:
        problems.append(SpecProblem(str(folder), "readers", "no reader profile"))
    problems += _reference_problems(readers, found)
    if problems:
        return None, problems
    specs = Specs(
        cards=found["cards"], sams=found["sams"], readers=found["readers"], integrated=integrated
    )
    return specs, []


def describe(problems: list[SpecProblem], limit: int = 20) -> str:
    """Problems one per line, for an error message or the CLI."""
    lines = [f"  {problem}" for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


@cache
def load_specs(folder: Path = DEFAULT_SPECS_DIR) -> Specs:
    """Load every profile under `folder`; a broken file stops start-up, saying where and why."""
    specs, problems = check_specs(folder)
    if specs is None:
        raise ConfigurationError(
            f"firmware specs in {folder} are invalid (`ktp-gateway spec check`):\n"
            + describe(problems)
        )
    return specs

"""What a virtual KTP-el chip holds: its identifiers and the contents of its elementary files.

File names, ids, the biodata field order, delimiter and date format and the list of signed files
come from the card profile (firmware_specs/cards/ktp-el.yaml). The CC layout, the synthetic
images and the identifier derivation are this project's choices (docs/virtual-stack.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway.specs import CardProfile
from ktp_gateway_dev.simulators.crypto import sign
from ktp_gateway_dev.simulators.keys import KEY_VERSION
from ktp_gateway_dev.simulators.population import Person, Record

UID_LENGTH = 7  # ISO 14443-3 type A double-size UID
SERIAL_LENGTH = 8
MAX_BODY = 0x7FFF - 2  # READ BINARY offsets are 15 bits; the 2-byte prefix comes first
# CC layout versions (byte 9 of the CC; project's choice)
CC_LAYOUT_LONG = 0x02
CC_LAYOUT_SHORT = 0x01
CC_LONG = 0x33
CC_SHORT = 0x1D
# EFs whose body length the CC lists, in this order (bytes 17..28)
CC_SIZE_TABLE = (
    "biodata",
    "photo",
    "signature_image",
    "minutiae_1",
    "minutiae_2",
    "digital_signature",
)
SIGNATURE_IMAGE_MARKER = b"SYNTHETIC KTP-EL SIGNATURE IMAGE (virtual card, not a real signature)\n"
SIGNATURE_IMAGE_LENGTH = 1024
MINUTIAE_LENGTHS = {"minutiae_1": 384, "minutiae_2": 416}
FILLER_LENGTH = 64  # body of any file the profile adds that this card does not know


@dataclass(frozen=True, slots=True)
class CardVariant:
    """How a virtual card departs from a genuine one (for tests and the demo's failure paths)."""

    clone: bool = False  # keys from a different master key: mutual authentication fails
    altered_biodata: Mapping[str, str] = field(default_factory=dict)  # changed after signing
    bad_signature: bool = False  # EF 6FF6 holds corrupted signature bytes
    card_control_length: int = CC_LONG  # 0x33 or 0x1D: which CC layout the chip carries
    forged_issuer: bool = False  # signed with a forger's key, not the issuer's: a forgery
    # Hostile or broken issuance: biodata values signed as they are (a malformed NIK the issuer
    # signed), and a signature EF of this many bytes instead of the signature (0: empty).
    signed_biodata: Mapping[str, str] = field(default_factory=dict)
    signature_length: int | None = None


@dataclass(frozen=True, slots=True, repr=False)
class CardImage:
    """A personalised chip: identifiers and every EF's content (2-byte length prefix + body)."""

    uid: bytes
    chip_serial: bytes
    key_version: int
    files: dict[str, bytes]

    def __repr__(self) -> str:
        return f"CardImage(files={sorted(self.files)})"


def _synthetic(label: str, nik: str, length: int) -> bytes:
    """Deterministic random-looking bytes per person (SHAKE-256 of a label and the NIK)."""
    return hashlib.shake_256(f"ktp-gateway virtual {label}|{nik}".encode()).digest(length)


def card_uid(nik: str) -> bytes:
    """The person's 7-byte UID (deterministic, so tests and logs are stable)."""
    return _synthetic("UID v1", nik, UID_LENGTH)


def chip_serial(nik: str) -> bytes:
    """The person's 8-byte chip serial, carried at the start of the CC."""
    return _synthetic("chip serial v1", nik, SERIAL_LENGTH)


def _date(value: str, date_format: str) -> str:
    try:
        return dt.date.fromisoformat(value).strftime(date_format)
    except ValueError:
        return value  # e.g. berlaku hingga "SEUMUR HIDUP"


def biodata_values(person: Person, profile: CardProfile) -> dict[str, str]:
    """The card's biodata fields by spec field name, from the person's card view."""
    record: Record = person.card_record()
    card = person.card
    if card is None:  # card_record() already refused; keeps mypy's narrowing
        raise LookupError(f"synthetic person {person.key!r} has no card")
    date_format = profile.biodata.date_format
    address = record.address
    return {
        "nik": record.nik,
        "alamat": address.alamat,
        "rt": address.no_rt,
        "rw": address.no_rw,
        "tempat_lahir": record.tmpt_lhr,
        "kecamatan": address.kec_name,
        "kelurahan": address.kel_name,
        "kabupaten": address.kab_name,
        "jenis_kelamin": record.jenis_klmin,
        "golongan_darah": record.gol_darah,
        "agama": record.agama,
        "status_perkawinan": record.status_kawin,
        "pekerjaan": record.jenis_pkrjn,
        "nama": record.nama_lgkp,
        "tanggal_lahir": _date(record.tgl_lhr, date_format),
        "provinsi": address.prop_name,
        "berlaku_hingga": _date(card.berlaku_hingga, date_format),
        "tempat_terbit": card.tempat_terbit,
        "tanggal_terbit": _date(card.tanggal_terbit, date_format),
        "kewarganegaraan": record.kewarganegaraan,
    }


def biodata_text(values: Mapping[str, str], profile: CardProfile) -> bytes:
    """Fields joined by the spec's delimiter in the spec's index order; gaps stay empty."""
    spec = profile.biodata
    slots = [""] * (max(spec.fields) + 1)
    for index, name in spec.fields.items():
        value = values.get(name, "")
        if spec.delimiter in value:
            raise ValueError(f"biodata field {name} contains the delimiter")
        slots[index] = value
    return spec.delimiter.join(slots).encode(spec.encoding)


def _card_control(
    serial: bytes, issued: str, nik: str, sizes: Mapping[str, int], length: int
) -> bytes:
    """CC body: serial(8) key version(1) layout(1) issue date BCD(4) region BCD(3) sizes(12) RFU."""
    if length not in (CC_LONG, CC_SHORT):
        raise ValueError(f"unknown card-control length {length:#x}")
    layout = CC_LAYOUT_LONG if length == CC_LONG else CC_LAYOUT_SHORT
    issue_bcd = bytes.fromhex(dt.date.fromisoformat(issued).strftime("%Y%m%d"))
    region_bcd = bytes.fromhex(nik[:6])
    size_table = b"".join(sizes.get(name, 0).to_bytes(2, "big") for name in CC_SIZE_TABLE)
    body = serial + bytes((KEY_VERSION, layout)) + issue_bcd + region_bcd + size_table
    return body + bytes(length - len(body))


def _with_prefix(body: bytes) -> bytes:
    if len(body) > MAX_BODY:
        raise ValueError("EF body too large for READ BINARY offsets")
    return len(body).to_bytes(2, "big") + body


def build_image(
    person: Person,
    profile: CardProfile,
    issuer_key: ec.EllipticCurvePrivateKey,
    variant: CardVariant | None = None,
) -> CardImage:
    """Personalise a chip for `person`: files signed by `issuer_key`, then the variant applied."""
    variant = variant or CardVariant()
    values = {**biodata_values(person, profile), **variant.signed_biodata}
    bodies: dict[str, bytes] = {
        "biodata": biodata_text(values, profile),
        "photo": person.photo_bytes(),
        "signature_image": SIGNATURE_IMAGE_MARKER
        + _synthetic("signature image", person.nik, SIGNATURE_IMAGE_LENGTH),
    }
    for name, length in MINUTIAE_LENGTHS.items():
        bodies[name] = _synthetic(name, person.nik, length)
    for name in profile.files:
        bodies.setdefault(name, _synthetic(name, person.nik, FILLER_LENGTH))
    signed = b"".join(bodies[name] for name in profile.signed_files)
    signature = sign(issuer_key, signed)
    if variant.bad_signature:
        signature = signature[:-1] + bytes((signature[-1] ^ 0x01,))
    if variant.signature_length is not None:
        signature = _synthetic("signature", person.nik, variant.signature_length)
    bodies["digital_signature"] = signature
    if variant.altered_biodata:
        bodies["biodata"] = biodata_text({**values, **variant.altered_biodata}, profile)
    serial = chip_serial(person.nik)
    sizes = {name: len(body) for name, body in bodies.items()}
    issued = person.card.tanggal_terbit if person.card else "1970-01-01"
    bodies["card_control"] = _card_control(
        serial, issued, person.nik, sizes, variant.card_control_length
    )
    return CardImage(
        uid=card_uid(person.nik),
        chip_serial=serial,
        key_version=KEY_VERSION,
        files={name: _with_prefix(body) for name, body in bodies.items()},
    )

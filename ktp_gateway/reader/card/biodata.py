"""Parse the card's biodata file and keep only the fields the agreement grants.

The card also holds agama, golongan darah, kewarganegaraan and more; they are split off here and
never leave this module: `to_person_data` has nowhere to put them.
"""

from __future__ import annotations

import datetime as dt

from ktp_gateway.domain import Address, PersonData
from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.nik import InvalidNikError, validate_nik
from ktp_gateway.specs import BiodataSpec

# card field name (firmware spec) -> granted PersonData field
_GRANTED = {
    "nik": "nik",
    "nama": "nama_lengkap",
    "jenis_kelamin": "jenis_kelamin",
    "tempat_lahir": "tempat_lahir",
    "status_perkawinan": "status_perkawinan",
    "pekerjaan": "jenis_pekerjaan",
}
_ADDRESS = {
    "alamat": "alamat",
    "rt": "rt",
    "rw": "rw",
    "kelurahan": "kelurahan",
    "kecamatan": "kecamatan",
    "kabupaten": "kabupaten",
    "provinsi": "provinsi",
}


def _invalid(reason: str) -> CardError:
    return CardError(f"card biodata is malformed: {reason}", code=ErrorCode.CARD_DATA_INVALID)


def split_biodata(raw: bytes, spec: BiodataSpec) -> dict[str, str]:
    """All biodata fields by name, as the card holds them (internal: includes ungranted ones)."""
    try:
        text = raw.decode(spec.encoding)
    except UnicodeDecodeError:
        raise _invalid(f"not {spec.encoding} text") from None
    values = text.split(spec.delimiter)
    if len(values) <= max(spec.fields):
        raise _invalid(f"{len(values)} fields, the profile needs {max(spec.fields) + 1}")
    return {name: values[index].strip() for index, name in spec.fields.items()}


def _date(value: str, spec: BiodataSpec) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, spec.date_format).date()
    except ValueError:
        raise _invalid("tanggal lahir is not a date in the profile's format") from None


def to_person_data(raw: bytes, spec: BiodataSpec) -> PersonData:
    """The granted fields of the card's biodata; everything else is dropped here."""
    fields = split_biodata(raw, spec)
    granted = {target: fields.get(source) or None for source, target in _GRANTED.items()}
    address = Address(**{target: fields.get(source) or None for source, target in _ADDRESS.items()})
    if not granted["nik"]:
        raise _invalid("no NIK")
    try:
        # The card's NIK, not the caller's typing: a malformed one is the card's data at fault.
        granted["nik"] = validate_nik(granted["nik"])
    except InvalidNikError:
        raise _invalid("the NIK is not structurally valid") from None
    return PersonData(
        **granted,  # type: ignore[arg-type]
        tanggal_lahir=_date(fields.get("tanggal_lahir", ""), spec),
        alamat=address,
    )

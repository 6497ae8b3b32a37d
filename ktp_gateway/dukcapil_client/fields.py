"""The one mapping of registry records to the gateway's values: granted fields only, as given.

The agreement grants LPSK the fields of `ktp_gateway.domain.GrantedField`; whatever else the
registry sends (agama, golongan darah, parents' NIKs, the KK number, region codes...) is not
copied, because nothing here reads it. Case and spelling are kept: comparison normalises later.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from ktp_gateway.domain import (
    FIELD_NAME,
    Address,
    FacePhoto,
    FamilyMember,
    GrantedField,
    PersonData,
)
from ktp_gateway.dukcapil_client.wire import KNOWN_UNGRANTED, PERSON_KEYS, STATUS_KEYS, WireRecord
from ktp_gateway.errors import DukcapilError, ErrorCode

# TGL_LHR formats seen (notes): dd-MM-yyyy, yyyy-MM-dd, dd-Mon-yy. A new one is one more row.
# The numeric ones by regular expression and `date` (strptime's rules, ASCII digits only): about
# 1.5 µs a date where strptime took 6, and 10 when the first format failed first.
_DD_MM_YYYY = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_YYYY_MM_DD = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DAY_MON_YY = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{2})")
# English and Indonesian month abbreviations (an Oracle date in either NLS language).
_MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "MEI": 5, "JUN": 6, "JUL": 7,
    "AUG": 8, "AGU": 8, "AGT": 8, "SEP": 9, "OCT": 10, "OKT": 10, "NOV": 11, "DEC": 12, "DES": 12,
}  # fmt: skip


def _bad(detail: str) -> DukcapilError:
    return DukcapilError(detail, code=ErrorCode.DUKCAPIL_BAD_RESPONSE)


def parse_birth_date(text: str, *, today: dt.date | None = None) -> dt.date:
    """Parse TGL_LHR in any format seen; raise `dukcapil_bad_response` (without the value)."""
    text = text.strip()
    numeric = _numeric_date(text)
    if numeric is not None:
        return numeric
    match = _DAY_MON_YY.fullmatch(text)
    month = _MONTHS.get(match.group(2).upper()) if match else None
    if match and month:
        # A two-digit birth year is in the past: 2000+yy unless that is after this year.
        year = 2000 + int(match.group(3))
        if year > (today or dt.date.today()).year:
            year -= 100
        try:
            return dt.date(year, month, int(match.group(1)))
        except ValueError:
            pass
    raise _bad("Dukcapil answered a birth date (TGL_LHR) in an unknown format")


def _numeric_date(text: str) -> dt.date | None:
    """dd-MM-yyyy or yyyy-MM-dd (one- or two-digit day and month), if a date exists there."""
    if (match := _DD_MM_YYYY.fullmatch(text)) is not None:
        day, month, year = match.groups()
    elif (match := _YYYY_MM_DD.fullmatch(text)) is not None:
        year, month, day = match.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _address(record: WireRecord) -> Address | None:
    address = Address(
        alamat=record.alamat,
        rt=record.no_rt,
        rw=record.no_rw,
        dusun=record.dusun,
        kelurahan=record.kel_name,
        kecamatan=record.kec_name,
        kabupaten=record.kab_name,
        provinsi=record.prop_name,
    )
    return address if address.model_dump(exclude_none=True) else None


def _project(person: PersonData, granted: frozenset[GrantedField]) -> PersonData:
    # Field restriction here as well as in the policy layer: an ungranted field stays None.
    hidden = {name: None for field, name in FIELD_NAME.items() if field not in granted}
    hidden.pop(FIELD_NAME[GrantedField.NIK], None)  # the NIK is what was asked: always known
    return person.model_copy(update=hidden) if hidden else person


def person_from_record(
    record: WireRecord,
    *,
    expected_nik: str,
    granted: frozenset[GrantedField] = frozenset(GrantedField),
) -> PersonData:
    """The granted fields of a found record, checked to be about the NIK that was asked."""
    if record.nik is None:
        raise _bad("Dukcapil answered a record without NIK")
    if record.nik.strip() != expected_nik:
        # Never release a record about someone else, whatever the reason upstream.
        raise _bad("Dukcapil answered a record for a different NIK than the one asked")
    return _project(_person(record, expected_nik), granted)


def _person(record: WireRecord, nik: str) -> PersonData:
    return PersonData(
        nik=nik,
        nama_lengkap=record.nama_lgkp,
        jenis_kelamin=record.jenis_klmin,
        tempat_lahir=record.tmpt_lhr,
        tanggal_lahir=parse_birth_date(record.tgl_lhr) if record.tgl_lhr else None,
        status_perkawinan=record.status_kawin,
        jenis_pekerjaan=record.jenis_pkrjn,
        nama_ibu_kandung=record.nama_lgkp_ibu,
        nama_ayah=record.nama_lgkp_ayah,
        alamat=_address(record),
    )


def family_from_records(
    records: list[WireRecord], *, asked_nik: str, granted: frozenset[GrantedField]
) -> list[FamilyMember]:
    """The members of the asked NIK's Kartu Keluarga: granted fields and relation only.

    The KK number is read to keep only records of the asked person's own family card (a record
    from another KK is dropped, never released) and is not part of the result.
    """
    asked = next((r for r in records if r.nik is not None and r.nik.strip() == asked_nik), None)
    if asked is None:
        raise _bad("Dukcapil's family answer does not include the NIK that was asked")
    family_card = asked.no_kk
    if not family_card:
        raise _bad("Dukcapil's family answer has no KK number to group members by")
    members = []
    for record in records:
        if record.nik is None or record.no_kk != family_card:
            continue
        person = _project(_person(record, record.nik.strip()), granted)
        members.append(FamilyMember(person=person, hubungan_keluarga=record.stat_hbkel))
    return members


# Image types a registry photo may be, by their first bytes.
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def photo_from_record(record: WireRecord, *, expected_nik: str, max_bytes: int) -> FacePhoto:
    """The face photo of a found record: base64 FOTO decoded and checked to be an image."""
    if record.nik is None or record.nik.strip() != expected_nik:
        raise _bad("Dukcapil answered a photo for a different NIK than the one asked")
    if not record.foto:
        raise _bad("Dukcapil answered a record without FOTO")
    try:
        data = base64.b64decode("".join(record.foto.split()), validate=True)
    except (ValueError, binascii.Error):
        raise _bad("Dukcapil answered a FOTO that is not base64") from None
    if len(data) > max_bytes:
        raise _bad("Dukcapil answered a FOTO that is too large")
    for magic, content_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return FacePhoto(nik=expected_nik, content_type=content_type, data=data)
    raise _bad("Dukcapil answered a FOTO that is not a JPEG or PNG image")


def dropped_keys(raw_keys: frozenset[str], released: frozenset[str]) -> list[str]:
    """The metric label of each key of a record that is not released (bounded: unknown is other)."""
    dropped = raw_keys - released - STATUS_KEYS
    return sorted(
        key if key in KNOWN_UNGRANTED or key in PERSON_KEYS else "other" for key in dropped
    )


# Which wire keys carry each granted field (what is dropped when the agreement grants less).
FIELD_KEYS: dict[GrantedField, frozenset[str]] = {
    GrantedField.NIK: frozenset({"NIK"}),
    GrantedField.NAMA_LENGKAP: frozenset({"NAMA_LGKP"}),
    GrantedField.JENIS_KELAMIN: frozenset({"JENIS_KLMIN"}),
    GrantedField.TEMPAT_LAHIR: frozenset({"TMPT_LHR"}),
    GrantedField.TANGGAL_LAHIR: frozenset({"TGL_LHR"}),
    GrantedField.STATUS_PERKAWINAN: frozenset({"STATUS_KAWIN", "STAT_KWN"}),
    GrantedField.JENIS_PEKERJAAN: frozenset({"JENIS_PKRJN"}),
    GrantedField.NAMA_IBU_KANDUNG: frozenset({"NAMA_LGKP_IBU"}),
    GrantedField.NAMA_AYAH: frozenset({"NAMA_LGKP_AYAH"}),
    GrantedField.ALAMAT: frozenset(
        {"ALAMAT", "NO_RT", "NO_RW", "DUSUN", "KEL_NAME", "KEC_NAME", "KAB_NAME", "PROP_NAME"}
    ),
}
assert frozenset().union(*FIELD_KEYS.values()) == PERSON_KEYS, "field keys drifted"  # noqa: S101


def released_keys(granted: frozenset[GrantedField], *extra: str) -> frozenset[str]:
    """The wire keys whose values reach the caller under this grant (plus `extra`)."""
    return frozenset().union(*(FIELD_KEYS[field] for field in granted), {"NIK"}, extra)

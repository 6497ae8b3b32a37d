"""The one mapping of a registry record to `PersonData`: granted fields only, values as given.

The agreement grants LPSK the fields of `ktp_gateway.domain.GrantedField`; whatever else the
registry sends (agama, golongan darah, parents' NIKs, the KK number, region codes...) is not
copied, because nothing here reads it. Case and spelling are kept: comparison normalises later.
"""

from __future__ import annotations

import datetime as dt
import re

from ktp_gateway.domain import Address, PersonData
from ktp_gateway.dukcapil_client.wire import WireRecord
from ktp_gateway.errors import DukcapilError, ErrorCode

# TGL_LHR formats seen (notes): dd-MM-yyyy, yyyy-MM-dd, dd-Mon-yy. A new one is one more row.
_NUMERIC_FORMATS = ("%d-%m-%Y", "%Y-%m-%d")
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
    for fmt in _NUMERIC_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
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


def person_from_record(record: WireRecord, *, expected_nik: str) -> PersonData:
    """The granted fields of a found record, checked to be about the NIK that was asked."""
    if record.nik is None:
        raise _bad("Dukcapil answered a record without NIK")
    if record.nik.strip() != expected_nik:
        # Never release a record about someone else, whatever the reason upstream.
        raise _bad("Dukcapil answered a record for a different NIK than the one asked")
    return PersonData(
        nik=expected_nik,
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

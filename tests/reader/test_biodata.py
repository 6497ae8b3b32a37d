from __future__ import annotations

import datetime as dt

import pytest

from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.reader.card.biodata import split_biodata, to_person_data
from ktp_gateway.specs import load_specs

SPEC = load_specs().cards["ktp-el"].biodata
FIELDS = [
    "3171011505809901",
    "JL. CONTOH RAYA NO. 1",
    "001",
    "002",
    "JAKARTA",
    "CONTOH TENGAH",
    "CONTOH BARAT",
    "KOTA CONTOH",
    "LAKI-LAKI",
    "O",
    "ISLAM",
    "KAWIN",
    "KARYAWAN SWASTA",
    "BUDI CONTOH",
    "15-05-1980",
    "DKI JAKARTA",
    "SEUMUR HIDUP",
    "KOTA CONTOH",
    "01-08-2012",
    "WNI",
]


def _raw(fields: list[str]) -> bytes:
    return SPEC.delimiter.join(fields).encode("ascii")


def test_granted_fields_only() -> None:
    person = to_person_data(_raw(FIELDS), SPEC)
    assert person.nik == "3171011505809901"
    assert person.nama_lengkap == "BUDI CONTOH"
    assert person.tanggal_lahir == dt.date(1980, 5, 15)
    assert person.jenis_pekerjaan == "KARYAWAN SWASTA"
    assert person.alamat is not None and person.alamat.kelurahan == "CONTOH BARAT"
    assert person.nama_ibu_kandung is None  # the card does not hold it
    dumped = repr(person.model_dump())
    for ungranted in ("ISLAM", "WNI", "SEUMUR HIDUP", "'O'"):
        assert ungranted not in dumped


def test_split_keeps_every_field_for_internal_use() -> None:
    assert split_biodata(_raw(FIELDS), SPEC)["agama"] == "ISLAM"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",
        _raw(FIELDS[:10]),
        _raw([*FIELDS[:14], "1980-05-15", *FIELDS[15:]]),
        _raw(["", *FIELDS[1:]]),
    ],
    ids=["not-ascii", "too-few-fields", "bad-date", "no-nik"],
)
def test_malformed_biodata_is_a_typed_card_error(raw: bytes) -> None:
    with pytest.raises(CardError) as caught:
        to_person_data(raw, SPEC)
    assert caught.value.code is ErrorCode.CARD_DATA_INVALID
    assert "BUDI" not in str(caught.value)

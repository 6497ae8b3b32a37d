from __future__ import annotations

import datetime as dt

from ktp_gateway.domain import Address, GrantedField, PersonData
from ktp_gateway.verification.compare import FieldMatch, compare, normalise

CARD = PersonData(
    nik="3171011505809901",
    nama_lengkap="BUDI CONTOH",
    jenis_kelamin="LAKI-LAKI",
    tempat_lahir="JAKARTA",
    tanggal_lahir=dt.date(1980, 5, 15),
    status_perkawinan="KAWIN",
    jenis_pekerjaan="KARYAWAN SWASTA",
    alamat=Address(alamat="JL. CONTOH RAYA NO. 1", rt="001", rw="002", kelurahan="CONTOH BARAT"),
)


def test_normalise_folds_case_punctuation_and_spaces() -> None:
    assert normalise("  Laki-Laki ") == normalise("LAKI  LAKI") == "LAKI LAKI"
    assert normalise("Jl. Contoh Raya No.1") == "JL CONTOH RAYA NO 1"


def test_same_person_matches_and_card_lacks_parents() -> None:
    registry = CARD.model_copy(
        update={
            "jenis_kelamin": "Laki-Laki",
            "nama_ibu_kandung": "SRI CONTOH",
            "nama_ayah": "HARTO CONTOH",
        }
    )
    result = compare(CARD, registry)
    assert list(result) == list(GrantedField)
    assert result[GrantedField.JENIS_KELAMIN] is FieldMatch.MATCH
    assert result[GrantedField.NAMA_IBU_KANDUNG] is FieldMatch.NOT_ON_CARD
    assert {
        r
        for f, r in result.items()
        if f not in (GrantedField.NAMA_IBU_KANDUNG, GrantedField.NAMA_AYAH)
    } == {FieldMatch.MATCH}


def test_changed_address_and_spelling_are_mismatches() -> None:
    moved = CARD.model_copy(
        update={
            "nama_lengkap": "BUDI CONTO",
            "alamat": Address(
                alamat="GG. SAMPEL LAMA NO. 7", rt="004", rw="009", kelurahan="CONTOH BARAT"
            ),
        }
    )
    result = compare(CARD, moved)
    assert result[GrantedField.ALAMAT] is FieldMatch.MISMATCH
    assert result[GrantedField.NAMA_LENGKAP] is FieldMatch.MISMATCH


def test_field_missing_in_registry() -> None:
    registry = CARD.model_copy(update={"jenis_pekerjaan": None})
    assert compare(CARD, registry)[GrantedField.JENIS_PEKERJAAN] is FieldMatch.NOT_IN_REGISTRY

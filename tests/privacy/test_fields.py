"""Granted fields, enforced in one place both ways: asked of the registry, released to callers."""

from __future__ import annotations

from ktp_gateway.domain import Address, GrantedField, PersonData
from ktp_gateway.privacy.fields import FieldGate

PERSON = PersonData(
    nik="3171011505809901",
    nama_lengkap="BUDI CONTOH",
    nama_ibu_kandung="SRI CONTOH IBUNDA",
    nama_ayah="HARTO CONTOH AYAHANDA",
    alamat=Address(alamat="JL. CONTOH RAYA NO. 1"),
)


def _gate(granted: set[GrantedField]) -> tuple[FieldGate, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    gate = FieldGate(granted, photo_granted=False, on_withheld=lambda s, f: seen.append((s, f)))
    return gate, seen


def test_fields_outside_the_agreement_are_blanked_and_counted() -> None:
    gate, seen = _gate({GrantedField.NIK, GrantedField.NAMA_LENGKAP})
    released = gate.release(PERSON, source="registry")
    assert released.nik == PERSON.nik and released.nama_lengkap == "BUDI CONTOH"
    assert released.nama_ibu_kandung is None and released.alamat is None
    assert seen == [
        ("registry", "nama_ibu_kandung"),
        ("registry", "nama_ayah"),
        ("registry", "alamat"),
    ]
    assert gate.released_names(released) == ["nik", "nama_lengkap"]


def test_a_full_grant_releases_the_person_unchanged() -> None:
    gate, seen = _gate(set(GrantedField))
    assert gate.release(PERSON, source="card") is PERSON and seen == []
    assert gate.released_names(PERSON, None, photo=True)[-1] == "foto_wajah"

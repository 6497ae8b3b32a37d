"""Values that cross layers: the person data the agreement lets the gateway release.

The card and the registry each produce a `PersonData`; nothing else of theirs (agama, golongan
darah, kewarganegaraan, pendidikan, parents' NIKs...) ever gets into one, because these models
have no field for it. They live in memory for one request only.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class GrantedField(StrEnum):
    """The fields the PKS grants LPSK, in the agreement's order. Nothing else is released."""

    NIK = "nik"
    NAMA_LENGKAP = "nama_lengkap"
    JENIS_KELAMIN = "jenis_kelamin"
    TEMPAT_LAHIR = "tempat_lahir"
    TANGGAL_LAHIR = "tanggal_lahir"
    STATUS_PERKAWINAN = "status_perkawinan"
    JENIS_PEKERJAAN = "jenis_pekerjaan"
    NAMA_IBU_KANDUNG = "nama_ibu_kandung"
    NAMA_AYAH = "nama_ayah"
    ALAMAT = "alamat"


# The members in order and each one's name, looked up once: iterating an Enum class runs a
# Python generator and `.value` a Python property, about sixty times per lookup on the hot path.
GRANTED_FIELDS: tuple[GrantedField, ...] = tuple(GrantedField)
FIELD_NAME: dict[GrantedField, str] = {field: field.value for field in GRANTED_FIELDS}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Frozen):
    """Alamat sekarang: street line, RT/RW and the region names."""

    alamat: str | None = None
    rt: str | None = None
    rw: str | None = None
    dusun: str | None = None
    kelurahan: str | None = None
    kecamatan: str | None = None
    kabupaten: str | None = None
    provinsi: str | None = None


class PersonData(_Frozen):
    """The granted fields of one person, from the card or from the registry.

    A field is None when the source does not hold it (the card has no parents' names).
    """

    nik: str
    nama_lengkap: str | None = None
    jenis_kelamin: str | None = None
    tempat_lahir: str | None = None
    tanggal_lahir: dt.date | None = None
    status_perkawinan: str | None = None
    jenis_pekerjaan: str | None = None
    nama_ibu_kandung: str | None = None
    nama_ayah: str | None = None
    alamat: Address | None = None


class FacePhoto(_Frozen):
    """Foto wajah from the registry: kept apart from PersonData's text fields (own grant, size)."""

    nik: str
    content_type: str
    data: bytes


class FamilyMember(_Frozen):
    """One member of a Kartu Keluarga: the granted fields and the relation (never the KK number)."""

    person: PersonData
    hubungan_keluarga: str | None = None


class HolderResult(StrEnum):
    """What a holder check found: the device's yes or no, or why there is none."""

    MATCH = "match"
    NO_MATCH = "no_match"
    NOT_ATTEMPTED = "not_attempted"  # the reader cannot match, and the check was optional
    TIMEOUT = "timeout"  # no finger on the sensor within the time allowed


class HolderAsk(_Frozen):
    """A tap's request to check that the card's holder is present (match-on-device only).

    The officer's id goes to the device with the match command (the vendor API logs who asked);
    it comes from the authenticated request, never from free text.
    """

    method: Literal["fingerprint"] = "fingerprint"
    required: bool = True
    officer_id: str = Field(default="-", min_length=1, max_length=64)


class HolderCheck(_Frozen):
    """A holder check's result as released: the method, the finger the device asked for, and
    its word. Never a template, an image or a score (the device gives none)."""

    method: Literal["fingerprint"] = "fingerprint"
    finger: str | None = Field(default=None, max_length=32)  # the profile's name, right_index
    result: HolderResult


class Grants(_Frozen):
    """What the agreement lets the gateway ask the registry for and release: handed to the
    Dukcapil client as an object, never through a setting an operator could also set."""

    fields: frozenset[GrantedField] = frozenset(GrantedField)
    photo: bool = True
    family: bool = True


class Registry(Protocol):
    """What a verification needs of the population registry (the Dukcapil client is one)."""

    async def query_nik(self, nik: str) -> PersonData: ...


class PersonRegistry(Registry, Protocol):
    """The registry's queries about one NIK: the record, the face photo, the family card."""

    async def query_photo(self, nik: str) -> FacePhoto: ...

    async def query_family(self, nik: str) -> list[FamilyMember]: ...


assert {f.value for f in GrantedField} == set(PersonData.model_fields), "granted list drifted"  # noqa: S101

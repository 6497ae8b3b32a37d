"""Objects whose keys are a known set of which only some are present (a map in JSON).

A verification compares the released fields only, a claims check answers the claimed fields
only: the keys are field names from a fixed list, so the contract names each one (a typo in a
generated client fails to type-check) and requires none. An absent key is left out of the JSON,
never sent as null, as the answers always were.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from ktp_gateway.verification.compare import FieldMatch

_Value = TypeVar("_Value")


def _absent(value: object) -> bool:
    return value is None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent, not null: the schema names the value's type only


# A key that may be absent: left out of the JSON when None; in the schema the value's type.
Present = Annotated[
    _Value | SkipJsonSchema[None], Field(exclude_if=_absent, json_schema_extra=_no_default)
]


class KnownKeys(BaseModel):
    """Base of the sparse objects: the contract lists their keys and requires none."""

    model_config = ConfigDict(extra="forbid")


class FieldComparison(KnownKeys):
    """Card against registry, per released granted field (keys: the granted fields)."""

    nik: Present[FieldMatch] = None
    nama_lengkap: Present[FieldMatch] = None
    jenis_kelamin: Present[FieldMatch] = None
    tempat_lahir: Present[FieldMatch] = None
    tanggal_lahir: Present[FieldMatch] = None
    status_perkawinan: Present[FieldMatch] = None
    jenis_pekerjaan: Present[FieldMatch] = None
    nama_ibu_kandung: Present[FieldMatch] = None
    nama_ayah: Present[FieldMatch] = None
    alamat: Present[FieldMatch] = None


class AddressPartScores(KnownKeys):
    """Similarity 0-100 per claimed part of the address (keys: the parts claimed)."""

    alamat: Present[int] = None
    rt: Present[int] = None
    rw: Present[int] = None
    kelurahan: Present[int] = None
    kecamatan: Present[int] = None
    kabupaten: Present[int] = None
    provinsi: Present[int] = None

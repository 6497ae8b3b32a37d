"""Least data: the caller names the granted fields it needs; only those leave the gateway.

As in AusweisApp's access rights, a request states required and optional fields. The
effective set is what is both asked for and allowed to this client; a required field the client
may not receive refuses the request, an optional one is silently left out. Asking for nothing
means every field the client is allowed (the behaviour before fields could be named).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ktp_gateway.domain import FIELD_NAME, GRANTED_FIELDS, Address, GrantedField, PersonData
from ktp_gateway.errors import ErrorCode, GatewayError


class FieldNotGranted(GatewayError):
    code = ErrorCode.FIELD_NOT_GRANTED


class FieldChoice(BaseModel):
    """Request part: which granted fields the caller needs (required) or could use (optional)."""

    model_config = ConfigDict(extra="forbid")

    required_fields: list[GrantedField] = Field(
        default_factory=list,
        description="Fields the case needs; refused with field_not_granted if not allowed.",
        examples=[["nik", "nama_lengkap", "tanggal_lahir"]],
    )
    optional_fields: list[GrantedField] | None = Field(
        default=None,
        description="Fields released if allowed; left out otherwise. Both lists empty or "
        "absent: every field this client is allowed.",
        examples=[["alamat"]],
    )


class FieldSet(BaseModel):
    """Response part: what was asked for and what was actually released (the effective set)."""

    required: list[GrantedField]
    optional: list[GrantedField]
    effective: list[GrantedField]


class ReleasedPerson(BaseModel):
    """A person's granted fields as released: a field outside the effective set is null."""

    nik: str | None = Field(default=None, examples=["3171011505809901"])
    nama_lengkap: str | None = Field(default=None, examples=["BUDI CONTOH"])
    jenis_kelamin: str | None = Field(default=None, examples=["LAKI-LAKI"])
    tempat_lahir: str | None = Field(default=None, examples=["JAKARTA"])
    tanggal_lahir: dt.date | None = None
    status_perkawinan: str | None = Field(default=None, examples=["KAWIN"])
    jenis_pekerjaan: str | None = Field(default=None, examples=["KARYAWAN SWASTA"])
    nama_ibu_kandung: str | None = Field(default=None, examples=["SRI CONTOH IBUNDA"])
    nama_ayah: str | None = Field(default=None, examples=["HARTO CONTOH AYAHANDA"])
    alamat: Address | None = None


def _ordered(fields: Iterable[GrantedField]) -> list[GrantedField]:
    chosen = set(fields)
    return [field for field in GRANTED_FIELDS if field in chosen]


def effective_fields(choice: FieldChoice, allowed: frozenset[GrantedField]) -> FieldSet:
    """The effective set, in the agreement's order; refuses a required field not allowed."""
    refused = set(choice.required_fields) - allowed
    if refused:
        names = ", ".join(field.value for field in _ordered(refused))
        raise FieldNotGranted(f"required fields not granted to this client: {names}")
    asked_nothing = not choice.required_fields and not choice.optional_fields
    optional = allowed if asked_nothing else set(choice.optional_fields or ())
    effective = set(choice.required_fields) | (optional & allowed)
    return FieldSet(
        required=_ordered(choice.required_fields),
        optional=_ordered(optional) if not asked_nothing else [],
        effective=_ordered(effective),
    )


def require_parts(*, photo: bool, family: bool, photo_allowed: bool, family_allowed: bool) -> None:
    """Refuse a face photo or family members this client may not receive, before any access."""
    refused = [
        name
        for name, asked, allowed in (
            ("foto_wajah", photo, photo_allowed),
            ("keluarga", family, family_allowed),
        )
        if asked and not allowed
    ]
    if refused:
        raise FieldNotGranted(f"not granted to this client: {', '.join(refused)}")


def release(person: PersonData, fields: FieldSet) -> ReleasedPerson:
    """Only the effective fields of `person`; the rest never enter the response."""
    names = [FIELD_NAME[field] for field in fields.effective]
    values = {name: getattr(person, name) for name in names}
    return ReleasedPerson(**values)

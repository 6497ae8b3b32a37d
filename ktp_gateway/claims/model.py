"""What a person claims, as the case application sends it (strict: unknown fields refused)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ktp_gateway.domain import GrantedField


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimedAddress(_Strict):
    """Any parts of the address the person gives; each given part is checked."""

    alamat: str | None = Field(default=None, examples=["Jl. Contoh Raya No. 1"], max_length=120)
    rt: str | None = Field(default=None, examples=["1"], max_length=5)
    rw: str | None = Field(default=None, examples=["2"], max_length=5)
    kelurahan: str | None = Field(default=None, max_length=120)
    kecamatan: str | None = Field(default=None, max_length=120)
    kabupaten: str | None = Field(default=None, max_length=120)
    provinsi: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _something(self) -> ClaimedAddress:
        if not any(getattr(self, name) for name in type(self).model_fields):
            raise ValueError("give at least one part of the address")
        return self


class Claims(_Strict):
    """The person's own statements; at least one. The NIK is the key, not a claim."""

    nama_lengkap: str | None = Field(default=None, examples=["Budi Contoh, S.H."], max_length=120)
    jenis_kelamin: str | None = Field(default=None, examples=["L"], max_length=20)
    tempat_lahir: str | None = Field(default=None, examples=["Jakarta"], max_length=120)
    tanggal_lahir: dt.date | None = Field(default=None, examples=["1980-05-15"])
    status_perkawinan: str | None = Field(default=None, examples=["Kawin"], max_length=40)
    jenis_pekerjaan: str | None = Field(default=None, examples=["Karyawan Swasta"], max_length=120)
    nama_ibu_kandung: str | None = Field(default=None, examples=["Sri Contoh"], max_length=120)
    nama_ayah: str | None = Field(default=None, max_length=120)
    alamat: ClaimedAddress | None = None

    @model_validator(mode="after")
    def _something(self) -> Claims:
        if not self.claimed():
            raise ValueError("claim at least one field")
        return self

    def claimed(self) -> list[GrantedField]:
        """The claimed fields, in the agreement's order."""
        return [f for f in GrantedField if getattr(self, f.value, None) not in (None, "")]

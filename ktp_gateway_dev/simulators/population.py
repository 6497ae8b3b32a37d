"""The synthetic population shared by the card emulator and the Dukcapil simulator."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_PEOPLE_FILE = DATA_DIR / "synthetic_people.yaml"
PHOTO_DIR = DATA_DIR / "photos"


class RegistryStatus(StrEnum):
    """How the registry treats a person's record."""

    ACTIVE = "active"
    DECEASED = "deceased"
    BLOCKED = "blocked"
    ABSENT = "absent"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Frozen):
    alamat: str
    no_rt: str
    no_rw: str
    dusun: str
    kel_name: str
    kec_name: str
    kab_name: str
    prop_name: str
    no_prop: str
    no_kab: str
    no_kec: str
    no_kel: str


class Record(_Frozen):
    """One view of a person: every field either the card or the registry may hold."""

    nik: str
    no_kk: str
    nama_lgkp: str
    jenis_klmin: str
    tmpt_lhr: str
    tgl_lhr: str  # ISO date
    status_kawin: str
    jenis_pkrjn: str
    nama_lgkp_ibu: str
    nama_lgkp_ayah: str
    agama: str
    gol_darah: str
    pddk_akh: str
    stat_hbkel: str
    kewarganegaraan: str
    address: Address
    photo: str


class CardView(_Frozen):
    tempat_terbit: str
    tanggal_terbit: str
    berlaku_hingga: str
    overrides: dict[str, Any] = {}


class RegistryView(_Frozen):
    status: RegistryStatus = RegistryStatus.ACTIVE
    overrides: dict[str, Any] = {}


class Person(_Frozen):
    """A synthetic person; `card_record` and `registry_record` apply each view's overrides."""

    key: str
    nik: str
    no_kk: str
    nama_lgkp: str
    jenis_klmin: str
    tmpt_lhr: str
    tgl_lhr: str
    status_kawin: str
    jenis_pkrjn: str
    nama_lgkp_ibu: str
    nama_lgkp_ayah: str
    agama: str
    gol_darah: str
    pddk_akh: str
    stat_hbkel: str
    kewarganegaraan: str
    address: Address
    photo: str
    card: CardView | None = None
    registry: RegistryView = RegistryView()

    def _record(self, overrides: dict[str, Any]) -> Record:
        base = self.model_dump(exclude={"key", "card", "registry"})
        for name, value in overrides.items():
            if name == "address":
                base["address"] = {**base["address"], **value}
            else:
                base[name] = value
        return Record.model_validate(base)

    def card_record(self) -> Record:
        """What the person's KTP-el chip holds."""
        if self.card is None:
            raise LookupError(f"synthetic person {self.key!r} has no card")
        return self._record(self.card.overrides)

    def registry_record(self) -> Record:
        """What Dukcapil holds for the person."""
        return self._record(self.registry.overrides)

    def photo_bytes(self) -> bytes:
        """The placeholder JPEG shared by card and registry."""
        return (PHOTO_DIR / self.photo).read_bytes()


class Population(_Frozen):
    people: list[Person]

    def by_key(self, key: str) -> Person:
        for person in self.people:
            if person.key == key:
                return person
        raise LookupError(f"no synthetic person {key!r}")

    def by_nik(self, nik: str) -> Person | None:
        return next((p for p in self.people if p.nik == nik), None)

    def family(self, no_kk: str) -> list[Person]:
        return [p for p in self.people if p.no_kk == no_kk]


@cache
def load_population(path: Path = DEFAULT_PEOPLE_FILE) -> Population:
    """Load and validate the synthetic people file (cached: it never changes at run time)."""
    with path.open(encoding="utf-8") as handle:
        return Population.model_validate(yaml.safe_load(handle))

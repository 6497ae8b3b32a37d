"""What the simulated Dukcapil says: the paging envelope, a person's full record, its refusals.

Deliberately written apart from the client's tables (ktp_gateway/dukcapil_client/), from
shared/dukcapil-notes.md, so a mistake in the client is not mirrored here and hidden.
Records carry more than the agreement grants (AGAMA, GOL_DARAH, NIK_IBU...): the client must
drop them. Region codes are unpadded and TGL_LHR is dd-MM-yyyy text, as the registry sends them.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from ktp_gateway_dev.simulators.dukcapil.config import Style
from ktp_gateway_dev.simulators.population import Person, Population

FAKE_NIK = "0" * 16  # a parent outside the synthetic population: an obviously fictional NIK


@dataclass(frozen=True, slots=True)
class Refusal:
    """One row of Dukcapil's message table: its code, the legacy RESPON and the coded text."""

    outcome: str  # the simulator's stats key
    code: str
    legacy: str
    coded: str

    def record(self, style: Style) -> dict[str, str]:
        """The single record of `content` that carries this refusal (HTTP 200, notes)."""
        if style is Style.LEGACY:
            return {"RESPON": self.legacy}
        return {"RESPONSE_CODE": self.code, "RESPONSE_DESC": self.coded, "RESPONSE": self.coded}


def _same(outcome: str, code: str, text: str) -> Refusal:
    return Refusal(outcome, code, text, text)


# Legacy texts are those seen in public code; where no legacy text was seen (07, 09, 11, 14) the
# coded description is sent as RESPON, which is this simulator's choice, not an observation.
LOGIN_FAILED = _same("login_failed", "03", "Login Gagal")
IP_NOT_ALLOWED = Refusal("ip_not_allowed", "04", "IP Address Tidak Sesuai", "IP Tidak Sesuai")
QUOTA_USED_UP = _same("quota_used_up", "05", "Kuota Akses Hari ini telah Habis")
PARAMS_INCOMPLETE = _same("params_incomplete", "07", "Parameter Tidak Lengkap / Tidak Valid")
CREDENTIALS_EMPTY = _same("credentials_empty", "09", "User, password dan IP tidak boleh kosong")
DECEASED = _same("deceased", "11", "Data Ditemukan, Meninggal Dunia")
NOT_FOUND = Refusal(
    "not_found",
    "13",
    "Data Tidak Ditemukan",
    "Data Tidak Ditemukan, NIK tidak terdapat di database Kependudukan",
)
INACTIVE = _same(
    "inactive", "14", "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
)
NIK_FORMAT = Refusal(
    "nik_format",
    "15",
    "Data Tidak Ditemukan",
    "Data Tidak Ditemukan, NIK tidak sesuai format Dukcapil",
)
FOUND_CODE, FOUND_TEXT = "01", "Data Ditemukan"
IP_NOT_REGISTERED = Refusal(
    "ip_not_registered", "10", "IP Client Tidak Terdaftar", "IP Tidak Valid"
)

# Every refusal by its code, for the `refusal` fault. Texts for 06, 08, 16 and 17 beyond the
# notes' meanings are this simulator's wording, not observations.
REFUSALS: dict[str, Refusal] = {
    refusal.code: refusal
    for refusal in (
        LOGIN_FAILED,
        IP_NOT_ALLOWED,
        QUOTA_USED_UP,
        _same("outside_hours", "06", "Akses Di Luar Waktu Yang Diizinkan"),
        PARAMS_INCOMPLETE,
        _same("nik_unprocessable", "08", "NIK Tidak Dapat Diproses"),
        CREDENTIALS_EMPTY,
        IP_NOT_REGISTERED,
        DECEASED,
        _same("data_ganda", "12", "Data Ditemukan, Data Ganda"),
        NOT_FOUND,
        INACTIVE,
        NIK_FORMAT,
        _same("agency_inactive", "16", "Instansi Tidak Aktif"),
        _same("user_inactive", "17", "User ID Tidak Aktif"),
    )
}


def envelope(records: list[dict[str, str]], quota_remaining: int | None) -> dict[str, Any]:
    """The paging envelope; `quotaLimiter` only when a quota is configured (newer deployments)."""
    body: dict[str, Any] = {
        "content": records,
        "lastPage": True,
        "numberOfElements": len(records),
        "sort": None,
        "totalElements": len(records),
        "firstPage": True,
        "number": 0,
        "size": len(records),
    }
    if quota_remaining is not None:
        body["quotaLimiter"] = quota_remaining
    return body


def _parent_nik(person: Person, population: Population, name: str) -> str:
    family = population.family(person.no_kk)
    return next((p.nik for p in family if p.nama_lgkp == name), FAKE_NIK)


def person_record(person: Person, population: Population) -> dict[str, str]:
    """Everything the registry holds on the person, granted or not, in its wire spelling."""
    r = person.registry_record()
    a = r.address
    born = dt.date.fromisoformat(r.tgl_lhr)
    return {
        "NIK": r.nik,
        "NO_KK": r.no_kk,
        "NAMA_LGKP": r.nama_lgkp,
        "JENIS_KLMIN": r.jenis_klmin,
        "TMPT_LHR": r.tmpt_lhr,
        "TGL_LHR": f"{born:%d-%m-%Y}",
        "STATUS_KAWIN": r.status_kawin,
        "JENIS_PKRJN": r.jenis_pkrjn,
        "NAMA_LGKP_IBU": r.nama_lgkp_ibu,
        "NAMA_LGKP_AYAH": r.nama_lgkp_ayah,
        "ALAMAT": a.alamat,
        "NO_RT": a.no_rt,
        "NO_RW": a.no_rw,
        "DUSUN": a.dusun,
        "KEL_NAME": a.kel_name,
        "KEC_NAME": a.kec_name,
        "KAB_NAME": a.kab_name,
        "PROP_NAME": a.prop_name,
        # Region codes unpadded, as the registry sends them (notes: NO_KEC "1").
        "NO_PROP": str(int(a.no_prop)),
        "NO_KAB": str(int(a.no_kab)),
        "NO_KEC": str(int(a.no_kec)),
        "NO_KEL": str(int(a.no_kel)),
        # Not granted to LPSK: the client must drop every one of these.
        "AGAMA": r.agama,
        "GOL_DARAH": r.gol_darah,
        "PDDK_AKH": r.pddk_akh,
        "STAT_HBKEL": r.stat_hbkel,
        "NIK_IBU": _parent_nik(person, population, r.nama_lgkp_ibu),
        "NIK_AYAH": _parent_nik(person, population, r.nama_lgkp_ayah),
        "NO_AKTA_LHR": f"{r.nik[:4]}-LT-UJICOBA-{r.nik[-4:]}",
        "KODE_POS": "99999",
    }


def photo_record(person: Person) -> dict[str, str]:
    """The face photo answer: the NIK and FOTO as base64 (notes: seen in one client UI)."""
    return {"NIK": person.nik, "FOTO": base64.b64encode(person.photo_bytes()).decode("ascii")}


def coded(record: dict[str, str], code: str, text: str, style: Style) -> dict[str, str]:
    """A record with the coded style's status keys (the legacy style sends the record bare)."""
    if style is Style.LEGACY:
        return record
    return {**record, "RESPONSE_CODE": code, "RESPONSE_DESC": text, "RESPONSE": text}

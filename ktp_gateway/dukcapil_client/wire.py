"""Wire models of CALL_NIK: the request body in each key spelling, the paging envelope, a record.

Shapes follow shared/dukcapil-notes.md. Records are lenient: unknown keys (the registry returns
more than the agreement grants) are ignored here and never reach `PersonData` (see fields.py).
Validation errors are reported by location and type only, never with the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)

from ktp_gateway.errors import DukcapilError, ErrorCode


class KeyStyle(StrEnum):
    """How an agency's profile spells the request body keys (integrators differ; notes)."""

    UPPER = "upper"
    CAMEL = "camel"


@dataclass(frozen=True, slots=True)
class RequestKeys:
    nik: str
    user_id: str
    password: str
    ip_user: str


# A new spelling seen at an agency is one more row (and one more KeyStyle member).
# Columns: NIK, user ID, password, caller IP.
REQUEST_KEYS: dict[KeyStyle, RequestKeys] = {
    KeyStyle.UPPER: RequestKeys("NIK", "user_id", "password", "ip_user"),
    KeyStyle.CAMEL: RequestKeys("nik", "userId", "password", "ipUser"),
}


class NikRequest(BaseModel):
    """The CALL_NIK body: credentials travel in the body, there is no auth header (notes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: str
    user_id: str
    password: SecretStr
    ip_user: str

    def to_wire(self, style: KeyStyle) -> dict[str, str]:
        """The JSON body in the profile's spelling (the only place the password is revealed)."""
        keys = REQUEST_KEYS[style]
        return {
            keys.nik: self.nik,
            keys.user_id: self.user_id,
            keys.password: self.password.get_secret_value(),
            keys.ip_user: self.ip_user,
        }


def _text(value: object) -> object:
    # Codes and RT/RW sometimes arrive as JSON numbers; keep everything as text (notes:
    # "keep as strings, pad yourself"). An empty string means the registry has no value.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value == "":
        return None
    return value


WireText = Annotated[str | None, BeforeValidator(_text)]


def _key(name: str, *aliases: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(name, *aliases) if aliases else name)


class WireRecord(BaseModel):
    """One item of `content`: a person's record, or a refusal (`RESPON` / `RESPONSE_CODE`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    nik: WireText = _key("NIK")
    no_kk: WireText = _key("NO_KK", "NKK")
    nama_lgkp: WireText = _key("NAMA_LGKP")
    jenis_klmin: WireText = _key("JENIS_KLMIN")
    tmpt_lhr: WireText = _key("TMPT_LHR")
    tgl_lhr: WireText = _key("TGL_LHR")
    status_kawin: WireText = _key("STATUS_KAWIN", "STAT_KWN")
    jenis_pkrjn: WireText = _key("JENIS_PKRJN")
    nama_lgkp_ibu: WireText = _key("NAMA_LGKP_IBU")
    nama_lgkp_ayah: WireText = _key("NAMA_LGKP_AYAH")
    alamat: WireText = _key("ALAMAT")
    no_rt: WireText = _key("NO_RT")
    no_rw: WireText = _key("NO_RW")
    dusun: WireText = _key("DUSUN")
    kel_name: WireText = _key("KEL_NAME")
    kec_name: WireText = _key("KEC_NAME")
    kab_name: WireText = _key("KAB_NAME")
    prop_name: WireText = _key("PROP_NAME")
    no_kel: WireText = _key("NO_KEL")
    no_kec: WireText = _key("NO_KEC")
    no_kab: WireText = _key("NO_KAB")
    no_prop: WireText = _key("NO_PROP")
    stat_hbkel: WireText = _key("STAT_HBKEL")
    foto: WireText = _key("FOTO")
    # Refusals: legacy `RESPON`; the coded style adds RESPONSE_CODE / RESPONSE_DESC / RESPONSE.
    respon: WireText = _key("RESPON")
    response: WireText = _key("RESPONSE")
    response_code: WireText = _key("RESPONSE_CODE")
    response_desc: WireText = _key("RESPONSE_DESC")


# The keys that map into what the gateway releases (fields.py); status keys are read, not released.
# Every other key of a record is dropped, and counted by name when it is one of KNOWN_UNGRANTED.
PERSON_KEYS = frozenset(
    {
        "NIK", "NAMA_LGKP", "JENIS_KLMIN", "TMPT_LHR", "TGL_LHR", "STATUS_KAWIN", "STAT_KWN",
        "JENIS_PKRJN", "NAMA_LGKP_IBU", "NAMA_LGKP_AYAH", "ALAMAT", "NO_RT", "NO_RW", "DUSUN",
        "KEL_NAME", "KEC_NAME", "KAB_NAME", "PROP_NAME",
    }
)  # fmt: skip
STATUS_KEYS = frozenset({"RESPON", "RESPONSE", "RESPONSE_CODE", "RESPONSE_DESC"})
KNOWN_UNGRANTED = frozenset(
    {
        "AGAMA", "GOL_DRH", "GOL_DARAH", "PDDK_AKH", "NIK_IBU", "NIK_AYAH", "NO_AKTA_LHR",
        "NO_AKTA_KWN", "NO_AKTA_CRAI", "KODE_POS", "CREATED", "LAST_UPDATED", "NO_KK", "NKK",
        "STAT_HBKEL", "NO_KEL", "NO_KEC", "NO_KAB", "NO_PROP", "FOTO",
    }
)  # fmt: skip


class Envelope(BaseModel):
    """The paging envelope every answer comes in, errors included (they are HTTP 200)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    content: list[WireRecord]
    raw_keys: list[frozenset[str]] = Field(default_factory=list, exclude=True)
    last_page: bool | None = Field(default=None, alias="lastPage")
    number_of_elements: int | None = Field(default=None, alias="numberOfElements")
    sort: Any = None
    total_elements: int | None = Field(default=None, alias="totalElements")
    first_page: bool | None = Field(default=None, alias="firstPage")
    number: int | None = None
    size: int | None = None
    # Newer deployments: the agency's remaining daily quota.
    quota_limiter: int | None = Field(default=None, alias="quotaLimiter")


def parse_envelope(data: object) -> Envelope:
    """Validate decoded JSON as an envelope, or raise `dukcapil_bad_response` (no values echoed)."""
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['type']}"
            for error in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise DukcapilError(
            f"Dukcapil answered an envelope of the wrong shape ({where})",
            code=ErrorCode.DUKCAPIL_BAD_RESPONSE,
        ) from None
    assert isinstance(data, dict)  # noqa: S101 (validated above)
    keys = [frozenset(record) for record in data["content"] if isinstance(record, dict)]
    return envelope.model_copy(update={"raw_keys": keys})

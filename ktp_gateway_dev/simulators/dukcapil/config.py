"""The simulator's settings (start-up) and the faults tests can switch on at run time."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Synthetic credentials of the simulator only; a real deployment's come from its settings.
DEFAULT_USER_ID = "UJICOBA-SIMULATOR"
DEFAULT_PASSWORD = "sandi-ujicoba-simulator"  # noqa: S105 (a simulator's fictional password)
DEFAULT_PORT = 8700
DEFAULT_RETURN_TOKEN = "token-ujicoba-data-balikan"  # noqa: S105 (a simulator's fictional token)


class Style(StrEnum):
    """How refusals are worded: legacy `RESPON` text, or the newer `RESPONSE_CODE` table."""

    LEGACY = "legacy"
    CODED = "coded"


class FaultMode(StrEnum):
    """What can go wrong between the gateway and Dukcapil (notes: "Outside the envelope")."""

    NONE = "none"
    HTML = "html"  # a proxy's HTML error page (status 502 unless set)
    EMPTY = "empty"  # HTTP 200, JSON content type, no body
    BROKEN_JSON = "broken_json"  # HTTP 200, a truncated envelope
    WRONG_CONTENT_TYPE = "wrong_content_type"  # a valid envelope labelled text/plain
    WRONG_SHAPE = "wrong_shape"  # valid JSON that is not the paging envelope
    TIMEOUT = "timeout"  # answer only after `hang_seconds`
    HTTP_500 = "http_500"  # the application server's own error
    UNKNOWN_RESPON = "unknown_respon"  # a well-formed refusal with a message no table knows
    REFUSAL = "refusal"  # the refusal of Dukcapil code `code` (03..17), in the current style
    OTHER_PERSON = "other_person"  # a found record about another NIK than the one asked


class FaultTarget(StrEnum):
    """Which endpoints a fault hits: the queries (CALL_NIK, photo, KK) or the return-data store."""

    QUERY = "query"
    RETURN_DATA = "return_data"
    NIK = "nik"  # CALL_NIK only
    PHOTO = "photo"  # the face photo query only
    FAMILY = "family"  # the family card (KK) query only


class Fault(BaseModel):
    """A fault for the next `count` CALL_NIK requests (None: until reset)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: FaultMode = FaultMode.NONE
    count: int | None = Field(default=None, ge=1)
    status: int = Field(default=502, ge=200, le=599)
    hang_seconds: float = Field(default=30.0, gt=0, le=600)
    target: FaultTarget = FaultTarget.QUERY
    code: str | None = Field(default=None, pattern=r"^\d{2}$")  # for mode "refusal"


class SimulatorConfig(BaseModel):
    """How the simulator starts; `POST /_simulator/reset` returns to exactly this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumer_path: str = "lpsk/ws"
    style: Style = Style.LEGACY
    latency_ms: int = Field(default=0, ge=0)
    user_id: str = DEFAULT_USER_ID
    password: SecretStr = SecretStr(DEFAULT_PASSWORD)
    allowed_ips: tuple[str, ...] = ("127.0.0.1",)
    quota: int | None = Field(default=None, ge=0)
    fault: Fault = Fault()
    people_file: Path | None = None
    return_token: SecretStr = SecretStr(DEFAULT_RETURN_TOKEN)
    check_peer_ip: bool = False  # also refuse when the TCP peer is not on the allow-list


class RuntimeConfig(BaseModel):
    """What `POST /_simulator/config` may change while running (omitted: unchanged)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    style: Style | None = None
    latency_ms: int | None = Field(default=None, ge=0)
    quota_remaining: int | None = Field(default=None, ge=0)
    return_latency_ms: int | None = Field(default=None, ge=0)  # after recording, before answering
    quota_retry_after_seconds: int | None = Field(default=None, ge=0)  # header on quota refusals
    check_peer_ip: bool | None = None

"""Settings of the Dukcapil client, nested in the gateway's settings as `dukcapil`.

Everything Dukcapil assigns per agency (address, consumer path, credentials, the IP it expects,
the body key spelling) is a setting, never a constant (see shared/dukcapil-notes.md). Unsafe
transport choices are refused here, at start-up: integrators routinely turn TLS verification
off on the closed network; the gateway pins a CA bundle instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ktp_gateway.dukcapil_client.returns_wire import ReturnWireSettings
from ktp_gateway.dukcapil_client.tls import parse_pin
from ktp_gateway.dukcapil_client.wire import KeyStyle
from ktp_gateway.errors import ConfigurationError

__all__ = ["DukcapilSettings", "KeyStyle"]

# Path segments of letters, digits, '_', '-' or '.', none starting with '.' (so no '..').
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_SEGMENTS = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DukcapilSettings(BaseModel):
    """Where and how to ask Dukcapil; the password is a SecretStr: never in a repr or log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Dukcapil's web service: scheme, host and port (the default is the local simulator).
    base_url: str = "http://127.0.0.1:8700"
    api_path: str = "dukcapil/get_json"  # path after base_url, before the consumer path
    consumer_path: str = "lpsk/ws"  # the agency's consumer path, as Dukcapil assigns it
    call_nik: str = "CALL_NIK"  # endpoint name of the query by NIK
    # Endpoint name of the face photo query; no public call seen: set the agency's real one.
    call_photo: str = "CALL_FOTO"
    call_family: str = "CALL_NIK_GET_KK"  # endpoint name of the family-card (KK) query
    # The User ID Dukcapil assigns the agency (required); or user_id_file.
    user_id: str = ""
    # Owner-only file holding the User ID, re-read when it changes; wins over user_id.
    user_id_file: Path | None = None
    # The agency's Dukcapil password (required); a secret: prefer password_file.
    password: SecretStr = SecretStr("")
    # Owner-only file holding the password, re-read when it changes (rotation without restart).
    password_file: Path | None = None
    # The agency's IP address as registered with Dukcapil, sent in each query (required).
    ip_user: str = ""
    # Spelling of the request body keys: upper (`user_id`, `NIK`) or camel (`userId`, `nik`).
    key_style: KeyStyle = KeyStyle.UPPER
    # Seconds to open a connection (also the write timeout); a timeout is `dukcapil_timeout`.
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Seconds to wait for Dukcapil's answer; a timeout is `dukcapil_timeout`.
    read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Retries after a failed connect only (nothing was sent, no quota spent); none after TLS.
    retries: int = Field(default=1, ge=0, le=3)
    # Requests to Dukcapil in flight at once (and pooled connections); more wait their turn.
    # The access point's whole budget: `serve --workers N` gives each worker its share.
    max_concurrency: int = Field(default=4, ge=1, le=64)
    # Largest answer read, in bytes; a larger one is `dukcapil_bad_response`.
    max_response_bytes: int = Field(default=2_000_000, ge=1024)
    # Log a warning when Dukcapil's remaining daily quota falls below this many queries.
    quota_warn_below: int = Field(default=500, ge=0)
    # The daily quota's reset, when the answer does not say (Retry-After); None: unknown.
    quota_resets_at: dt.time | None = dt.time(0, 0)
    quota_timezone: str = "Asia/Jakarta"  # IANA time zone of quota_resets_at
    # Circuit breaker: after this many service failures in a row, fail fast for
    # breaker_open_seconds, then let one probe through.
    breaker_failures: int = Field(default=5, ge=1, le=100)
    # Seconds the open breaker fails calls at once (`dukcapil_circuit_open`) before a probe.
    breaker_open_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Verify Dukcapil's TLS certificate; false is refused unless insecure_dev.
    verify: bool = True
    # PEM file of the CA (or self-signed certificate) to trust for Dukcapil's TLS.
    ca_bundle: Path | None = None
    # SHA-256 of the server's public key (SPKI), as "sha256/<base64>" or hex: any one must match.
    # With pins and no ca_bundle the pin replaces the CA check (a self-signed closed network).
    tls_pins: tuple[str, ...] = ()
    returns: ReturnWireSettings = ReturnWireSettings()
    # Explicit escape hatches, off by default: a developer's self-signed box, or a closed network
    # that only offers plain HTTP (both carry NIKs and credentials, so each is a conscious choice).

    # Development only: allows verify=false (no TLS check at all); never in production.
    insecure_dev: bool = False
    # Allows plain http to a non-loopback base_url (NIKs and credentials unencrypted).
    allow_plain_http: bool = False

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("base_url takes no credentials, query or fragment")
        return value.rstrip("/")

    @field_validator("api_path", "consumer_path", "call_nik", "call_photo", "call_family")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip("/")
        if not _SEGMENTS.fullmatch(value):
            raise ValueError("must be path segments of letters, digits, '_', '-' or '.'")
        return value

    @field_validator("ip_user")
    @classmethod
    def _ip(cls, value: str) -> str:
        if value:
            ipaddress.ip_address(value)  # raises ValueError: pydantic reports it
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("ca_bundle must be an existing PEM file")
        return value

    @field_validator("tls_pins")
    @classmethod
    def _pins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pin in value:
            parse_pin(pin)  # raises ValueError without echoing a secret (pins are public)
        return value

    @field_validator("quota_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("quota_timezone must be an IANA zone such as Asia/Jakarta") from None
        return value

    @model_validator(mode="after")
    def _transport_is_safe(self) -> DukcapilSettings:
        if not self.verify and not self.insecure_dev:
            raise ValueError("verify=False is refused; pin a ca_bundle (or set insecure_dev)")
        parts = urlsplit(self.base_url)
        plain = parts.scheme == "http" and not _is_loopback(parts.hostname or "")
        if plain and not self.allow_plain_http:
            raise ValueError("plain http to a non-loopback host needs allow_plain_http=True")
        return self

    def url(self, endpoint: str) -> str:
        """A query's full address: `<base>/<api path>/<consumer path>/<endpoint>`."""
        return f"{self.base_url}/{self.api_path}/{self.consumer_path}/{endpoint}"

    @property
    def call_nik_url(self) -> str:
        """The full CALL_NIK address."""
        return self.url(self.call_nik)

    def require_credentials(self) -> None:
        """Refuse to start without what Dukcapil checks first (its codes 03 and 09)."""
        missing = [
            name
            for name, value in (
                ("user_id", self.user_id or self.user_id_file),
                ("password", self.password.get_secret_value() or self.password_file),
                ("ip_user", self.ip_user),
            )
            if not value
        ]
        if missing:
            env = ", ".join(f"KTP_GATEWAY_DUKCAPIL__{name.upper()}" for name in missing)
            raise ConfigurationError(f"Dukcapil {', '.join(missing)} not configured ({env})")

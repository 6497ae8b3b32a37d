"""Settings of the Dukcapil client, nested in the gateway's settings as `dukcapil`.

Everything Dukcapil assigns per agency (address, consumer path, credentials, the IP it expects,
the body key spelling) is a setting, never a constant (see shared/dukcapil-notes.md). Unsafe
transport choices are refused here, at start-up: integrators routinely turn TLS verification
off on the closed network; the gateway pins a CA bundle instead.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

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

    base_url: str = "http://127.0.0.1:8700"
    api_path: str = "dukcapil/get_json"
    consumer_path: str = "lpsk/ws"
    call_nik: str = "CALL_NIK"
    user_id: str = ""
    password: SecretStr = SecretStr("")
    ip_user: str = ""
    key_style: KeyStyle = KeyStyle.UPPER
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=1, ge=0, le=3)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_response_bytes: int = Field(default=2_000_000, ge=1024)
    quota_warn_below: int = Field(default=500, ge=0)
    verify: bool = True
    ca_bundle: Path | None = None
    # Explicit escape hatches, off by default: a developer's self-signed box, or a closed network
    # that only offers plain HTTP (both carry NIKs and credentials, so each is a conscious choice).
    insecure_dev: bool = False
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

    @field_validator("api_path", "consumer_path", "call_nik")
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

    @model_validator(mode="after")
    def _transport_is_safe(self) -> DukcapilSettings:
        if not self.verify and not self.insecure_dev:
            raise ValueError("verify=False is refused; pin a ca_bundle (or set insecure_dev)")
        parts = urlsplit(self.base_url)
        plain = parts.scheme == "http" and not _is_loopback(parts.hostname or "")
        if plain and not self.allow_plain_http:
            raise ValueError("plain http to a non-loopback host needs allow_plain_http=True")
        return self

    @property
    def call_nik_url(self) -> str:
        """The full CALL_NIK address: `<base>/<api path>/<consumer path>/<endpoint>`."""
        return f"{self.base_url}/{self.api_path}/{self.consumer_path}/{self.call_nik}"

    def require_credentials(self) -> None:
        """Refuse to start without what Dukcapil checks first (its codes 03 and 09)."""
        missing = [
            name
            for name, value in (
                ("user_id", self.user_id),
                ("password", self.password.get_secret_value()),
                ("ip_user", self.ip_user),
            )
            if not value
        ]
        if missing:
            env = ", ".join(f"KTP_GATEWAY_DUKCAPIL__{name.upper()}" for name in missing)
            raise ConfigurationError(f"Dukcapil {', '.join(missing)} not configured ({env})")

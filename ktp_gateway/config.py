"""The gateway's settings: one pydantic-settings class from the environment and a YAML file.

Environment variables use the prefix `KTP_GATEWAY_` and `__` for nesting
(`KTP_GATEWAY_DUKCAPIL__PASSWORD`); `KTP_GATEWAY_CONFIG` names a YAML file. Unsafe values are
refused at start-up rather than discovered in an incident.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.sam.activation_record import (
    ActivationRecord,
    parse_records,
    read_record_file,
)
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import DEFAULT_SPECS_DIR, Specs

CONFIG_ENV = "KTP_GATEWAY_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=1, le=65535)
    tls_cert_file: Path | None = None  # serve HTTPS (needed off loopback and for mutual TLS)
    tls_key_file: Path | None = None
    max_body_bytes: int = Field(default=16 * 1024, ge=1024, le=1 << 20)

    def is_loopback(self) -> bool:
        try:
            return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class AuthSettings(_Section):
    """Caller authentication (docs/api-access.md): API key hashes in a clients file, mutual TLS."""

    clients_file: Path | None = None  # re-read on change: keys rotate without a restart
    client_ca_file: Path | None = None  # CA that signs client certificates (mutual TLS)
    require_client_certificate: bool = True  # with a client CA: False lets API keys in too

    @property
    def enabled(self) -> bool:
        return self.clients_file is not None or self.client_ca_file is not None


class LimitSettings(_Section):
    """Token buckets against abuse: a steady rate per minute and a burst, per client and officer."""

    client_per_minute: float = Field(default=120, gt=0)
    client_burst: int = Field(default=30, ge=1)
    officer_per_minute: float = Field(default=30, gt=0)
    officer_burst: int = Field(default=10, ge=1)


class JobSettings(_Section):
    """Asynchronous verifications: results live in memory for seconds, then they are gone."""

    result_ttl_seconds: float = Field(default=10.0, gt=0, le=300)
    max_poll_seconds: float = Field(default=30.0, gt=0, le=120)
    max_jobs: int = Field(default=32, ge=1, le=1024)


class ClaimSettings(_Section):
    """Similarity (0-100) from which a claimed value counts as a match (docs/claims.md)."""

    name_threshold: int = Field(default=90, ge=50, le=100)
    text_threshold: int = Field(default=85, ge=50, le=100)


class ReaderSettings(_Section):
    specs_dir: Path = DEFAULT_SPECS_DIR
    default_wait_seconds: float = Field(default=0.0, ge=0)
    max_wait_seconds: float = Field(default=60.0, gt=0, le=600)
    # A read that has not finished this long after the wait is a mute card: `card_timeout`.
    # The whole read takes well under a second on a KTP-el; real readers give up on their own.
    card_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    check_signature: bool = True
    monitor: bool = True  # one PC/SC monitor thread feeds /v1/readers, /v1/events and metrics


class ActivationSettings(_Section):
    """Dukcapil's signed activation records, one per reader (docs/card-and-sam-trust.md).

    A record holds the activation values that open the SAM, so it is a secret: owner-only files
    (`record_files`), or in `KTP_GATEWAY_ACTIVATION__RECORD` one record's JSON (or a JSON array
    of records).
    """

    record_files: list[Path] = []
    record: SecretStr | None = None

    def records(self, specs: Specs) -> list[ActivationRecord]:
        """Every configured record, checked (format, signature, reader profile) or refused."""
        records = [read_record_file(path, specs) for path in self.record_files]
        if self.record is not None:
            records += parse_records(self.record.get_secret_value(), specs, "from environment")
        return records

    def load(self, specs: Specs, *, agency: str) -> Activations:
        return Activations(self.records(specs), agency=agency)


class AgreementSettings(_Section):
    """The PKS in force (docs/agreement.md): its file, validated at start, and the suspension
    switch, checked on every request (the file present: access suspended, its text the reason).
    """

    file: Path | None = None
    suspension_file: Path = Path("/var/lib/ktp-gateway/agreement.suspended")
    agency: str = "LPSK"


class AuditSettings(_Section):
    """The audit trail (docs/audit.md): its directory, how long records are kept, fsync."""

    dir: Path = Path("/var/lib/ktp-gateway/audit")
    # At least a semester: the usage report the agreement requires is built from the trail.
    retention_days: int = Field(default=730, ge=184)
    fsync: bool = True


class LogSettings(_Section):
    level: str = "INFO"
    json_output: bool | None = None
    allow_apdu_trace: bool = False


class Settings(BaseSettings):
    """Everything the gateway reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="KTP_GATEWAY_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,  # a refusal at start must not print the secrets it was given
    )

    api: ApiSettings = ApiSettings()
    reader: ReaderSettings = ReaderSettings()
    activation: ActivationSettings = ActivationSettings()
    dukcapil: DukcapilSettings = DukcapilSettings()
    agreement: AgreementSettings = AgreementSettings()
    audit: AuditSettings = AuditSettings()
    log: LogSettings = LogSettings()
    return_data: ReturnDataSettings = ReturnDataSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    jobs: JobSettings = JobSettings()
    claims: ClaimSettings = ClaimSettings()

    @model_validator(mode="after")
    def _safe_bind(self) -> Settings:
        # Off loopback, population data would cross the network: only to authenticated callers,
        # and only over TLS (an API key in plain HTTP is as good as published).
        if not self.api.is_loopback():
            if not self.auth.enabled:
                raise ValueError("a non-loopback bind needs caller authentication (auth.*)")
            if self.api.tls_cert_file is None:
                raise ValueError("a non-loopback bind needs TLS (api.tls_cert_file)")
        if self.auth.client_ca_file is not None and self.api.tls_cert_file is None:
            raise ValueError("mutual TLS (auth.client_ca_file) needs api.tls_cert_file")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=config_file),)
        return (*sources, file_secret_settings)

"""The gateway's settings: one pydantic-settings class from the environment and a YAML file.

Environment variables use the prefix `KTP_GATEWAY_` and `__` for nesting
(`KTP_GATEWAY_DUKCAPIL__PASSWORD`); `KTP_GATEWAY_CONFIG` names a YAML file. Unsafe values are
refused at start-up rather than discovered in an incident.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from ktp_gateway.desks.settings import DesksSettings
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.sam.activation_record import (
    ActivationRecord,
    parse_records,
    read_record_file,
)
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import DEFAULT_SPECS_DIR, Specs

if TYPE_CHECKING:
    from ktp_gateway.reader.serial.service import IntegratedReaders

CONFIG_ENV = "KTP_GATEWAY_CONFIG"


def yaml_after_env(
    settings_cls: type[BaseSettings],
    config_env: str,
    *sources: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """Init, environment, then the YAML file `$config_env` names (if any), then secret files."""
    init_settings, env_settings, file_secret_settings = sources
    found: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
    config_file = os.environ.get(config_env)
    if config_file:
        found += (YamlConfigSettingsSource(settings_cls, yaml_file=config_file),)
    return (*found, file_secret_settings)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiSettings(_Section):
    # Address the REST API binds to; off loopback it needs caller authentication (auth.*) and TLS.
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=1, le=65535)  # TCP port the REST API listens on
    # PEM certificate (chain) to serve HTTPS; needed off loopback and for mutual TLS.
    tls_cert_file: Path | None = None
    # PEM private key of tls_cert_file (owner-only); none: the key is in the certificate file.
    tls_key_file: Path | None = None
    # Largest request body in bytes; a larger one is refused with 413 `request_too_large`.
    max_body_bytes: int = Field(default=16 * 1024, ge=1024, le=1 << 20)
    # Seconds a request may take to arrive whole (headers and body), from the connection or the
    # previous answer; a slower or silent caller's connection is closed.
    request_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Seconds an idle connection is kept open between requests.
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    # Connections (and requests in progress) served at once; over it: 503 at once. Per worker
    # process: `serve --workers N` accepts up to N times this many.
    max_connections: int = Field(default=256, ge=8, le=100_000)
    # Event streams (GET /v1/events) one client application may hold open at once; more: 429.
    max_event_streams_per_client: int = Field(default=4, ge=1, le=1000)
    # The HTTP/1.1 parser: httptools (C, the fast path) or h11 (pure Python, for a platform
    # without httptools' wheels). Both carry the client certificate and the read deadline.
    http_parser: Literal["httptools", "h11"] = "httptools"
    # The event loop: uvloop (libuv, the fast path) or asyncio's own.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    def is_loopback(self) -> bool:
        try:
            return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class AuthSettings(_Section):
    """Caller authentication (docs/api-access.md): API key hashes in a clients file, mutual TLS."""

    # API key hashes per client application (`ktp-gateway keys new`); re-read on change: keys
    # rotate without a restart.
    clients_file: Path | None = None
    client_ca_file: Path | None = None  # CA that signs client certificates (mutual TLS)
    # With a client CA: every caller must present a certificate; False lets API keys in too.
    require_client_certificate: bool = True

    @property
    def enabled(self) -> bool:
        return self.clients_file is not None or self.client_ca_file is not None


class LimitSettings(_Section):
    """Token buckets against abuse: a steady rate per minute and a burst, per client and officer."""

    # Steady requests per minute for each client application; over it: 429 `rate_limited`.
    client_per_minute: float = Field(default=120, gt=0)
    # Requests a client application may make at once before client_per_minute paces it.
    client_burst: int = Field(default=30, ge=1)
    # Steady card or registry requests per minute for each officer_id; over it: 429.
    officer_per_minute: float = Field(default=30, gt=0)
    # Requests one officer may make at once before officer_per_minute paces them.
    officer_burst: int = Field(default=10, ge=1)
    # API-key checks per minute from one source address that are not a key already verified
    # (each costs a scrypt); one that admits its caller is given back, so this paces failures.
    key_checks_per_minute: float = Field(default=30, gt=0)
    # Such checks one address may make at once before key_checks_per_minute paces them.
    key_check_burst: int = Field(default=10, ge=1)


class JobSettings(_Section):
    """Asynchronous verifications: results live in memory for seconds, then they are gone."""

    # Seconds a finished job's result stays in memory, fetched or not, before it is dropped.
    result_ttl_seconds: float = Field(default=10.0, gt=0, le=300)
    # Longest long poll (`GET /v1/verifications/{id}?wait=`) in seconds; a longer wait is cut.
    max_poll_seconds: float = Field(default=30.0, gt=0, le=120)
    # Jobs held at once (running, or finished and not yet dropped); one more: 429 `rate_limited`
    # (a client holding none still gets one: one client cannot deny jobs to the others).
    max_jobs: int = Field(default=32, ge=1, le=1024)
    # Jobs one client application may hold at once: its share, so a flood stays its own.
    max_jobs_per_client: int = Field(default=8, ge=1, le=1024)


class ClaimSettings(_Section):
    """Similarity (0-100) from which a claimed value counts as a match (docs/claims.md)."""

    # Score from which a claimed name (nama_lengkap, nama_ibu_kandung, nama_ayah) matches.
    name_threshold: int = Field(default=90, ge=50, le=100)
    # Score from which other claimed text (tempat_lahir, each part of alamat, ...) matches.
    text_threshold: int = Field(default=85, ge=50, le=100)


class ReaderSettings(_Section):
    # Firmware profiles (card, SAM, reader YAML) and the public keys they trust.
    specs_dir: Path = DEFAULT_SPECS_DIR
    # Card wait when a request gives no wait_seconds; 0: the card must already be on the reader.
    default_wait_seconds: float = Field(default=0.0, ge=0)
    # Longest card wait in seconds; a request asking for more is cut to this.
    max_wait_seconds: float = Field(default=60.0, gt=0, le=600)
    # Seconds: a read that has not finished this long after the wait is a mute card: `card_timeout`.
    # The whole read takes well under a second on a KTP-el; real readers give up on their own.
    card_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Check the card data's issuer signature (by the SAM, and on the host where the profile has
    # a key), refusing a mismatch as `card_not_genuine`; keep it on.
    check_signature: bool = True
    # Seconds a reader's SAM stays open, held by the gateway alone, after its last tap: the next
    # tap skips the SAM's connect, serial and open (docs/card-and-sam-trust.md). 0: opened per
    # tap. While held, `ktp-gateway doctor` and other PC/SC programs cannot reach the SAM.
    sam_hold_seconds: float = Field(default=30.0, ge=0, le=3600)
    # One PC/SC monitor thread feeds /v1/events, /healthz and the reader metrics; off: no events.
    monitor: bool = True
    # Serve integrated readers (the serial family, docs/integrated-readers.md) found on the
    # ports their profiles name; off: PC/SC readers only.
    integrated: bool = True
    # Glob patterns of serial ports to look for integrated readers on, replacing the profiles'
    # own (/dev/ttyACM*, /dev/ttyUSB*): e.g. a udev name, or to keep other serial devices out.
    serial_ports: list[str] = []
    # Seconds the holder has to put the finger on an integrated reader's sensor.
    finger_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Seconds between two polls of the integrated readers (card placed or removed, unplugged).
    serial_poll_seconds: float = Field(default=1.0, ge=0.2, le=60)

    def integrated_readers(
        self, specs: Specs, *, only: frozenset[str] = frozenset()
    ) -> IntegratedReaders | None:
        """The serial family's service, or None when off or no profile describes one."""
        if not self.integrated or not specs.integrated:
            return None
        from ktp_gateway.reader.serial.service import IntegratedReaders

        return IntegratedReaders(
            sorted(specs.integrated.values(), key=lambda p: p.id),
            ports=tuple(self.serial_ports),
            card_timeout=self.card_timeout_seconds,
            finger_timeout=self.finger_timeout_seconds,
            only=only,
        )


class ActivationSettings(_Section):
    """Dukcapil's signed activation records, one per reader (docs/card-and-sam-trust.md).

    A record holds the activation values that open the SAM, so it is a secret: owner-only files
    (`record_files`), or in `KTP_GATEWAY_ACTIVATION__RECORD` one record's JSON (or a JSON array
    of records).
    """

    # Owner-only JSON files, one signed activation record each (the preferred way).
    record_files: list[Path] = []
    # One record's JSON, or a JSON array of records; a secret: prefer record_files.
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

    # The PKS file (YAML, docs/agreement.md); required: the gateway does not start without it.
    file: Path | None = None
    # Present: access is suspended, its text the reason (`ktp-gateway agreement suspend|resume`).
    # With shared.backend postgres the switch is a row in PostgreSQL, for every worker (a file
    # present here still suspends this host).
    suspension_file: Path = Path("/var/lib/ktp-gateway/agreement.suspended")
    # This agency's name as in the activation records: a SAM activated for another is refused.
    agency: str = "LPSK"


class AuditSettings(_Section):
    """The audit trail (docs/audit.md): its directory, how long records are kept, fsync."""

    # Directory of the hash-chained audit trail; the service user must be able to write it.
    dir: Path = Path("/var/lib/ktp-gateway/audit")
    # Days records are kept (older ones pruned at start and by `ktp-gateway audit prune`); at
    # least a semester: the usage report the agreement requires is built from the trail.
    retention_days: int = Field(default=730, ge=184)
    # fsync each record as it is written; off only where losing the last records is acceptable.
    fsync: bool = True


class SharedBackend(StrEnum):
    LOCAL = "local"  # files and memory: one gateway process (the default)
    POSTGRES = "postgres"  # PostgreSQL: several worker processes or hosts


class SharedSettings(_Section):
    """State several gateway processes must share (docs/operator-guide.md): the audit trail,
    the rate limits and the agreement's suspension switch; needed by `serve --workers N` with
    N > 1."""

    # local: audit trail in audit.dir, rate limits in memory, suspension file; postgres: all three
    # in PostgreSQL.
    backend: SharedBackend = SharedBackend.LOCAL
    # libpq connection string, required with backend postgres; a secret.
    # E.g. "host=/run/postgresql dbname=ktp user=gateway".
    postgres_dsn: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> SharedSettings:
        if self.backend is SharedBackend.POSTGRES and self.postgres_dsn is None:
            raise ValueError("shared.backend postgres needs shared.postgres_dsn")
        return self

    def dsn(self) -> str | None:
        """The DSN when the state is shared in PostgreSQL, else None."""
        if self.backend is SharedBackend.POSTGRES and self.postgres_dsn is not None:
            return self.postgres_dsn.get_secret_value()
        return None


class LogSettings(_Section):
    # A logging level name (DEBUG, INFO, WARNING, ...); APDU (raw card traffic) needs the switch.
    level: str = "INFO"
    # true: JSON lines; false: console text; none: JSON unless stderr is a terminal.
    json_output: bool | None = None
    # Development switch for level APDU: card traffic carries personal data; never in production.
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
    desks: DesksSettings = DesksSettings()
    shared: SharedSettings = SharedSettings()

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
        if self.desks.enabled and self.api.tls_cert_file is None:
            raise ValueError("the desk channel (desks.enabled) needs api.tls_cert_file")
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
        return yaml_after_env(
            settings_cls, CONFIG_ENV, init_settings, env_settings, file_secret_settings
        )

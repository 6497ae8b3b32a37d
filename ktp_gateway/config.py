"""The gateway's settings: one pydantic-settings class from the environment and a YAML file.

Environment variables use the prefix `KTP_GATEWAY_` and `__` for nesting
(`KTP_GATEWAY_DUKCAPIL__PASSWORD`); `KTP_GATEWAY_CONFIG` names a YAML file. Unsafe values are
refused at start-up rather than discovered in an incident.
"""

from __future__ import annotations

import datetime as dt
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
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.sam.activation import Activation
from ktp_gateway.specs import DEFAULT_SPECS_DIR

CONFIG_ENV = "KTP_GATEWAY_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=1, le=65535)

    @model_validator(mode="after")
    def _loopback_only(self) -> ApiSettings:
        # Caller authentication does not exist yet: a non-loopback bind would expose population
        # data to the network unauthenticated, so it is refused outright.
        try:
            loopback = self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError("the API binds to loopback only until caller authentication exists")
        return self


class ReaderSettings(_Section):
    specs_dir: Path = DEFAULT_SPECS_DIR
    default_wait_seconds: float = Field(default=0.0, ge=0)
    max_wait_seconds: float = Field(default=60.0, gt=0, le=600)
    check_signature: bool = True


class ActivationSettings(_Section):
    """The reader's activation values from Dukcapil (PCID, CONF) as hex; secrets."""

    pcid: SecretStr | None = None
    conf: SecretStr | None = None
    pcid_file: Path | None = None
    conf_file: Path | None = None

    def load(self) -> Activation:
        pcid = _secret(self.pcid, self.pcid_file, "pcid")
        conf = _secret(self.conf, self.conf_file, "conf")
        return Activation.from_hex(pcid, conf)


def _secret(value: SecretStr | None, path: Path | None, name: str) -> str:
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        if path.stat().st_mode & 0o077:
            raise ConfigurationError(
                f"activation {name} file must not be readable by group or others"
            )
        return path.read_text(encoding="ascii").strip()
    raise ConfigurationError(
        f"activation {name} is not configured (KTP_GATEWAY_ACTIVATION__{name.upper()})"
    )


class AgreementSettings(_Section):
    """The PKS the data is released under; named in every response that carries personal data."""

    reference: str = "PKS Dukcapil-LPSK (set KTP_GATEWAY_AGREEMENT__REFERENCE)"
    agency: str = "LPSK"
    valid_until: dt.date | None = None


class LogSettings(_Section):
    level: str = "INFO"
    json_output: bool | None = None
    allow_apdu_trace: bool = False


class Settings(BaseSettings):
    """Everything the gateway reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="KTP_GATEWAY_", env_nested_delimiter="__", extra="forbid"
    )

    api: ApiSettings = ApiSettings()
    reader: ReaderSettings = ReaderSettings()
    activation: ActivationSettings = ActivationSettings()
    dukcapil: DukcapilSettings = DukcapilSettings()
    agreement: AgreementSettings = AgreementSettings()
    log: LogSettings = LogSettings()

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

"""The desk agent's settings: readers and its own files; nothing of Dukcapil, by construction.

Environment variables use the prefix `KTP_GATEWAY_DESK_` (`KTP_GATEWAY_DESK_DIR`);
`KTP_GATEWAY_DESK_CONFIG` names a YAML file. The access point's settings class is never loaded
on a desk, so no Dukcapil URL, user or password can be configured there even by mistake.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ktp_gateway.config import (
    ActivationSettings,
    LogSettings,
    ReaderSettings,
    yaml_after_env,
)

DESK_CONFIG_ENV = "KTP_GATEWAY_DESK_CONFIG"


class DeskAgentSettings(BaseSettings):
    """Everything a desk agent reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="KTP_GATEWAY_DESK_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
    )

    # The desk's key (owner-only), certificate, the access point's CA and address (`desk enrol`).
    dir: Path = Path("/var/lib/ktp-gateway-desk")
    # This agency's name as in the activation records: a SAM activated for another is refused.
    agency: str = "LPSK"
    reader: ReaderSettings = ReaderSettings()
    # Card-reader names (as `ktp-gateway readers` lists them) this desk serves; empty: all.
    readers: list[str] = []
    activation: ActivationSettings = ActivationSettings()
    log: LogSettings = LogSettings()
    # First wait before reconnecting to the access point; doubled per failure up to the max.
    reconnect_min_seconds: float = Field(default=0.5, gt=0, le=60)
    # Longest wait between reconnection attempts (each wait is jittered by up to half).
    reconnect_max_seconds: float = Field(default=30.0, gt=0, le=600)
    # Largest frame the desk accepts from the access point.
    max_frame_bytes: int = Field(default=512 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)

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
            settings_cls, DESK_CONFIG_ENV, init_settings, env_settings, file_secret_settings
        )

"""docs/configuration.md is generated from the settings model; stale means this test fails."""

from __future__ import annotations

from ktp_gateway.config import Settings
from ktp_gateway.config.doc import DOC_PATH, markdown


def test_the_committed_reference_is_generated_from_the_settings_model() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == markdown(), (
        "docs/configuration.md is stale: run `python -m ktp_gateway.config.doc --write`"
    )


def test_every_section_and_setting_is_documented() -> None:
    text = markdown()
    for section, field in Settings.model_fields.items():
        assert f"## `{section}`" in text
        assert field.annotation is not None
        for name in field.annotation.model_fields:
            assert f"`{section}.{name}`" in text or f"## `{section}.{name}`" in text
    assert "`KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN_FILE`" in text
    assert "/work/" not in text  # nothing of the machine it was generated on

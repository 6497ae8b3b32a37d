"""Client settings: safe defaults, unsafe transport refused, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ktp_gateway.dukcapil_client import DukcapilSettings, KeyStyle
from ktp_gateway.errors import ConfigurationError


def test_defaults() -> None:
    settings = DukcapilSettings()
    assert settings.connect_timeout_seconds == 5
    assert settings.read_timeout_seconds == 10
    assert settings.retries == 1
    assert settings.max_concurrency == 4
    assert settings.verify is True
    assert settings.key_style is KeyStyle.UPPER


def test_call_nik_url_from_its_parts() -> None:
    settings = DukcapilSettings(
        base_url="https://10.0.0.5:8443/", consumer_path="/3171/lpsk/", call_nik="CALL_NIK"
    )
    assert settings.call_nik_url == "https://10.0.0.5:8443/dukcapil/get_json/3171/lpsk/CALL_NIK"


@pytest.mark.parametrize("path", ["", "../etc", "lpsk/../x", "lpsk ws", "lpsk?x=1", "lpsk//ws"])
def test_consumer_path_must_be_plain_segments(path: str) -> None:
    with pytest.raises(ValidationError):
        DukcapilSettings(consumer_path=path)


@pytest.mark.parametrize(
    "url", ["ftp://10.0.0.5", "10.0.0.5:8000", "https://user:pw@10.0.0.5", "https://x/?q=1"]
)
def test_base_url_must_be_plain_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError):
        DukcapilSettings(base_url=url)


def test_tls_verification_cannot_be_turned_off_quietly() -> None:
    with pytest.raises(ValidationError, match="insecure_dev"):
        DukcapilSettings(base_url="https://10.0.0.5", verify=False)
    assert DukcapilSettings(base_url="https://10.0.0.5", verify=False, insecure_dev=True)


def test_plain_http_is_for_loopback_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="allow_plain_http"):
        DukcapilSettings(base_url="http://10.0.0.5:8000")
    assert DukcapilSettings(base_url="http://10.0.0.5:8000", allow_plain_http=True)
    assert DukcapilSettings(base_url="http://localhost:8700")
    assert DukcapilSettings(base_url="http://[::1]:8700")


def test_ca_bundle_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        DukcapilSettings(ca_bundle=tmp_path / "missing.pem")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert DukcapilSettings(ca_bundle=bundle).ca_bundle == bundle


def test_ip_user_must_be_an_address() -> None:
    with pytest.raises(ValidationError):
        DukcapilSettings(ip_user="gateway.lpsk")


def test_password_never_in_repr_or_dump() -> None:
    settings = DukcapilSettings(
        user_id="U", password=SecretStr("sangat-rahasia"), ip_user="127.0.0.1"
    )
    assert "sangat-rahasia" not in repr(settings)
    assert "sangat-rahasia" not in settings.model_dump_json()


def test_missing_credentials_name_the_variables_not_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        DukcapilSettings(user_id="U").require_credentials()
    assert "password" in caught.value.detail
    assert "KTP_GATEWAY_DUKCAPIL__IP_USER" in caught.value.detail
    assert "user_id" not in caught.value.detail.split("(")[0]


def test_nests_in_the_gateway_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ktp_gateway.config import Settings

    monkeypatch.setenv("KTP_GATEWAY_DUKCAPIL__PASSWORD", "dari-env")
    monkeypatch.setenv("KTP_GATEWAY_DUKCAPIL__KEY_STYLE", "camel")
    settings = Settings()
    assert settings.dukcapil.password.get_secret_value() == "dari-env"
    assert settings.dukcapil.key_style is KeyStyle.CAMEL

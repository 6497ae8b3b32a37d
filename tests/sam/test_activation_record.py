"""Activation records: the signed format, secrets kept secret, edits and wrong signers refused."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ktp_gateway.config import ActivationSettings
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.sam.activation_record import parse_record, read_record_file, sign_record
from ktp_gateway.specs import Specs, load_specs
from ktp_gateway_dev.simulators import keys
from ktp_gateway_dev.simulators.activation import record_json, virtual_record, write_record

SPECS = load_specs()
PCID_HEX = keys.reader_activation().pcid.hex().upper()


def _refusal(text: str, specs: Specs = SPECS) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_record(text, specs, "test")
    message = caught.value.detail
    assert PCID_HEX not in message and PCID_HEX.lower() not in message  # never the secret
    return message


def test_the_virtual_record_parses_and_keeps_its_values_secret() -> None:
    record = parse_record(record_json(virtual_record()), SPECS, "test")
    assert record.serial == keys.sam_serial()
    assert (record.reader.profile, record.reader.unit) == ("vpcd-virtual", "Virtual PCD 00")
    assert record.values().pcid == keys.reader_activation().pcid
    assert PCID_HEX not in repr(record) and PCID_HEX not in str(record.model_dump())


def test_the_virtual_record_is_deterministic() -> None:
    assert record_json(virtual_record()) == record_json(virtual_record())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agency", "BUKAN-LPSK"),
        ("valid_until", "2099-12-31T23:59:59Z"),
        ("sam_serial", "0102030405060708"),
        ("reader", {"profile": "vpcd-virtual", "unit": "Another Reader 00"}),
    ],
)
def test_an_edited_record_is_refused(field: str, value: Any) -> None:
    envelope = virtual_record()
    envelope["record"][field] = value
    assert "signature does not verify" in _refusal(json.dumps(envelope))


def test_a_record_signed_by_another_key_is_refused() -> None:
    envelope = sign_record(virtual_record()["record"], keys.forger_private_key())
    assert "signature does not verify" in _refusal(json.dumps(envelope))


def test_test_only_signers_are_not_trusted_by_a_production_reader_profile() -> None:
    reader = SPECS.readers["vpcd-virtual"].model_copy(update={"test_only": False})
    production = SPECS.model_copy(update={"readers": {"vpcd-virtual": reader}})
    assert "signature does not verify" in _refusal(record_json(virtual_record()), production)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected"),
        ('{"record": {}, "signature": "!!"}', "not base64"),
        ('{"record": {}, "signature": ""}', "format"),
        ("[" * 100_000, "larger than"),
    ],
)
def test_malformed_records_are_configuration_errors(text: str, message: str) -> None:
    assert message in _refusal(text)


def test_a_bad_value_is_reported_without_echoing_it() -> None:
    envelope = virtual_record(pcid=b"\x01" * 15)  # signed, but one byte short
    assert "16-byte PCID" in _refusal(json.dumps(envelope))
    record = virtual_record()["record"]
    record["valid_until"] = "2024-01-01T00:00:00Z"
    assert "valid_until must be after valid_from" in _refusal(
        json.dumps(sign_record(record, keys.activation_signer_private_key()))
    )


def test_a_record_file_must_be_owner_only(tmp_path: Path) -> None:
    path = write_record(tmp_path / "activation.json", virtual_record())
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_record_file(path, SPECS).reference == "VIRTUAL-ACTIVATION-0001"
    path.chmod(0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_record_file(path, SPECS)


def test_settings_take_record_files_and_one_record_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_record(tmp_path / "a.json", virtual_record())
    other = virtual_record(unit="Virtual PCD 2 00", reference="VIRTUAL-ACTIVATION-0002")
    monkeypatch.setenv("KTP_GATEWAY_ACTIVATION__RECORD", record_json(other))
    monkeypatch.setenv("KTP_GATEWAY_ACTIVATION__RECORD_FILES", json.dumps([str(path)]))
    from ktp_gateway.config import Settings

    settings = Settings()
    assert PCID_HEX not in repr(settings) and PCID_HEX not in settings.model_dump_json()
    activations = settings.activation.load(SPECS, agency="LPSK")
    assert [r.reference for r in activations.records] == [
        "VIRTUAL-ACTIVATION-0001",
        "VIRTUAL-ACTIVATION-0002",
    ]


def test_no_record_configured_is_allowed_and_every_reader_is_not_activated() -> None:
    activations = ActivationSettings().load(SPECS, agency="LPSK")
    assert activations.records == ()


def test_records_use_utc_timestamps() -> None:
    record = parse_record(record_json(virtual_record()), SPECS, "test")
    assert record.valid_until.utcoffset() == dt.timedelta(0)


def test_the_environment_may_carry_several_records_as_a_json_array() -> None:
    first = virtual_record()
    second = virtual_record(unit="Virtual PCD 2 00", reference="VIRTUAL-ACTIVATION-0002")
    activations = ActivationSettings(record=json.dumps([first, second])).load(SPECS, agency="LPSK")
    assert {r.reader.unit for r in activations.records} == {"Virtual PCD 00", "Virtual PCD 2 00"}
    second["record"]["agency"] = "KPK"
    with pytest.raises(ConfigurationError, match=r"from environment \[1\]: signature"):
        ActivationSettings(record=json.dumps([first, second])).load(SPECS, agency="LPSK")

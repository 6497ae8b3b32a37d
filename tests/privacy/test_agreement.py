"""The agreement file: validated at start; validity window and suspension asked per request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from ktp_gateway.domain import GrantedField
from ktp_gateway.errors import ConfigurationError, ErrorCode
from ktp_gateway.privacy.agreement import (
    DEMO_AGREEMENT_FILE,
    AgreementError,
    AgreementGuard,
    AgreementState,
    load_agreement,
)


def _demo() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(DEMO_AGREEMENT_FILE.read_text())["agreement"]
    return data


def _write(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "agreement.yaml"
    path.write_text(yaml.safe_dump({"agreement": {**_demo(), **changes}}))
    return path


def test_the_shipped_demo_agreement_loads_and_says_it_is_synthetic() -> None:
    agreement = load_agreement(DEMO_AGREEMENT_FILE)
    assert agreement.synthetic and agreement.photo_granted and agreement.family_granted
    assert set(agreement.granted_fields) == set(GrantedField)
    assert "perlindungan_saksi" in agreement.purpose_codes
    assert agreement.provider.number in agreement.reference
    assert agreement.user.number in agreement.reference


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"granted_fields": ["nik", "agama"]}, "granted_fields.1"),
        ({"granted_fields": ["nama_lengkap"]}, "must include nik"),
        ({"valid_until": "2025-01-01"}, "before valid_from"),
        ({"purposes": []}, "purposes"),
        ({"purposes": [{"code": "Bad Code", "description": "x"}]}, "purposes.0.code"),
        ({"provider": {"name": "Dukcapil"}}, "provider.number"),
        ({"extra_clause": "x"}, "extra_clause"),
        ({"family_granted": "ya"}, "family_granted"),
    ],
)
def test_a_broken_agreement_stops_the_start_and_says_where(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_agreement(_write(tmp_path, **changes))


def test_a_missing_or_shapeless_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_agreement(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigurationError, match="one `agreement:` mapping"):
        load_agreement(tmp_path / "list.yaml")


def test_access_outside_the_window_is_refused_naming_the_agreement_and_its_end(
    tmp_path: Path,
) -> None:
    guard = AgreementGuard(load_agreement(_write(tmp_path, valid_until="2026-06-30")), None)
    assert guard.require_in_force(dt.date(2026, 6, 30)).days_remaining == 1
    with pytest.raises(AgreementError) as ended:
        guard.require_in_force(dt.date(2026, 7, 1))
    assert ended.value.code is ErrorCode.AGREEMENT_NOT_IN_FORCE
    assert "ended on 2026-06-30" in ended.value.detail
    assert "DEMO-001/PKS/LPSK/2026" in ended.value.detail
    with pytest.raises(AgreementError, match="has not begun"):
        guard.require_in_force(dt.date(2025, 12, 31))
    assert guard.standing(dt.date(2026, 7, 1)).state is AgreementState.ENDED


def test_suspension_takes_effect_at_once_and_lifts_without_restart(tmp_path: Path) -> None:
    guard = AgreementGuard(load_agreement(DEMO_AGREEMENT_FILE), tmp_path / "suspended")
    today = dt.date(2026, 11, 1)
    assert guard.standing(today).in_force
    guard.suspend("pelanggaran PKS pasal 9\x1b[31m (surat Dukcapil)")
    with pytest.raises(AgreementError) as suspended:
        guard.require_in_force(today)
    assert suspended.value.code is ErrorCode.AGREEMENT_SUSPENDED
    assert "pelanggaran PKS pasal 9 [31m (surat Dukcapil)" in suspended.value.detail
    assert guard.resume() and not guard.resume()
    assert guard.standing(today).in_force


def test_an_unreadable_suspension_file_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "suspended").mkdir()  # exists but cannot be read as a file
    guard = AgreementGuard(load_agreement(DEMO_AGREEMENT_FILE), tmp_path / "suspended")
    assert guard.standing(dt.date(2026, 11, 1)).state is AgreementState.SUSPENDED


def test_family_members_are_not_granted_unless_the_file_says_so(tmp_path: Path) -> None:
    demo = _demo()
    del demo["family_granted"]
    path = tmp_path / "agreement.yaml"
    path.write_text(yaml.safe_dump({"agreement": demo}))
    assert load_agreement(path).family_granted is False

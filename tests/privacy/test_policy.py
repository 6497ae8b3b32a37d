"""The policy as the one door: admit, release, wipe, record; refusals recorded too."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from ktp_gateway.audit.chain import AuditError
from ktp_gateway.audit.verify import verify_trail
from ktp_gateway.domain import FamilyMember, PersonData
from ktp_gateway.errors import DukcapilError, ErrorCode, GatewayError
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway.privacy.policy import Accountability, Operation, Policy
from ktp_gateway.privacy.wipe import track

WHO = Accountability("PETUGAS-001", "perlindungan_saksi", "REG/2026/7", client="case-app")
PERSON = PersonData(nik="3171011505809901", nama_lengkap="BUDI CONTOH", nama_ayah="HARTO")


class Registry:
    def __init__(self, error: GatewayError | None = None) -> None:
        self.error = error

    async def query_nik(self, nik: str) -> PersonData:
        if self.error:
            raise self.error
        return PERSON


def _policy(tmp_path: Path, **agreement: object) -> tuple[Policy, CollectorRegistry]:
    path = tmp_path / "agreement.yaml"
    data = yaml.safe_load(DEMO_AGREEMENT_FILE.read_text())
    data["agreement"].update(agreement)
    path.write_text(yaml.safe_dump(data))
    metrics = CollectorRegistry()
    policy = Policy.open(
        path,
        audit_dir=tmp_path / "audit",
        suspension_file=tmp_path / "suspended",
        registry=metrics,
        fsync=False,
    )
    return policy, metrics


async def test_an_access_is_recorded_with_names_never_values(tmp_path: Path) -> None:
    policy, metrics = _policy(tmp_path, granted_fields=["nik", "nama_lengkap"])
    async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="ab" * 16) as access:
        person = await access.registry(Registry()).query_nik(PERSON.nik)
        released = access.release(person, source="registry")
        access.outcome = "found"
        buffer = track(bytearray(b"raw registry answer"))
    assert released is not None and released.nama_ayah is None
    assert not any(buffer)
    [record] = list(policy.trail.records())
    assert record.data["officer_id"] == "PETUGAS-001" and record.data["client"] == "case-app"
    assert record.data["fields_released"] == ["nik", "nama_lengkap"]
    assert record.data["registry_queried"] is True and record.data["outcome"] == "found"
    text = policy.trail.path.read_text()
    assert PERSON.nik not in text and "BUDI" not in text and "HARTO" not in text
    assert (
        metrics.get_sample_value(
            "ktp_gateway_fields_withheld_total", {"source": "registry", "field": "nama_ayah"}
        )
        == 1
    )
    assert metrics.get_sample_value("ktp_gateway_wiped_bytes_total") == len(buffer)
    assert verify_trail(policy.trail).intact


@pytest.mark.parametrize(
    ("agreement", "purpose", "code"),
    [
        ({"valid_until": "2026-01-31"}, "perlindungan_saksi", ErrorCode.AGREEMENT_NOT_IN_FORCE),
        ({}, "penagihan_utang", ErrorCode.PURPOSE_NOT_IN_AGREEMENT),
    ],
)
async def test_refusals_happen_before_any_access_and_are_recorded(
    tmp_path: Path, agreement: dict[str, object], purpose: str, code: ErrorCode
) -> None:
    policy, metrics = _policy(tmp_path, **agreement)
    policy._today = lambda: dt.date(2026, 11, 1)
    who = Accountability("PETUGAS-001", purpose)
    reached = False
    with pytest.raises(GatewayError) as refused:
        async with policy.access(Operation.VERIFICATION, who, request_id="cd" * 16):
            reached = True
    assert refused.value.code is code and not reached
    [record] = list(policy.trail.records())
    assert record.data["outcome"] == "refused" and record.data["code"] == code.value
    assert metrics.get_sample_value("ktp_gateway_access_refused_total", {"code": code}) == 1


async def test_suspension_refuses_the_next_request_and_shows_in_metrics(tmp_path: Path) -> None:
    policy, metrics = _policy(tmp_path)
    policy.guard.suspend("termination for breach")
    assert metrics.get_sample_value("ktp_gateway_agreement_suspended") == 1
    assert metrics.get_sample_value("ktp_gateway_agreement_in_force") == 0
    with pytest.raises(GatewayError) as refused:
        async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="ef" * 16):
            pass
    assert refused.value.code is ErrorCode.AGREEMENT_SUSPENDED
    policy.guard.resume()
    async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="ef" * 16):
        pass
    assert metrics.get_sample_value("ktp_gateway_agreement_in_force") == 1


async def test_days_remaining_is_a_metric(tmp_path: Path) -> None:
    policy, metrics = _policy(tmp_path)
    expected = (policy.agreement.valid_until - dt.date.today()).days + 1
    assert metrics.get_sample_value("ktp_gateway_agreement_days_remaining") == expected


async def test_the_photo_needs_the_agreement_to_grant_it(tmp_path: Path) -> None:
    policy, _ = _policy(tmp_path, photo_granted=False)
    with pytest.raises(GatewayError) as refused:
        async with policy.access(Operation.VERIFICATION, WHO, request_id="01" * 16, photo=True):
            pass
    assert refused.value.code is ErrorCode.FIELD_NOT_GRANTED


async def test_family_members_need_the_agreement_to_grant_them(tmp_path: Path) -> None:
    policy, _ = _policy(tmp_path, family_granted=False)
    with pytest.raises(GatewayError) as refused:
        async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="04" * 16, family=True):
            pass
    assert refused.value.code is ErrorCode.FIELD_NOT_GRANTED
    [record] = list(policy.trail.records())
    assert record.data["outcome"] == "refused" and record.data["registry_queried"] is False


async def test_family_members_are_released_through_the_gate_and_counted(tmp_path: Path) -> None:
    policy, metrics = _policy(tmp_path, granted_fields=["nik", "nama_lengkap"])
    member = FamilyMember(person=PERSON, hubungan_keluarga="KEPALA KELUARGA")
    async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="05" * 16) as access:
        [kept] = access.release_family([member])
        access.outcome = "found"
    assert kept.person.nama_ayah is None and kept.person.nama_lengkap == "BUDI CONTOH"
    [record] = list(policy.trail.records())
    assert record.data["family_members_released"] == 1 and record.data["photo_released"] is False
    assert "BUDI" not in policy.trail.path.read_text()
    labels = {"source": "family", "field": "nama_ayah"}
    assert metrics.get_sample_value("ktp_gateway_fields_withheld_total", labels) == 1


async def test_a_registry_failure_is_recorded_as_an_error_with_its_code(tmp_path: Path) -> None:
    policy, _ = _policy(tmp_path)
    failing = Registry(DukcapilError("down", code=ErrorCode.DUKCAPIL_UNAVAILABLE))
    with pytest.raises(DukcapilError):
        async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="02" * 16) as access:
            await access.registry(failing).query_nik(PERSON.nik)
    [record] = list(policy.trail.records())
    assert record.data["outcome"] == "error" and record.data["code"] == "dukcapil_unavailable"
    assert record.data["registry_queried"] is True and record.data["fields_released"] == []


async def test_no_release_when_the_access_cannot_be_recorded(tmp_path: Path) -> None:
    policy, metrics = _policy(tmp_path)
    async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="03" * 16):
        pass
    policy.trail.path.chmod(0o400)
    policy.trail.path.unlink()
    policy.trail.path.mkdir()  # the trail file is now a directory: every append fails
    with pytest.raises(AuditError):
        async with policy.access(Operation.NIK_LOOKUP, WHO, request_id="04" * 16) as access:
            access.outcome = "found"
    assert metrics.get_sample_value("ktp_gateway_audit_failures_total") == 1

"""The semester report from the audit trail: counts only, HTML with charts, CSV, JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.render import to_csv, to_html, to_json
from ktp_gateway.audit.report import build_report, date_range, semester
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE

AGREEMENT = {"reference": "PKS DEMO (DEMO-001/PKS/DUKCAPIL/2026; DEMO-001/PKS/LPSK/2026)"}


def _access(**data: object) -> dict[str, object]:
    base: dict[str, object] = {
        "operation": "verification", "officer_id": "PETUGAS-001", "purpose": "perlindungan_saksi",
        "client": "case-app", "reader": "Virtual PCD 00 00", "card_read": True,
        "registry_queried": True, "outcome": "verified", "code": None, "latency_ms": 30.0,
        "fields_released": ["nik", "nama_lengkap"], "return_data_queued": False,
    }  # fmt: skip
    return {**base, **data}


def _at(month: int, day: int = 10) -> str:
    return dt.datetime(2026, month, day, 9, 30, tzinfo=dt.UTC).isoformat()


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    rows: list[tuple[str, Kind, dict[str, object]]] = [
        (_at(6, 30), Kind.ACCESS, _access()),  # the semester before: not counted
        (_at(7), Kind.STARTED, {"agreement": "DEMO-001/PKS/LPSK/2026"}),
        (_at(7), Kind.ACCESS, _access(return_data_queued=True)),
        (_at(7), Kind.ACCESS, _access(outcome="mismatch", officer_id="PETUGAS-002")),
        (_at(8), Kind.ACCESS, _access(operation="nik_lookup", card_read=False, outcome="found",
                                      purpose="restitusi_kompensasi", photo_released=True,
                                      family_members_released=3)),
        (_at(8), Kind.ACCESS, _access(operation="nik_lookup", card_read=False,
                                      outcome="not_in_registry", code="dukcapil_not_found")),
        (_at(9), Kind.ACCESS, _access(outcome="error", code="sam_unavailable", card_read=False,
                                      registry_queried=False)),
        (_at(9), Kind.ACCESS, _access(outcome="error", code="card_removed", card_read=False,
                                      registry_queried=False)),
        (_at(10), Kind.ACCESS, _access(outcome="refused", code="purpose_not_in_agreement",
                                       card_read=False, registry_queried=False)),
        (_at(10), Kind.AGREEMENT, {"event": "suspended", "operator": "ADMIN-1"}),
        (_at(10, 11), Kind.AGREEMENT, {"event": "resumed", "operator": "ADMIN-1"}),
        (_at(11), Kind.RETURN_DATA, {"outcome": "accepted"}),
        (_at(11), Kind.RETURN_DATA, {"outcome": "failed"}),
        (_at(12), Kind.ACCESS, _access(operation="claims_verification", card_read=False,
                                       outcome="all_match", fields_released=[])),
    ]  # fmt: skip
    with trail._locked():
        for time, kind, data in rows:
            trail._append(kind, data, time)
    return trail


def test_a_semester_is_january_to_june_or_july_to_december() -> None:
    assert (semester("2026-1").start, semester("2026-1").end) == (
        dt.date(2026, 1, 1), dt.date(2026, 6, 30),
    )  # fmt: skip
    assert semester("2026-2").end == dt.date(2026, 12, 31)
    with pytest.raises(ConfigurationError):
        semester("2026-3")
    with pytest.raises(ConfigurationError):
        date_range(dt.date(2026, 5, 1), dt.date(2026, 4, 1))


def test_the_report_counts_the_period_by_every_dimension_the_agreement_asks(
    trail: AuditTrail,
) -> None:
    report = build_report(
        trail, semester("2026-2"), agreement=AGREEMENT, outbox_counts=lambda: {"pending": 3}
    )
    assert report.accesses == 8 and report.card_reads == 2 and report.nik_only == 3
    assert report.refused == 1 and report.gateway_starts == 1
    assert report.photos_released == 1 and report.family_lookups == 1
    assert report.family_members_released == 3
    assert report.by_month["2026-07"] == {"verification": 2}
    assert report.by_month["2026-08"] == {"nik_lookup": 2}
    assert report.by_month["2026-12"] == {"claims_verification": 1}
    assert set(report.by_month) == {f"2026-{m:02d}" for m in range(7, 13)}
    assert report.by_outcome["error"] == 2 and report.by_outcome["not_in_registry"] == 1
    # Admitted accesses only: the refused attempt is counted under refusals, by reason.
    assert report.by_purpose == {"perlindungan_saksi": 6, "restitusi_kompensasi": 1}
    assert report.by_officer == {"PETUGAS-001": 6, "PETUGAS-002": 1}
    assert report.refusals == {"purpose_not_in_agreement": 1}
    assert report.incidents == {"card_removed": 1, "sam_unavailable": 1}
    assert report.incidents_by_reader == {"Virtual PCD 00 00": 2}
    returns = report.return_data
    assert (returns.queued, returns.delivered, returns.failed_attempts) == (1, 1, 1)
    assert returns.pending_now == 3 and returns.dead_now == 0
    assert report.agreement_events == {"resumed": 1, "suspended": 1}
    assert report.trail.intact and report.trail.head_hash


def test_html_is_self_contained_with_charts_and_csv_and_json_agree(trail: AuditTrail) -> None:
    report = build_report(trail, semester("2026-2"), agreement=AGREEMENT)
    html = to_html(report)
    assert (
        html.count("<svg") == 2
        and "<script" not in html
        and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    )
    assert "verified intact" in html and "DEMO-001/PKS/LPSK/2026" in html
    assert "not configured" in html  # no outbox configured: said, not invented
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    totals = {r["key"]: r["count"] for r in rows if r["section"] == "totals"}
    assert totals["accesses"] == "8" and totals["card_reads"] == "2"
    assert totals["photos_released"] == "1" and totals["family_members_released"] == "3"
    assert "family card members released" in html
    assert {"section": "by_purpose", "key": "restitusi_kompensasi", "count": "1"} in rows
    assert json.loads(to_json(report))["accesses"] == 8


def test_a_tampered_trail_shows_in_the_report(trail: AuditTrail) -> None:
    lines = trail.path.read_text().splitlines()
    trail.path.write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    report = build_report(trail, semester("2026-2"), agreement=AGREEMENT)
    assert not report.trail.intact
    assert "NOT INTACT" in to_html(report)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ktp_gateway.cli", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_audit_verify_says_intact_or_where_it_was_tampered(trail: AuditTrail) -> None:
    directory = str(trail.directory)
    intact = _cli("audit", "verify", "--dir", directory)
    assert intact.returncode == 0 and "audit trail intact: 14 records" in intact.stdout
    head = json.loads(_cli("audit", "verify", "--dir", directory, "--json").stdout)["head_hash"]
    assert _cli("audit", "verify", "--dir", directory, "--expect-head", head).returncode == 0
    lines = trail.path.read_text().splitlines()
    lines[3] = lines[3].replace("PETUGAS-002", "PETUGAS-003")
    lines[6], lines[7] = lines[7], lines[6]
    trail.path.write_text("\n".join(lines) + "\n")
    tampered = _cli("audit", "verify", "--dir", directory)
    assert tampered.returncode == 1
    assert "line 4, seq 4: edited" in tampered.stdout
    assert "line 7, seq 8: removed" in tampered.stdout
    assert "line 8, seq 7: reordered" in tampered.stdout
    moved = _cli("audit", "verify", "--dir", directory, "--expect-head", "0" * 64)
    assert "no record has the expected hash" in moved.stdout


def test_report_command_writes_each_format(trail: AuditTrail, tmp_path: Path) -> None:
    env = {"KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE)}
    for fmt in ("html", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        done = _cli("report", "--semester", "2026-2", "--dir", str(trail.directory),
                    "--format", fmt, "--output", str(out), env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 200
    ranged = _cli("report", "--from", "2026-08-01", "--to", "2026-08-31", "--format", "json",
                  "--dir", str(trail.directory), env=env)  # fmt: skip
    assert json.loads(ranged.stdout)["by_operation"] == {"nik_lookup": 2}


def test_suspend_and_resume_from_the_command_line_are_audited(tmp_path: Path) -> None:
    env = {
        "KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE),
        "KTP_GATEWAY_AGREEMENT__SUSPENSION_FILE": str(tmp_path / "suspended"),
        "KTP_GATEWAY_AUDIT__DIR": str(tmp_path / "audit"),
    }
    done = _cli("agreement", "suspend", "--reason", "surat Dukcapil 12/2026", "--operator", "ADM-1",
                env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(_cli("agreement", "show", "--json", env=env).stdout)
    assert shown["state"] == "suspended" and shown["suspension_reason"] == "surat Dukcapil 12/2026"
    assert _cli("agreement", "resume", "--operator", "ADM-1", env=env).returncode == 0
    assert json.loads(_cli("agreement", "show", "--json", env=env).stdout)["state"] == "in_force"
    events = [r.data["event"] for r in AuditTrail(tmp_path / "audit").records()]
    assert events == ["suspended", "resumed"]


def test_invented_purposes_of_refused_attempts_and_return_data_stay_apart(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    rows = [
        _access(),
        _access(outcome="refused", code="purpose_not_in_agreement", purpose="pemasaran",
                officer_id="SIAPA-SAJA", card_read=False, registry_queried=False),
        _access(operation="return_data", outcome="queued", card_read=False,
                registry_queried=False, return_data_queued=True),
    ]  # fmt: skip
    with trail._locked():
        for data in rows:
            trail._append(Kind.ACCESS, data, _at(8))
    report = build_report(trail, semester("2026-2"), agreement=AGREEMENT)
    assert report.by_purpose == {"perlindungan_saksi": 1}  # the agreement's codes only
    assert report.by_officer == {"PETUGAS-001": 1}
    assert report.refusals == {"purpose_not_in_agreement": 1}
    assert report.accesses == 2 and "return_data" not in report.by_operation
    assert report.return_data.submitted == 1
    html = to_html(report)
    assert "pemasaran" not in html and "SIAPA-SAJA" not in html

"""The doctor with the shared state in PostgreSQL: the database must answer, and the agreement
check reads the shared suspension switch."""

from __future__ import annotations

from pathlib import Path

from ktp_gateway.config import Settings
from ktp_gateway.doctor.agreement import check_agreement
from ktp_gateway.doctor.configuration import check_storage
from ktp_gateway.doctor.context import Context, Options
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE, load_agreement, open_switch
from tests.postgres import PostgresServer


def _context(dsn: str, audit_dir: Path) -> Context:
    settings = Settings.model_validate(
        {"shared": {"backend": "postgres", "postgres_dsn": dsn}, "audit": {"dir": str(audit_dir)}}
    )
    return Context(Options(warn_days=30), settings, None)


def test_a_reachable_shared_database_is_ok_and_the_audit_directory_is_not_asked_for(
    postgres: PostgresServer,
) -> None:
    [line] = check_storage(_context(postgres.dsn, Path("/nonexistent/not-used/audit")))
    assert line.status.value == "ok", line
    assert (
        "shared state (audit trail, rate limits, suspension) in PostgreSQL answers" in line.summary
    )


def test_an_unreachable_shared_database_fails_without_naming_the_secret(tmp_path: Path) -> None:
    dsn = "host=/nonexistent-socket port=1 user=gateway password=hunter2 dbname=ktp"
    [line] = check_storage(_context(dsn, tmp_path))
    assert line.status.value == "fail" and "PostgreSQL" in line.summary
    assert "hunter2" not in line.model_dump_json() and "nonexistent" not in line.summary


def test_the_agreement_check_reads_the_shared_suspension_switch(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    settings = Settings.model_validate(
        {
            "shared": {"backend": "postgres", "postgres_dsn": postgres.dsn},
            "agreement": {"file": str(DEMO_AGREEMENT_FILE), "suspension_file": str(tmp_path / "s")},
        }
    )
    context = Context(Options(warn_days=30, expect_virtual=True), settings, None)
    agreement = load_agreement(DEMO_AGREEMENT_FILE)
    switch = open_switch(agreement, None, postgres.dsn)
    try:
        switch.suspend("uji dokter")
        [line] = check_agreement(context)
        assert line.status.value == "fail" and "suspended: uji dokter" in line.summary
        assert switch.resume()
        assert [line.status.value for line in check_agreement(context)] == ["ok"]
    finally:
        switch.close()
    unreachable = Settings.model_validate(
        {
            "shared": {"backend": "postgres", "postgres_dsn": "host=/nowhere port=1 dbname=ktp"},
            "agreement": {"file": str(DEMO_AGREEMENT_FILE)},
        }
    )
    [line] = check_agreement(Context(Options(warn_days=30), unreachable, None))
    assert line.status.value == "fail" and "PostgreSQL" in line.summary

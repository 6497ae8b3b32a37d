"""The doctor's storage check with the shared state in PostgreSQL: the database must answer."""

from __future__ import annotations

from pathlib import Path

from ktp_gateway.config import Settings
from ktp_gateway.doctor.configuration import check_storage
from ktp_gateway.doctor.context import Context, Options
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
    assert "shared state (audit trail, rate limits) in PostgreSQL answers" in line.summary


def test_an_unreachable_shared_database_fails_without_naming_the_secret(tmp_path: Path) -> None:
    dsn = "host=/nonexistent-socket port=1 user=gateway password=hunter2 dbname=ktp"
    [line] = check_storage(_context(dsn, tmp_path))
    assert line.status.value == "fail" and "PostgreSQL" in line.summary
    assert "hunter2" not in line.model_dump_json() and "nonexistent" not in line.summary

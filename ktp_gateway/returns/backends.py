"""The configured outbox store: SQLite by default, PostgreSQL when several gateways share it."""

from __future__ import annotations

from ktp_gateway.returns.settings import Backend, ReturnDataSettings
from ktp_gateway.returns.store import OutboxStore


def open_store(settings: ReturnDataSettings) -> OutboxStore:
    """The configured store, its table created if missing."""
    if settings.backend is Backend.POSTGRES:
        from ktp_gateway.returns.postgres_store import PostgresStore  # psycopg only when used

        assert settings.postgres_dsn is not None  # noqa: S101 (settings require it)
        return PostgresStore(settings.postgres_dsn.get_secret_value())
    from ktp_gateway.returns.sqlite_store import SqliteStore

    return SqliteStore(settings.sqlite_path)

"""The PostgreSQL edge: the one module that imports psycopg.

Two shapes, for two kinds of caller. `Database.session` opens a connection per call, inside one
transaction: right for commands and the outbox (thread-safe, and it survives a database
restart). `HeldConnection` keeps one asynchronous connection per event loop for a statement on
every request (a rate-limit token), reconnecting once when the server dropped it. Every
psycopg error becomes a `GatewayError` with the caller's code and the error's type name only:
psycopg's message can quote the DSN (a secret) or a parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import psycopg

from ktp_gateway.errors import ErrorCode, GatewayError

CONNECT_TIMEOUT_SECONDS = 10
# A statement on a request's path waits at most this long (a lock held by a stuck session).
STATEMENT_TIMEOUT_MS = 5000
_SCHEMA_LOCK = 0x6B7470  # serialises concurrent schema creation by several processes


def _unavailable(what: str, code: ErrorCode, exc: BaseException) -> NoReturn:
    raise GatewayError(
        f"{what} (PostgreSQL) unavailable ({type(exc).__name__})", code=code
    ) from None


class Database:
    """One PostgreSQL database, by DSN; a connection per `session`, or one kept (`keep`)."""

    def __init__(self, dsn: str, *, what: str, code: ErrorCode, keep: bool = False) -> None:
        self._dsn = dsn
        self.what = what  # how errors name it: "audit trail", "return-data outbox"
        self.code = code
        self._keep = keep
        self._kept: psycopg.Connection[Any] | None = None
        self._kept_lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside one transaction: committed on a clean exit, else rolled back.

        With `keep`, the same connection serves each session in turn (a writer thread's
        batches); a broken one is dropped, so the next session connects afresh.
        """
        if self._keep:
            with self._kept_lock, self._kept_session() as db:
                yield db
            return
        try:
            with psycopg.connect(self._dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS) as db:
                yield db
        except psycopg.Error as exc:
            _unavailable(self.what, self.code, exc)

    @contextmanager
    def _kept_session(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            if self._kept is None or self._kept.closed:
                self._kept = psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            with self._kept.transaction():
                yield self._kept
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                self.close()
            _unavailable(self.what, self.code, exc)

    def close(self) -> None:
        """Close the kept connection, if any."""
        kept, self._kept = self._kept, None
        if kept is not None:
            with contextlib.suppress(psycopg.Error):  # already broken
                kept.close()

    def ping(self) -> None:
        """Raise the caller's typed error unless the database answers a statement."""
        with self.session() as db:
            db.execute("SELECT 1")

    def create(self, schema: str) -> None:
        """Run `schema` (CREATE ... IF NOT EXISTS) once, even when several processes start."""
        with self.session() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute(schema)  # our own constant DDL

    def held(self) -> HeldConnection:
        return HeldConnection(self._dsn, what=self.what, code=self.code)


class HeldConnection:
    """One autocommit connection for short statements on the request path, per event loop."""

    def __init__(self, dsn: str, *, what: str, code: ErrorCode) -> None:
        self._dsn = dsn
        self._what = what
        self._code = code
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def fetchone(
        self, sql: str, parameters: Sequence[object] | Mapping[str, object]
    ) -> tuple[Any, ...] | None:
        """Run one statement (its own transaction) and return its first row."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection belongs to the loop that opened it
            self._loop, self._lock, self._connection = loop, asyncio.Lock(), None
        assert self._lock is not None  # noqa: S101 (set just above)
        async with self._lock:
            for attempt in (1, 2):
                try:
                    db = await self._connect()
                    cursor = await db.execute(sql, parameters)
                    return await cursor.fetchone()
                except psycopg.OperationalError as exc:
                    await self._drop()  # the server restarted or the socket broke
                    if attempt == 2:
                        _unavailable(self._what, self._code, exc)
                except psycopg.Error as exc:
                    _unavailable(self._what, self._code, exc)
        return None  # not reached: the second attempt returns or raises

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            )
        return self._connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            with contextlib.suppress(psycopg.Error):  # already broken
                await connection.close()

    async def aclose(self) -> None:
        if self._loop is asyncio.get_running_loop():
            await self._drop()
        self._connection = None

"""The PostgreSQL edge: the one module that imports psycopg.

Three shapes, for three kinds of caller. `Database.session` opens a connection per call, inside
one transaction: right for commands and the outbox (thread-safe, and it survives a database
restart). `HeldConnection` keeps one asynchronous connection per event loop for a statement on
every request (a rate-limit token), reconnecting once when the server dropped it. `Watch` keeps
the rows of one small query current in memory through LISTEN/NOTIFY, for a value read on every
request that changes rarely (the suspension switch): no round trip per request. Every
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
from psycopg import sql as pg_sql

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

    def watch(self, channel: str, query: str, parameters: Sequence[object]) -> Watch:
        """Keep `query`'s rows current, re-read on each notification on `channel`."""
        return Watch(self._dsn, what=self.what, code=self.code, channel=channel,
                     query=query, parameters=parameters)  # fmt: skip


def notify(db: psycopg.Connection[Any], channel: str) -> None:
    """Tell every `Watch` on `channel` to re-read (delivered when the transaction commits)."""
    db.execute("SELECT pg_notify(%s, '')", (channel,))


# A watch re-reads this often even without a notification: a dead connection is noticed, and
# a notification lost with a connection is made up for.
RECHECK_SECONDS = 5.0
RETRY_SECONDS = 1.0  # between two attempts to reconnect


class Watch:
    """The rows of one query, kept current by a thread that LISTENs on a channel.

    Unknown (`rows` raises the caller's typed error) until the first read and whenever the
    connection is lost, so a reader fails closed rather than trusting an old value; the thread
    reconnects by itself. The query is re-read after each notification and every
    `RECHECK_SECONDS`: LISTEN is in place before the first read, so no change falls between.
    """

    def __init__(
        self,
        dsn: str,
        *,
        what: str,
        code: ErrorCode,
        channel: str,
        query: str,
        parameters: Sequence[object],
    ) -> None:
        self._dsn = dsn
        self._what = what
        self._code = code
        self._channel = channel
        self._query = query
        self._parameters = tuple(parameters)
        self._rows: list[tuple[Any, ...]] | None = None
        self._error = "not read yet"
        self._tried = False  # a first read was attempted (whatever its outcome)
        self._known = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{channel}", daemon=True)
        self._thread.start()

    def rows(self, *, wait: float = 0.0) -> list[tuple[Any, ...]]:
        """The latest rows; waits up to `wait` seconds for a first attempt, else a typed error."""
        with self._known:
            if not self._tried and wait > 0:
                self._known.wait_for(lambda: self._tried, timeout=wait)
            if self._rows is None:
                raise GatewayError(
                    f"{self._what} (PostgreSQL) unavailable ({self._error})", code=self._code
                )
            return self._rows

    def _publish(self, rows: list[tuple[Any, ...]] | None, error: str = "") -> None:
        with self._known:
            self._rows, self._error, self._tried = rows, error, True
            self._known.notify_all()

    def _run(self) -> None:
        listen = pg_sql.SQL("LISTEN {}").format(pg_sql.Identifier(self._channel))
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_SECONDS,
                    options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                    keepalives=1,  # a silent peer is noticed in about 10 s
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=2,
                ) as db:
                    db.execute(listen)
                    while not self._stop.is_set():
                        self._publish(db.execute(self._query, self._parameters).fetchall())
                        for _ in db.notifies(timeout=RECHECK_SECONDS, stop_after=1):
                            pass  # any notification: read again
            except psycopg.Error as exc:
                self._publish(None, type(exc).__name__)
                self._stop.wait(RETRY_SECONDS)

    def close(self) -> None:
        """Stop the thread (it ends within `RECHECK_SECONDS`; a daemon, it never holds exit)."""
        self._stop.set()


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
        rows = await self._run(sql, parameters, many=False)
        return rows[0] if rows else None

    async def fetchall(
        self, sql: str, parameters: Sequence[object] | Mapping[str, object]
    ) -> list[tuple[Any, ...]]:
        """Run one statement (its own transaction) and return every row."""
        return await self._run(sql, parameters, many=True)

    async def _run(
        self, sql: str, parameters: Sequence[object] | Mapping[str, object], *, many: bool
    ) -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection belongs to the loop that opened it
            self._loop, self._lock, self._connection = loop, asyncio.Lock(), None
        assert self._lock is not None  # noqa: S101 (set just above)
        async with self._lock:
            for attempt in (1, 2):
                try:
                    db = await self._connect()
                    cursor = await db.execute(sql, parameters)
                    if many:
                        return await cursor.fetchall()
                    row = await cursor.fetchone()
                    return [] if row is None else [row]
                except psycopg.OperationalError as exc:
                    await self._drop()  # the server restarted or the socket broke
                    if attempt == 2:
                        _unavailable(self._what, self._code, exc)
                except psycopg.Error as exc:
                    _unavailable(self._what, self._code, exc)
        return []  # not reached: the second attempt returns or raises

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

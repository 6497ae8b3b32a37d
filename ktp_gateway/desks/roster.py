"""The roster of desks on the access point: one-time enrolment codes, each desk's certificate,
revocations and the SAM serials each desk holds.

A SQLite file in the desks directory, shared by the running access point and the operator's
`ktp-gateway desks` commands (WAL, short transactions). Codes are kept only as hashes: a code is
a bearer secret for as long as it lives (minutes), and used once. `generation` moves on each
change that affects who may connect, so the channel notices a revocation made by another process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ktp_gateway.desks.ca import IssuedCertificate
from ktp_gateway.desks.identity import check_desk_name
from ktp_gateway.errors import DeskError, ErrorCode

ROSTER_FILE = "desks.db"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by hand from a screen
CODE_GROUPS, CODE_GROUP_LENGTH = 4, 5  # 20 symbols of 5 bits: 100 bits, once, for minutes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS desks (
    name TEXT PRIMARY KEY,
    invited_at REAL NOT NULL,
    code_hash BLOB,
    code_expires REAL,
    enrolled_at REAL,
    serial TEXT,
    not_after REAL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS revoked (serial TEXT PRIMARY KEY, desk TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sams (
    serial TEXT PRIMARY KEY, desk TEXT NOT NULL, bound_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""


def _hash(code: str) -> bytes:
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).digest()


def new_code() -> str:
    """A one-time enrolment code, grouped for reading aloud: `K7Q2M-...`."""
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return "-".join(
        symbols[i : i + CODE_GROUP_LENGTH] for i in range(0, len(symbols), CODE_GROUP_LENGTH)
    )


@dataclass(frozen=True, slots=True)
class DeskEntry:
    """What the roster knows of one desk (never a SAM serial: those stay in the roster)."""

    name: str
    invited_at: dt.datetime
    enrolled_at: dt.datetime | None
    certificate_not_after: dt.datetime | None
    revoked_at: dt.datetime | None
    code_pending: bool

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "enrolled" if self.enrolled_at is not None else "invited"


def _time(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


class DeskRoster:
    """Enrolment codes, certificates, revocations and SAM bindings of the access point's desks."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / ROSTER_FILE
        self._guard = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.path.chmod(0o600)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._guard:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    @staticmethod
    def _revoke_serial(db: sqlite3.Connection, serial: str, name: str, now: dt.datetime) -> None:
        db.execute(
            "INSERT OR IGNORE INTO revoked VALUES (?, ?, ?)", (serial, name, now.timestamp())
        )

    @property
    def generation(self) -> int:
        """Moves on whenever who may connect changes (enrolment, renewal, revocation)."""
        with self._guard:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def invite(self, name: str, *, minutes: float, now: dt.datetime) -> str:
        """A one-time code for `name` (new, or re-enrolling: its old certificate dies on use)."""
        check_desk_name(name)
        code = new_code()
        expires = (now + dt.timedelta(minutes=minutes)).timestamp()
        with self._write() as db:
            db.execute(
                "INSERT INTO desks (name, invited_at, code_hash, code_expires) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET code_hash = excluded.code_hash,"
                " code_expires = excluded.code_expires",
                (name, now.timestamp(), _hash(code), expires),
            )
        return code

    def redeem(self, code: str, *, now: dt.datetime) -> str:
        """The desk a valid, unexpired, unused code was made for; the code is spent either way."""
        with self._write() as db:
            row = db.execute(
                "SELECT name, code_expires FROM desks WHERE code_hash = ?", (_hash(code),)
            ).fetchone()
            if row is not None:
                db.execute("UPDATE desks SET code_hash = NULL WHERE name = ?", (row[0],))
        if row is None or row[1] <= now.timestamp():
            raise DeskError(
                "the enrolment code is unknown, used or expired: ask for a new one",
                code=ErrorCode.DESK_ENROLMENT_REFUSED,
            )
        return str(row[0])

    def enrolled(self, name: str, issued: IssuedCertificate, *, now: dt.datetime) -> None:
        """`name` now holds `issued`; a certificate it held before is revoked."""
        with self._write() as db:
            old = db.execute("SELECT serial FROM desks WHERE name = ?", (name,)).fetchone()
            if old is not None and old[0] is not None:
                db.execute(
                    "INSERT OR IGNORE INTO revoked VALUES (?, ?, ?)",
                    (old[0], name, now.timestamp()),
                )
            db.execute(
                "UPDATE desks SET enrolled_at = ?, serial = ?, not_after = ?, revoked_at = NULL"
                " WHERE name = ?",
                (now.timestamp(), f"{issued.serial:x}", issued.not_after.timestamp(), name),
            )
            self._bump(db)

    def renewed(self, name: str, issued: IssuedCertificate) -> None:
        """`name` renewed over its live connection: the new certificate is the one it holds."""
        with self._write() as db:
            db.execute(
                "UPDATE desks SET serial = ?, not_after = ? WHERE name = ? AND revoked_at IS NULL",
                (f"{issued.serial:x}", issued.not_after.timestamp(), name),
            )
            self._bump(db)

    def revoke(self, name: str, *, now: dt.datetime) -> None:
        """Cut `name` off: its certificate is refused from now on, its SAMs are free again."""
        with self._write() as db:
            row = db.execute("SELECT serial FROM desks WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise DeskError("no desk of that name is enrolled", code=ErrorCode.DESK_NOT_FOUND)
            if row[0] is not None:
                db.execute(
                    "INSERT OR IGNORE INTO revoked VALUES (?, ?, ?)",
                    (row[0], name, now.timestamp()),
                )
            db.execute(
                "UPDATE desks SET revoked_at = ?, code_hash = NULL WHERE name = ?",
                (now.timestamp(), name),
            )
            db.execute("DELETE FROM sams WHERE desk = ?", (name,))
            self._bump(db)

    def bind_sam(self, name: str, serial: str, *, now: dt.datetime) -> bool:
        """Whether `name` holds the SAM `serial`, binding it first if it is free.

        A SAM binds to the first desk whose reading goes through it. One bound to another desk
        moves only to a desk (re-)enrolled after it was bound: carrying a SAM to another desk
        takes the administrator's `desks enrol`, never a desk's own claim.
        """
        with self._write() as db:
            enrolled = db.execute(
                "SELECT enrolled_at FROM desks WHERE name = ? AND revoked_at IS NULL", (name,)
            ).fetchone()
            if enrolled is None or enrolled[0] is None:
                return False
            held = db.execute(
                "SELECT desk, bound_at FROM sams WHERE serial = ?", (serial,)
            ).fetchone()
            if held is not None and (held[0] == name or held[1] >= enrolled[0]):
                return bool(held[0] == name)
            db.execute(
                "INSERT INTO sams VALUES (?, ?, ?) ON CONFLICT(serial) DO UPDATE"
                " SET desk = excluded.desk, bound_at = excluded.bound_at",
                (serial, name, now.timestamp()),
            )
        return True

    def holder_of(self, serial: str) -> str | None:
        """The desk a SAM serial is bound to, if any."""
        with self._guard:
            row = self._db.execute("SELECT desk FROM sams WHERE serial = ?", (serial,)).fetchone()
        return None if row is None else str(row[0])

    def revoked_serials(self) -> list[int]:
        with self._guard:
            rows = self._db.execute("SELECT serial FROM revoked").fetchall()
        return [int(row[0], 16) for row in rows]

    def holds(self, name: str, serial: int) -> bool:
        """Whether `serial` is the certificate `name` holds now (not superseded, not revoked)."""
        with self._guard:
            row = self._db.execute(
                "SELECT serial, revoked_at FROM desks WHERE name = ?", (name,)
            ).fetchone()
        return row is not None and row[1] is None and row[0] == f"{serial:x}"

    def entries(self) -> list[DeskEntry]:
        with self._guard:
            rows = self._db.execute(
                "SELECT name, invited_at, enrolled_at, not_after, revoked_at, code_hash"
                " FROM desks ORDER BY name"
            ).fetchall()
        return [
            DeskEntry(
                name=row[0],
                invited_at=dt.datetime.fromtimestamp(row[1], dt.UTC),
                enrolled_at=_time(row[2]),
                certificate_not_after=_time(row[3]),
                revoked_at=_time(row[4]),
                code_pending=row[5] is not None,
            )
            for row in rows
        ]

    def entry(self, name: str) -> DeskEntry | None:
        return next((e for e in self.entries() if e.name == name), None)

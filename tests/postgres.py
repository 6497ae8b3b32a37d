"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir, on a unix socket.

Runs as the `postgres` user when the tests run as root (initdb refuses root), otherwise as the
current user. Stopped with `pg_ctl stop -m immediate` and its directory removed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ktp_gateway_dev.stack.processes import free_port


def _bin(name: str) -> Path | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return Path(found[-1]) if found else None


@dataclass
class PostgresServer:
    directory: Path
    port: int
    owner: str | None

    @property
    def dsn(self) -> str:
        return f"host={self.directory / 'socket'} port={self.port} user=postgres dbname=postgres"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)  # noqa: S603

    def stop(self) -> None:
        pg_ctl = _bin("pg_ctl")
        if pg_ctl is not None:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                self._run(
                    str(pg_ctl), "-D", str(self.directory / "data"), "-m", "immediate", "stop"
                )
        shutil.rmtree(self.directory, ignore_errors=True)


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


def start_postgres() -> PostgresServer:
    """initdb a cluster in a temp dir and start it on a free port, listening on a unix socket."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb is not None and pg_ctl is not None
    directory = Path(tempfile.mkdtemp(prefix="ktp-pg-"))
    owner = "postgres" if os.geteuid() == 0 else None
    (directory / "socket").mkdir()
    if owner:
        shutil.chown(directory, owner)
        shutil.chown(directory / "socket", owner)
    server = PostgresServer(directory, free_port(), owner)
    data = str(directory / "data")
    server._run(str(initdb), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    options = f"-k {directory / 'socket'} -p {server.port} -c listen_addresses='' -c fsync=off"
    server._run(str(pg_ctl), "-D", data, "-o", options, "-l", str(directory / "log"), "-w", "start")
    return server

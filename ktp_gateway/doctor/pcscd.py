"""Is pcscd up, and which pcsc-lite is it? Asked of its socket and its binary, not through PC/SC.

A stopped pcscd refuses the socket; a hung one accepts it and then never answers, which the
readers check (the first PC/SC call) meets as a timeout.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok
from ktp_gateway.reader.smartcard.pcscd_host import (
    PCSCD_BINARY,
    PCSCD_SOCKET,
    pcscd_pids,
    socket_answers,
)

SOCKET_ENV = "PCSCLITE_CSOCK_NAME"  # pcsc-lite's own override of the socket path
VERSION_SECONDS = 3.0
_VERSION = re.compile(r"pcsc-lite version ([0-9][0-9.]*[0-9])")
START_FIX = (
    "start it: `sudo systemctl start pcscd.socket` (Debian package pcscd); "
    "its log: `journalctl -u pcscd`"
)
HANG_FIX = "pcscd accepts but does not answer: `sudo systemctl restart pcscd`"


def socket_path() -> Path:
    """Where pcsc-lite's clients (pyscard) look for pcscd."""
    return Path(os.environ.get(SOCKET_ENV) or PCSCD_SOCKET)


def pcscd_version(binary: Path = PCSCD_BINARY) -> str | None:
    """pcsc-lite's version from `pcscd --version`; None when it cannot be asked."""
    try:
        done = subprocess.run(  # noqa: S603 - a fixed binary, no user input
            [str(binary), "--version"],
            capture_output=True,
            timeout=VERSION_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = _VERSION.search(done.stdout.decode(errors="replace"))
    return found.group(1) if found else None


def check_pcscd(_context: Context) -> list[Line]:
    """pcscd answers on its socket; its version and pids."""
    path = socket_path()
    version = pcscd_version()
    named = f"pcsc-lite {version}" if version else "pcscd (version unknown)"
    if not socket_answers(path):
        pids = pcscd_pids()
        state = f"a pcscd runs (pids {', '.join(map(str, pids))})" if pids else "not running"
        return [fail("pcscd", "pcscd", f"no answer on {path}: {state}", START_FIX)]
    return [ok("pcscd", "pcscd", f"{named} answers on {path}")]

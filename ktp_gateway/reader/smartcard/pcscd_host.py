"""The host's pcscd as the doctor and the virtual stack see it: binary, socket, running pids.

Facts about the daemon asked of the file system and /proc, not through PC/SC (a hung pcscd would
hang a PC/SC call). The product's doctor uses them; so does the dev stack that starts pcscd.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

PCSCD_BINARY = Path("/usr/sbin/pcscd")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")


def socket_answers(path: Path = PCSCD_SOCKET) -> bool:
    """True when something accepts connections on pcscd's socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def pcscd_pids() -> tuple[int, ...]:
    """Pids of processes named pcscd (from /proc; empty where /proc is absent)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "pcscd" and alive(int(comm.parent.name)):
                pids.append(int(comm.parent.name))
    return tuple(sorted(pids))


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"

"""Process hardening at start: no core dumps, not dumpable, files private by default.

A core dump or a debugger attached by another user of the machine would copy the process's
memory, which holds personal data while requests run. `harden()` sets RLIMIT_CORE to 0, clears
the dumpable flag (prctl PR_SET_DUMPABLE: no core, no ptrace by other unprivileged processes)
and sets a 077 umask, then reports what it did; the gateway refuses to serve if it cannot.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from dataclasses import dataclass

from ktp_gateway.errors import ConfigurationError

PR_GET_DUMPABLE = 3  # <linux/prctl.h>
PR_SET_DUMPABLE = 4
UMASK = 0o077


@dataclass(frozen=True, slots=True)
class Hardening:
    core_limit: tuple[int, int]
    dumpable: int
    umask: int


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def dumpable() -> int:
    """The process's dumpable flag (0: no core dumps, no ptrace attach by peers)."""
    return int(_libc().prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))


def harden() -> Hardening:
    """Apply the settings above, or raise `ConfigurationError` saying which one failed."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as exc:
        raise ConfigurationError(f"cannot disable core dumps (RLIMIT_CORE): {exc}") from None
    libc = _libc()
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise ConfigurationError(f"cannot clear the dumpable flag: {os.strerror(errno)}")
    os.umask(UMASK)
    return Hardening(resource.getrlimit(resource.RLIMIT_CORE), dumpable(), UMASK)

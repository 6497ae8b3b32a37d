"""Owner-only files for keys and the roster: written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with an owner-only file (a key must never be world-readable,
    not even for the instant between create and chmod)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def is_owner_only(path: Path) -> bool:
    """No permission bits for group or others."""
    return path.stat().st_mode & 0o077 == 0

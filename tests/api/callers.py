"""Test helpers: a clients file with freshly generated keys (nothing pre-baked to leak)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ktp_gateway.callers.keys import hash_key, new_key


def make_key() -> tuple[str, dict[str, Any]]:
    """A new key and its clients-file entry."""
    key_id, key = new_key()
    return key, {"id": key_id, "hash": hash_key(key)}


def write_clients(path: Path, clients: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"clients": clients}), encoding="utf-8")
    return path


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

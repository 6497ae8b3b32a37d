"""API keys: generated at random, shown once, stored only as a scrypt hash.

A key reads `kgw_<id>_<secret>`. The id is public (it names the key in the clients file and
in logs); the secret is 32 random bytes. The gateway keeps `scrypt(secret)` only, so a copy
of the clients file lets nobody call the API.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "kgw"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # ~50 ms per check on a 2-core machine, 16 MiB
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{43}})$")
_HASH = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key as a caller sent it, split into its public id and its secret."""

    key_id: str
    secret: str


def parse_key(text: str) -> PresentedKey | None:
    """The key's parts, or None when it is not shaped like a gateway key."""
    match = _KEY.match(text.strip())
    return PresentedKey(match[1], match[2]) if match else None


def new_key() -> tuple[str, str]:
    """A fresh key: (its id, the whole key to hand to the client application once)."""
    key_id = secrets.token_hex(4)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 << 20)


def hash_key(key: str) -> str:
    """What goes into the clients file for `key` (a new salt each time)."""
    presented = parse_key(key)
    if presented is None:
        raise ValueError("not a gateway API key")
    salt = secrets.token_bytes(16)
    digest = _scrypt(presented.secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${encoded[0]}${encoded[1]}"


@functools.cache
def decoy_hash() -> str:
    """A hash no key matches, with the parameters every new key gets: checked in place of a
    key id that is unknown, expired or malformed, so that a wrong key costs the same scrypt
    whatever its id (no caller learns which ids are live from the time of a 401)."""
    return hash_key(new_key()[1])


def valid_hash(stored: str) -> bool:
    """Whether `stored` is a hash this module can check (used when the clients file loads)."""
    return _HASH.match(stored) is not None


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a presented secret against its stored scrypt hash."""
    match = _HASH.match(stored)
    if match is None:
        return False
    n, r, p = int(match[1]), int(match[2]), int(match[3])
    salt, expected = base64.b64decode(match[4]), base64.b64decode(match[5])
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p), expected)

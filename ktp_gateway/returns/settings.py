"""Settings of the return-data outbox, nested in the gateway's settings as `return_data`.

Where Dukcapil's store is and how to authenticate to it are Dukcapil settings
(`dukcapil.returns`); this section is about keeping the items: which database, the sealing key,
how often and how long to retry.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ktp_gateway.errors import ConfigurationError

KEY_BYTES = 32  # AES-256-GCM


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class ReturnDataSettings(BaseModel):
    """The outbox: off until configured (it needs a sealing key and Dukcapil's store URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Run the data balikan outbox; needs an encryption key and dukcapil.returns.url.
    enabled: bool = False
    # Enqueue after each verification that carries a nomor register (and SK) and found a record.
    auto_after_verification: bool = True
    backend: Backend = Backend.SQLITE  # where the sealed items are kept
    # The SQLite database file (backend sqlite); its directory must be writable.
    sqlite_path: Path = Path("/var/lib/ktp-gateway/return-outbox.sqlite3")
    # libpq connection string, required with backend postgres; a secret.
    # E.g. "host=/run/postgresql dbname=ktp user=gateway".
    postgres_dsn: SecretStr | None = None
    # AES-256-GCM sealing key: 32 random bytes, base64; a secret: prefer encryption_key_file.
    encryption_key: SecretStr | None = None
    # Owner-only file holding the base64 key (used when encryption_key is not set).
    encryption_key_file: Path | None = None
    # Keys being rotated out (base64 secrets, like encryption_key): items sealed under them still
    # open; `ktp-gateway returns rekey` re-seals them under the current key, then remove these.
    previous_encryption_keys: list[SecretStr] = []
    # Owner-only files holding previous keys (base64), like encryption_key_file; JSON list in env.
    previous_encryption_key_files: list[Path] = []
    # Delivery attempts before an item goes to the dead letter (`ktp-gateway returns retry`).
    max_attempts: int = Field(default=12, ge=1, le=1000)
    # Seconds before the second attempt, doubling after each failure (+-20 % jitter).
    backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Cap on the wait between two attempts, in seconds (before the jitter).
    backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    # An item being delivered is leased; a gateway that died mid-delivery frees it when the
    # lease ends. Longer than one delivery can take (the client's timeouts and retry).
    lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Seconds between looks for due items when idle (a new item wakes the worker at once).
    poll_seconds: float = Field(default=2.0, gt=0, le=600)
    # Items leased and delivered together in one pass.
    batch_size: int = Field(default=16, ge=1, le=500)

    @model_validator(mode="after")
    def _complete(self) -> ReturnDataSettings:
        if self.backend is Backend.POSTGRES and self.enabled and self.postgres_dsn is None:
            raise ValueError("backend postgres needs postgres_dsn")
        if self.enabled and self.encryption_key is None and self.encryption_key_file is None:
            raise ValueError("return data needs encryption_key or encryption_key_file")
        return self

    def key(self) -> bytes:
        """The 32-byte sealing key (a too-open key file or a malformed key is refused)."""
        if self.encryption_key is None and self.encryption_key_file is None:
            raise ConfigurationError("return-data encryption key is not configured")
        return _read_key(self.encryption_key, self.encryption_key_file)

    def previous_keys(self) -> list[bytes]:
        """Keys being rotated out, read and checked as the current one is."""
        return [
            *(_read_key(secret, None) for secret in self.previous_encryption_keys),
            *(_read_key(None, path) for path in self.previous_encryption_key_files),
        ]


def _read_key(secret: SecretStr | None, path: Path | None) -> bytes:
    """One key from its secret or its owner-only file: base64 of 32 bytes."""
    if secret is not None:
        text = secret.get_secret_value()
    else:
        assert path is not None  # noqa: S101 (callers pass one of the two)
        if path.stat().st_mode & 0o077:
            raise ConfigurationError("return-data key file must not be readable by group or others")
        text = path.read_text(encoding="ascii")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise ConfigurationError("return-data encryption key is not base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError("return-data encryption key must be 32 bytes (base64)")
    return key

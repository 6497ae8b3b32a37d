"""Dukcapil credentials from the environment or secret files, re-read when a file changes.

Dukcapil rotates passwords and tokens; an operator replaces the file (atomically, by rename)
and the next request uses the new value, without a restart. Each use costs one `stat` per file.
Values are SecretStr and are never logged: the reload log line names the field only.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import SecretStr

from ktp_gateway.errors import ConfigurationError

log = structlog.get_logger("ktp_gateway.dukcapil")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What Dukcapil checks on every call (its codes 03, 09) and the return-data token."""

    user_id: str
    password: SecretStr
    ip_user: str
    return_token: SecretStr


class SecretFile:
    """One secret in a file readable by its owner only; re-read when it changes."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path
        self._stamp: tuple[int, int, int] | None = None
        self._value = ""

    def value(self) -> str:
        """The current content (stripped); re-read if the file's inode, size or mtime changed."""
        try:
            info = self.path.stat()
        except OSError as exc:
            raise ConfigurationError(
                f"Dukcapil {self.name} file cannot be read ({type(exc).__name__})"
            ) from None
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if stamp != self._stamp:
            if info.st_mode & 0o077:
                raise ConfigurationError(
                    f"Dukcapil {self.name} file must not be readable by group or others"
                )
            self._value = self.path.read_text(encoding="utf-8").strip()
            if self._stamp is not None:
                log.info("dukcapil.credentials_reloaded", operation=self.name)
            self._stamp = stamp
        return self._value


class CredentialSource:
    """Credentials as of now: fixed values from settings, or secret files re-read on change."""

    def __init__(
        self,
        *,
        user_id: str,
        user_id_file: Path | None,
        password: SecretStr,
        password_file: Path | None,
        ip_user: str,
        return_token: SecretStr,
        return_token_file: Path | None,
    ) -> None:
        self._user_id = user_id
        self._password = password
        self._ip_user = ip_user
        self._token = return_token
        self._files = {
            name: SecretFile(name, path)
            for name, path in (
                ("user_id", user_id_file),
                ("password", password_file),
                ("return_token", return_token_file),
            )
            if path is not None
        }
        self._lock = threading.Lock()
        self.current()  # a missing or too-open file fails at start-up, not at the first call

    def _get(self, name: str, fixed: str) -> str:
        source = self._files.get(name)
        return source.value() if source is not None else fixed

    def current(self) -> Credentials:
        """The credentials to use for this call."""
        with self._lock:
            return Credentials(
                user_id=self._get("user_id", self._user_id),
                password=SecretStr(self._get("password", self._password.get_secret_value())),
                ip_user=self._ip_user,
                return_token=SecretStr(self._get("return_token", self._token.get_secret_value())),
            )


def write_secret(path: Path, value: str) -> None:
    """Replace a secret file atomically with owner-only permissions (tests and tooling)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.replace(tmp, path)

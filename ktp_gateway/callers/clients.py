"""The clients file: which applications may call the API, with which keys and which fields.

The file is YAML, holds only key hashes, and is re-read when it changes (checked on each
authentication with one `stat`), so keys are added, rotated and revoked without a restart. A
change that does not validate is refused and the last good version stays in force.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ktp_gateway.callers.keys import PresentedKey, decoy_hash, valid_hash, verify_secret
from ktp_gateway.domain import GrantedField
from ktp_gateway.errors import ConfigurationError

log = structlog.get_logger("ktp_gateway.callers")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyEntry(_Strict):
    """One API key of a client: its public id and the scrypt hash of its secret."""

    id: str = Field(pattern=r"^[0-9a-f]{8}$")
    hash: str
    not_after: dt.date | None = Field(default=None, description="last day the key is accepted")

    @field_validator("hash")
    @classmethod
    def _known_hash(cls, value: str) -> str:
        if not valid_hash(value):
            raise ValueError("not a scrypt hash made by `ktp-gateway keys new`")
        return value


class ClientEntry(_Strict):
    """A client application: its name (in logs, metrics and the audit trail) and credentials."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    keys: tuple[KeyEntry, ...] = ()
    certificate_names: tuple[str, ...] = Field(
        default=(), description="TLS client certificate subject CNs that identify this client"
    )
    fields: tuple[GrantedField, ...] | None = Field(
        default=None, description="granted fields this client may receive; default: all"
    )
    photo: bool | None = Field(
        default=None,
        description="may receive face photos; default: only if `fields` is not narrowed",
    )
    family: bool | None = Field(
        default=None,
        description="may receive the members of a family card (KK); default: only if `fields` "
        "is not narrowed",
    )
    outbox_operator: bool = Field(
        default=False,
        description="sees and retries every client's data balikan items (an operator's tool); "
        "any other client sees only its own",
    )


class ClientsFile(_Strict):
    clients: tuple[ClientEntry, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> ClientsFile:
        for what, values in (
            ("client name", [c.name for c in self.clients]),
            ("key id", [k.id for c in self.clients for k in c.keys]),
            ("certificate name", [n for c in self.clients for n in c.certificate_names]),
        ):
            if len(values) != len(set(values)):
                raise ValueError(f"a {what} appears twice")
        return self


class AuthMethod(StrEnum):
    API_KEY = "api_key"
    MTLS = "mtls"
    NONE = "none"  # loopback without configured authentication (development)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the client's name, how it proved it, and the fields it may receive."""

    name: str
    method: AuthMethod
    fields: frozenset[GrantedField]
    key_id: str | None = None
    photo: bool = True  # may receive face photos (the card's or the registry's)
    family: bool = True  # may receive the members of a person's family card (KK)
    outbox_operator: bool = False  # sees every client's data balikan items

    @property
    def outbox_scope(self) -> str | None:
        """Whose outbox items this caller sees: its own (its name), or all (None)."""
        return None if self.outbox_operator else self.name


ALL_FIELDS = frozenset(GrantedField)
# Without configured authentication there is one caller, the machine's own: it operates the outbox.
ANONYMOUS = Caller(name="local", method=AuthMethod.NONE, fields=ALL_FIELDS, outbox_operator=True)


def _caller(entry: ClientEntry, method: AuthMethod, key_id: str | None = None) -> Caller:
    fields = ALL_FIELDS if entry.fields is None else frozenset(entry.fields)
    unnarrowed = entry.fields is None  # a client narrowed to some fields opts in to the rest
    return Caller(
        name=entry.name,
        method=method,
        fields=fields,
        key_id=key_id,
        photo=unnarrowed if entry.photo is None else entry.photo,
        family=unnarrowed if entry.family is None else entry.family,
        outbox_operator=entry.outbox_operator,
    )


def load_clients(path: Path) -> ClientsFile:
    """Parse and validate the clients file; ConfigurationError says what is wrong (no secrets)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ClientsFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"clients file unreadable: {type(exc).__name__}") from exc
    except ValidationError as exc:
        where = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors())
        raise ConfigurationError(f"clients file invalid: {where}") from exc


class ClientDirectory:
    """The clients file in force, reloaded on change; answers "which client is this?"."""

    def __init__(self, path: Path, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.path = path
        self._today = today
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._file = load_clients(path)  # at start a bad file is fatal
        self._verified: dict[str, bytes] = {}  # key id -> sha256(secret) after one scrypt check

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> ClientsFile:
        """The file's current content, re-read if it changed since the last look."""
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self._file

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        self._stamp = stamp
        try:
            self._file = load_clients(self.path)
        except ConfigurationError as exc:
            log.error("clients file change refused; the previous version stays", error=exc.detail)
            return
        self._verified = {}
        log.info("clients file reloaded", count=len(self._file.clients))

    def _find_key(self, key_id: str) -> tuple[ClientEntry, KeyEntry] | None:
        for client in self.current().clients:
            for key in client.keys:
                if key.id == key_id:
                    return client, key
        return None

    def _usable(self, key: KeyEntry) -> bool:
        return key.not_after is None or self._today() <= key.not_after

    def check_cached(self, presented: PresentedKey) -> Caller | None:
        """The caller if this exact key was verified since the file last changed (fast path)."""
        found = self._find_key(presented.key_id)
        known = self._verified.get(presented.key_id)
        if found is None or known is None or not self._usable(found[1]):
            return None
        digest = hashlib.sha256(presented.secret.encode()).digest()
        if not hmac.compare_digest(digest, known):
            return None
        return _caller(found[0], AuthMethod.API_KEY, presented.key_id)

    def check(self, presented: PresentedKey) -> Caller | None:
        """The caller if the key is listed, unexpired and its secret matches (one scrypt, also
        for an id that is unknown or expired: the same time whatever the id)."""
        found = self._find_key(presented.key_id)
        if found is None or not self._usable(found[1]):
            verify_secret(presented.secret, decoy_hash())
            return None
        client, key = found
        if not verify_secret(presented.secret, key.hash):
            return None
        self._verified[key.id] = hashlib.sha256(presented.secret.encode()).digest()
        return _caller(client, AuthMethod.API_KEY, key.id)

    def by_certificate(self, common_name: str) -> Caller | None:
        """The client a verified TLS client certificate names, if the file lists it."""
        for client in self.current().clients:
            if common_name in client.certificate_names:
                return _caller(client, AuthMethod.MTLS)
        return None

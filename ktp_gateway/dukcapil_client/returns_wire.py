"""The return-data (data balikan) call on the wire: its body, its answers, its key names.

Shape seen once in public code (notes): `POST <store URL>` with `Authorization: Bearer <token>`,
body `[{"id_lembaga", "nama_lembaga", "data": [{"NIK", "param": [{...}]}]}]`; 200
`{"message": "Success"}`, 400 `{"message": "Data sudah pernah dikirim"}` when Dukcapil already
holds the data. Every key name is a setting, so the real script's shape is a settings change.
One item per call: a 400 for a batch could not say which item was the repeat.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from ktp_gateway.errors import DukcapilError, ErrorCode

ALREADY_SENT = "data sudah pernah dikirim"
SUCCESS = "success"


class ReturnWireSettings(BaseModel):
    """Where and how to send data balikan (the script, token and User ID Dukcapil provides)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Full URL of Dukcapil's data balikan store script; required when return_data is enabled.
    url: str | None = None
    # Bearer token for the store; a secret: prefer token_file.
    token: SecretStr = SecretStr("")
    # Owner-only file holding the token, re-read whenever it changes; wins over token.
    token_file: Path | None = None
    id_lembaga: str = ""  # the agency's ID as Dukcapil assigns it, sent with each item
    nama_lembaga: str = "LPSK"  # the agency's name, sent with each item
    nik_key: str = "NIK"  # body key of the NIK in each item
    register_key: str = "nomor_register"  # body key of the nomor register
    sk_key: str = "nomor_sk_rapat_paripurna"  # body key of the plenary decision letter number

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("returns.url must be an http(s) URL with a host")
        if parts.username or parts.password or parts.fragment:
            raise ValueError("returns.url takes no credentials or fragment")
        return value


class ReturnOutcome(StrEnum):
    """How Dukcapil took one item: both mean Dukcapil holds it now."""

    ACCEPTED = "accepted"
    ALREADY_SENT = "already_sent"


def return_body(
    settings: ReturnWireSettings, nik: str, nomor_register: str, nomor_sk: str
) -> list[dict[str, Any]]:
    """The JSON body for one item in the configured spelling."""
    param = {settings.register_key: nomor_register, settings.sk_key: nomor_sk}
    return [
        {
            "id_lembaga": settings.id_lembaga,
            "nama_lembaga": settings.nama_lembaga,
            "data": [{settings.nik_key: nik, "param": [param]}],
        }
    ]


def _message(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    message = data.get("message") if isinstance(data, dict) else None
    return " ".join(message.split()).casefold() if isinstance(message, str) else None


def _error(code: ErrorCode, detail: str) -> DukcapilError:
    return DukcapilError(detail, code=code)


def interpret_return(status: int, body: bytes) -> ReturnOutcome:
    """Dukcapil's answer to one item, or a DukcapilError (never echoing the body)."""
    message = _message(body)
    if status == 200 and message == SUCCESS:
        return ReturnOutcome.ACCEPTED
    if status in {200, 400, 409} and message == ALREADY_SENT:
        return ReturnOutcome.ALREADY_SENT  # makes every retry safe (notes)
    if status in {401, 403}:
        raise _error(ErrorCode.DUKCAPIL_AUTH_FAILED, "Dukcapil refused the return-data token")
    if status >= 500:
        raise _error(ErrorCode.DUKCAPIL_UNAVAILABLE, f"return-data store answered HTTP {status}")
    if message is None:
        raise _error(
            ErrorCode.DUKCAPIL_BAD_RESPONSE,
            f"return-data store answered HTTP {status} without a JSON message (a proxy page?)",
        )
    raise _error(ErrorCode.DUKCAPIL_REJECTED, f"return-data store refused the item (HTTP {status})")

"""Wire models: the request body per key style, the envelope's shape, lenient records."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from ktp_gateway.dukcapil_client.wire import (
    KeyStyle,
    NikRequest,
    WireRecord,
    parse_envelope,
)
from ktp_gateway.errors import DukcapilError, ErrorCode

NIK = "3171011505809901"
REQUEST = NikRequest(nik=NIK, user_id="USER", password=SecretStr("rahasia"), ip_user="127.0.0.1")


def test_upper_key_style() -> None:
    assert REQUEST.to_wire(KeyStyle.UPPER) == {
        "NIK": NIK,
        "user_id": "USER",
        "password": "rahasia",
        "ip_user": "127.0.0.1",
    }


def test_camel_key_style() -> None:
    assert REQUEST.to_wire(KeyStyle.CAMEL) == {
        "nik": NIK,
        "userId": "USER",
        "password": "rahasia",
        "ipUser": "127.0.0.1",
    }


def test_request_repr_hides_the_password() -> None:
    assert "rahasia" not in repr(REQUEST)
    assert "rahasia" not in str(REQUEST)


ENVELOPE: dict[str, Any] = {
    "content": [{"NIK": NIK, "NAMA_LGKP": "BUDI CONTOH", "AGAMA": "ISLAM"}],
    "lastPage": True,
    "numberOfElements": 1,
    "sort": None,
    "totalElements": 1,
    "firstPage": True,
    "number": 0,
    "size": 1,
    "quotaLimiter": "1234",
}


def test_envelope_parses_and_ignores_unknown_keys() -> None:
    envelope = parse_envelope({**ENVELOPE, "extra": 1})
    assert envelope.quota_limiter == 1234
    assert envelope.total_elements == 1
    (record,) = envelope.content
    assert record.nik == NIK
    assert "AGAMA" not in record.model_dump_json()
    assert "ISLAM" not in record.model_dump_json()


def test_paging_keys_are_optional_but_content_is_not() -> None:
    assert parse_envelope({"content": [{"RESPON": "Login Gagal"}]}).quota_limiter is None
    with pytest.raises(DukcapilError) as caught:
        parse_envelope({"lastPage": True})
    assert caught.value.code is ErrorCode.DUKCAPIL_BAD_RESPONSE
    assert "content" in caught.value.detail


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "Data Tidak Ditemukan",
        {"content": "Data Tidak Ditemukan"},
        {"content": [NIK]},
        {"content": [{"NIK": {"nested": NIK}}]},
        {"content": [], "quotaLimiter": "banyak"},
    ],
    ids=["null", "list", "string", "content-string", "content-item", "nested", "quota"],
)
def test_wrong_shapes_are_bad_responses_without_values(data: object) -> None:
    with pytest.raises(DukcapilError) as caught:
        parse_envelope(data)
    assert caught.value.code is ErrorCode.DUKCAPIL_BAD_RESPONSE
    assert NIK not in str(caught.value)
    assert "banyak" not in str(caught.value)


def test_record_aliases() -> None:
    record = WireRecord.model_validate({"NKK": "3171012001109901", "STAT_KWN": "KAWIN"})
    assert record.no_kk == "3171012001109901"
    assert record.status_kawin == "KAWIN"


def test_record_fields_are_only_read_by_wire_key() -> None:
    # Python-side names are not wire keys: a lower-case `nama_lgkp` is ignored like any unknown.
    assert WireRecord.model_validate({"nama_lgkp": "X"}).nama_lgkp is None

"""The RESPON / RESPONSE_CODE table: every known message, its variants, and the unknown ones."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.dukcapil_client.messages import CODES, TEXTS, normalise, refusal
from ktp_gateway.dukcapil_client.wire import WireRecord
from ktp_gateway.errors import ErrorCode

C = ErrorCode


def record(**keys: Any) -> WireRecord:
    return WireRecord.model_validate(keys)


@pytest.mark.parametrize(
    ("respon", "code"),
    [
        ("Data Tidak Ditemukan", C.DUKCAPIL_NOT_FOUND),
        ("IP Address Tidak Sesuai", C.DUKCAPIL_IP_NOT_ALLOWED),
        ("Login Gagal", C.DUKCAPIL_AUTH_FAILED),
        ("Kuota Akses Hari ini telah Habis", C.DUKCAPIL_QUOTA_EXHAUSTED),
        ("KUOTA AKSES HARI INI TELAH HABIS", C.DUKCAPIL_QUOTA_EXHAUSTED),
        ("IP Client Tidak Terdaftar", C.DUKCAPIL_IP_NOT_ALLOWED),
        ("IP Client  Tidak Terdaftar", C.DUKCAPIL_IP_NOT_ALLOWED),
        ("Data Ditemukan, Meninggal Dunia", C.DUKCAPIL_HOLDER_DECEASED),
        (
            "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
            C.DUKCAPIL_RECORD_BLOCKED,
        ),
        ("  data   tidak ditemukan ", C.DUKCAPIL_NOT_FOUND),
    ],
)
def test_legacy_messages(respon: str, code: ErrorCode) -> None:
    refused = refusal(record(RESPON=respon))
    assert refused is not None
    assert refused.code is code
    assert refused.message is not None


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("03", C.DUKCAPIL_AUTH_FAILED),
        ("04", C.DUKCAPIL_IP_NOT_ALLOWED),
        ("05", C.DUKCAPIL_QUOTA_EXHAUSTED),
        ("06", C.DUKCAPIL_REJECTED),
        ("07", C.DUKCAPIL_REJECTED),
        ("08", C.DUKCAPIL_REJECTED),
        ("09", C.DUKCAPIL_AUTH_FAILED),
        ("10", C.DUKCAPIL_IP_NOT_ALLOWED),
        ("11", C.DUKCAPIL_HOLDER_DECEASED),
        ("12", C.DUKCAPIL_DUPLICATE_RECORDS),
        ("13", C.DUKCAPIL_NOT_FOUND),
        ("14", C.DUKCAPIL_RECORD_BLOCKED),
        ("15", C.DUKCAPIL_NIK_FORMAT_REJECTED),
        ("16", C.DUKCAPIL_REJECTED),
        ("17", C.DUKCAPIL_AUTH_FAILED),
    ],
)
def test_coded_style(number: str, code: ErrorCode) -> None:
    refused = refusal(record(RESPONSE_CODE=number, RESPONSE_DESC="teks", RESPONSE="teks"))
    assert refused is not None
    assert refused.code is code
    assert refused.response_code == number


def test_every_code_of_the_notes_is_in_the_table() -> None:
    assert sorted(CODES) == [f"{n:02d}" for n in (1, *range(3, 18))]


def test_code_found_is_data_even_with_a_description() -> None:
    found = record(NIK="3171011505809901", RESPONSE_CODE="01", RESPONSE_DESC="Data Ditemukan")
    assert refusal(found) is None


def test_the_code_decides_over_the_text() -> None:
    # A deceased holder's record may come with code 11 and the data: still a refusal.
    refused = refusal(record(NIK="3171011505809901", NAMA_LGKP="X", RESPONSE_CODE="11"))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_HOLDER_DECEASED


@pytest.mark.parametrize("number", ["13", 13, " 13 "])
def test_code_spellings(number: object) -> None:
    refused = refusal(record(RESPONSE_CODE=number))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_NOT_FOUND


def test_single_digit_code_is_padded() -> None:
    refused = refusal(record(RESPONSE_CODE="5"))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_QUOTA_EXHAUSTED


def test_response_key_without_code_is_read_as_text() -> None:
    refused = refusal(record(RESPONSE="Login Gagal"))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_AUTH_FAILED


def test_record_without_respon_is_data() -> None:
    assert refusal(record(NIK="3171011505809901", NAMA_LGKP="BUDI CONTOH")) is None


def test_unknown_text_is_its_own_outcome_carrying_the_text() -> None:
    refused = refusal(record(RESPON="Sistem Sedang Sibuk"))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_UNKNOWN_RESPONSE
    assert refused.message == "Sistem Sedang Sibuk"
    assert "Sistem Sedang Sibuk" in refused.detail


def test_unknown_code() -> None:
    refused = refusal(record(RESPONSE_CODE="99", RESPONSE_DESC="Baru"))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_UNKNOWN_RESPONSE
    assert "code 99" in refused.detail
    assert "Baru" in refused.detail


def test_empty_respon_is_unknown() -> None:
    refused = refusal(record(RESPON=" "))
    assert refused is not None
    assert refused.code is C.DUKCAPIL_UNKNOWN_RESPONSE


def test_unknown_text_never_carries_a_number_like_a_nik() -> None:
    refused = refusal(record(RESPON="NIK 3171011505809901 diblokir " + "x" * 500))
    assert refused is not None
    assert "3171011505809901" not in str(refused)
    assert "3171011505809901" not in (refused.message or "")
    assert len(refused.message or "") <= 200


def test_table_keys_are_normalised() -> None:
    assert all(normalise(text) == text for text in TEXTS)


def test_tables_only_hold_dukcapil_codes() -> None:
    for meaning in [*CODES.values(), *TEXTS.values()]:
        assert meaning.code is None or meaning.code.value.startswith("dukcapil_")


def _variants(text: str) -> st.SearchStrategy[str]:
    words = text.split(" ")
    spacing = st.lists(
        st.sampled_from([" ", "  ", "\t", " \n "]), min_size=len(words) - 1, max_size=len(words) - 1
    )
    cases = st.lists(st.booleans(), min_size=len(text), max_size=len(text))

    def build(spaces: list[str], upper: list[bool]) -> str:
        flipped = "".join(c.upper() if u else c.lower() for c, u in zip(text, upper, strict=True))
        parts = flipped.split(" ")
        return parts[0] + "".join(s + p for s, p in zip(spaces, parts[1:], strict=True))

    return st.builds(build, spacing, cases)


@given(data=st.data(), text=st.sampled_from(sorted(TEXTS)))
def test_any_case_and_spacing_of_a_known_message(data: st.DataObject, text: str) -> None:
    variant = data.draw(_variants(text))
    refused = refusal(record(RESPON=f" {variant} "))
    assert refused is not None
    assert refused.code is TEXTS[text].code

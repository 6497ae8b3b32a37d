"""Formats of the nomor register and nomor SK rapat paripurna (docs/return-data.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ktp_gateway.returns.models import ReturnDataRequest

NIK = "3171011505809901"


@pytest.mark.parametrize(
    ("register", "sk"),
    [
        ("REG-0042/LPSK/2026", "SK-17/RP/LPSK/05/2026"),
        ("R.1/2026", "KEP-123/1.3.HSPSK/LPSK/V/2026"),
        ("123", "SK 17 RP 2026"),
        ("R", "SK_1"),
    ],
)
def test_valid_numbers(register: str, sk: str) -> None:
    body = ReturnDataRequest(nik=NIK, nomor_register=f" {register} ", nomor_sk_rapat_paripurna=sk)
    assert body.nomor_register == register


@pytest.mark.parametrize(
    "register",
    [
        "",
        "   ",
        "REG-1/" + "X" * 80,  # too long
        "REG 1\nX",
        "-REG1",
        "REG<1>",
        "REG;1",
        f"REG/{NIK}",  # a NIK in the wrong field
    ],
)
def test_invalid_register_numbers(register: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ReturnDataRequest(nik=NIK, nomor_register=register, nomor_sk_rapat_paripurna="SK-1/2026")
    assert NIK not in str(caught.value.errors(include_input=False))

"""The NIK pre-check: python-stdnum's structure rules, a stricter day, never the value echoed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from ktp_gateway.errors import ErrorCode
from ktp_gateway.nik import InvalidNikError, mask_nik, validate_nik

KNOWN_REGIONS = ("3171", "3273", "1101", "9471", "6471")  # DKI, Bandung, Aceh, Jayapura, Balikpapan
SYNTHETIC = "3171011708450001"  # an obviously synthetic test NIK (Jakarta Pusat, 17-08-45)


def _reference(value: str) -> bool:
    """stdnum's verdict with the gateway's day rule (1-31, or 41-71 for women)."""
    try:
        stdnum_nik.validate(value)
    except ValidationError:
        return False
    day = int(value[6:8])
    return 1 <= day <= 31 or 41 <= day <= 71


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


@st.composite
def nik_shaped(draw: st.DrawFn) -> str:
    """16 digits near the rules' edges: known and random regions, days 00-99, months 00-19."""
    region = draw(st.sampled_from(KNOWN_REGIONS) | _digits(4))
    day = draw(st.integers(0, 99))
    month = draw(st.integers(0, 19))
    year = draw(st.integers(0, 99))
    return f"{region}{draw(_digits(2))}{day:02d}{month:02d}{year:02d}{draw(_digits(4))}"


@settings(max_examples=3000)
@given(nik_shaped())
def test_agrees_with_stdnum_and_the_day_rule(value: str) -> None:
    try:
        accepted = validate_nik(value) == value
    except InvalidNikError as exc:
        assert exc.code is ErrorCode.INVALID_NIK
        assert value not in str(exc)  # never echoed
        accepted = False
    assert accepted == _reference(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("3171012902010001", "date of birth does not exist"),  # 29-02 in 1901 and in 2001
        ("3171013002000001", "date of birth does not exist"),  # 30-02 in no year
        ("3171018108450001", "day of birth is out of range"),  # stdnum would take 81 as 01
        ("3171010008450001", "day of birth is out of range"),
        ("0071011708450001", "region code is unknown"),
        ("317101170845000", "exactly 16 ASCII digits"),
        ("3171 0117 0845 0001", "exactly 16 ASCII digits"),
        ("".join(chr(0xFF10 + int(d)) for d in SYNTHETIC), "exactly 16 ASCII digits"),  # full-width
    ],
)
def test_says_which_rule_failed(value: str, reason: str) -> None:
    with pytest.raises(InvalidNikError, match=reason):
        validate_nik(value)


def test_accepts_both_centuries_and_women() -> None:
    assert validate_nik(SYNTHETIC) == SYNTHETIC
    assert validate_nik("3171015708450001") == "3171015708450001"  # 17 + 40: a woman
    assert validate_nik("3171012902000001") == "3171012902000001"  # 29-02-2000 exists


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidNikError):
        validate_nik(3171011708450001)  # type: ignore[arg-type]


def test_mask_keeps_only_the_last_four() -> None:
    assert mask_nik(SYNTHETIC) == "************0001"

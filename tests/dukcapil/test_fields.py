"""The one mapping to PersonData: granted fields only, birth dates in every format seen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.domain import GrantedField, PersonData
from ktp_gateway.dukcapil_client.fields import parse_birth_date, person_from_record
from ktp_gateway.dukcapil_client.wire import WireRecord
from ktp_gateway.errors import DukcapilError, ErrorCode
from ktp_gateway_dev.simulators.dukcapil.responses import person_record
from ktp_gateway_dev.simulators.population import load_population

POPULATION = load_population()
NOT_GRANTED = ("AGAMA", "GOL_DARAH", "PDDK_AKH", "STAT_HBKEL", "NIK_IBU", "NIK_AYAH", "NO_KK",
               "NO_AKTA_LHR", "KODE_POS", "NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL")  # fmt: skip


def wire(key: str = "andi", **changes: Any) -> tuple[WireRecord, dict[str, Any]]:
    raw: dict[str, Any] = {**person_record(POPULATION.by_key(key), POPULATION), **changes}
    return WireRecord.model_validate(raw), raw


def test_only_granted_fields_survive() -> None:
    record, raw = wire(GOL_DRH="O", FOTO="aGVsbG8=", CREATED="01-JAN-20", TRESHOLD="90")
    person = person_from_record(record, expected_nik=raw["NIK"])
    dump = person.model_dump(mode="json")
    assert set(dump) == {f.value for f in GrantedField}
    text = person.model_dump_json()
    for key in NOT_GRANTED:
        value = str(raw[key])
        if len(value) > 3:  # short codes like "1" occur inside granted values by chance
            assert value not in text, key
    assert "aGVsbG8=" not in text


def test_values_keep_their_case() -> None:
    record, raw = wire(JENIS_KLMIN="Laki-Laki", STATUS_KAWIN="Belum Kawin")
    person = person_from_record(record, expected_nik=raw["NIK"])
    assert person.jenis_kelamin == "Laki-Laki"
    assert person.status_perkawinan == "Belum Kawin"


def test_stat_kwn_is_status_perkawinan() -> None:
    raw = {**person_record(POPULATION.by_key("budi"), POPULATION)}
    raw["STAT_KWN"] = raw.pop("STATUS_KAWIN")
    person = person_from_record(WireRecord.model_validate(raw), expected_nik=raw["NIK"])
    assert person.status_perkawinan == "KAWIN"


def test_numbers_become_text() -> None:
    record, raw = wire(NO_RT=1, NO_RW=2)
    person = person_from_record(record, expected_nik=raw["NIK"])
    assert person.alamat is not None
    assert (person.alamat.rt, person.alamat.rw) == ("1", "2")


def test_no_address_parts_is_no_address() -> None:
    keys = ("ALAMAT", "NO_RT", "NO_RW", "DUSUN", "KEL_NAME", "KEC_NAME", "KAB_NAME", "PROP_NAME")
    record, raw = wire(**dict.fromkeys(keys, ""))
    assert person_from_record(record, expected_nik=raw["NIK"]).alamat is None


def test_a_record_about_someone_else_is_never_released() -> None:
    record, _ = wire("andi")
    other = POPULATION.by_key("budi").nik
    with pytest.raises(DukcapilError) as caught:
        person_from_record(record, expected_nik=other)
    assert caught.value.code is ErrorCode.DUKCAPIL_BAD_RESPONSE
    assert other not in str(caught.value)
    assert record.nik is not None and record.nik not in str(caught.value)


def test_a_record_without_nik_is_a_bad_response() -> None:
    record, _ = wire(NIK="")
    with pytest.raises(DukcapilError) as caught:
        person_from_record(record, expected_nik=POPULATION.by_key("andi").nik)
    assert caught.value.code is ErrorCode.DUKCAPIL_BAD_RESPONSE


def test_missing_birth_date_is_none() -> None:
    record, raw = wire(TGL_LHR="")
    assert person_from_record(record, expected_nik=raw["NIK"]).tanggal_lahir is None


@pytest.mark.parametrize(
    "text", ["1980/05/15", "31-02-1980", "15-XYZ-80", "15 Mei 1980", "80", "30-FEB-80"]
)
def test_unknown_birth_date_is_a_bad_response_without_the_value(text: str) -> None:
    record, raw = wire(TGL_LHR=text)
    with pytest.raises(DukcapilError) as caught:
        person_from_record(record, expected_nik=raw["NIK"])
    assert caught.value.code is ErrorCode.DUKCAPIL_BAD_RESPONSE
    assert text not in str(caught.value)


TODAY = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15-05-1980", dt.date(1980, 5, 15)),
        ("1980-05-15", dt.date(1980, 5, 15)),
        ("15-MAY-80", dt.date(1980, 5, 15)),
        ("15-May-80", dt.date(1980, 5, 15)),
        ("15-MEI-80", dt.date(1980, 5, 15)),
        ("03-MAR-15", dt.date(2015, 3, 3)),
        ("21-DES-60", dt.date(1960, 12, 21)),
        ("17-AGT-45", dt.date(1945, 8, 17)),
        ("01-JAN-26", dt.date(2026, 1, 1)),
        ("01-JAN-27", dt.date(1927, 1, 1)),
        (" 12-08-1985 ", dt.date(1985, 8, 12)),
    ],
)
def test_birth_date_formats(text: str, expected: dt.date) -> None:
    assert parse_birth_date(text, today=TODAY) == expected


def _strptime_reference(text: str) -> dt.date | None:
    """What strptime makes of the two numeric formats (the parser's rules before 2026-12-08)."""
    for fmt in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _number(low: int, high: int, widths: tuple[int, ...]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda value, width: str(value).zfill(width),
        st.integers(low, high),
        st.sampled_from(widths),
    )


@given(
    st.one_of(
        st.builds(
            "{}-{}-{}".format,
            _number(0, 39, (1, 2)),
            _number(0, 19, (1, 2)),
            _number(0, 2999, (4,)),
        ),
        st.builds(
            "{}-{}-{}".format,
            _number(0, 2999, (4,)),
            _number(0, 19, (1, 2)),
            _number(0, 39, (1, 2)),
        ),
    )
)
def test_numeric_dates_are_read_as_strptime_read_them(text: str) -> None:
    expected = _strptime_reference(text)
    if expected is None:
        with pytest.raises(DukcapilError):
            parse_birth_date(text, today=TODAY)
    else:
        assert parse_birth_date(text, today=TODAY) == expected


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
def test_numeric_formats_round_trip(day: dt.date) -> None:
    assert parse_birth_date(f"{day:%d-%m-%Y}") == day
    assert parse_birth_date(day.isoformat()) == day


@given(st.dates(min_value=dt.date(TODAY.year - 99, 1, 1), max_value=TODAY))
def test_two_digit_years_are_in_the_last_century(day: dt.date) -> None:
    text = f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year % 100:02d}"
    assert parse_birth_date(text, today=TODAY) == day


def test_mapping_output_is_the_domain_model() -> None:
    record, raw = wire("budi")
    assert isinstance(person_from_record(record, expected_nik=raw["NIK"]), PersonData)

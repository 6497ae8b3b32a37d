"""Biodata parsing: any bytes give the granted `PersonData` or `card_data_invalid`."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from ktp_gateway.domain import PersonData
from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.reader.card.biodata import to_person_data
from ktp_gateway.specs import load_specs
from tests.fuzz.budget import fuzz

SPEC = load_specs().cards["ktp-el"].biodata
FIELD_COUNT = max(SPEC.fields) + 1
fields = st.text(alphabet=string.printable + "éÿ", max_size=40) | st.sampled_from(
    ["", "3171011505809901", "15-05-1980", "31-02-1980", "99-99-9999", "1980-05-15", " , "]
)
texts = st.lists(fields, min_size=FIELD_COUNT - 2, max_size=FIELD_COUNT + 3).map(
    lambda values: SPEC.delimiter.join(values)
)
raw = st.one_of(
    st.binary(max_size=400),
    texts.map(lambda text: text.encode("utf-8")),
    texts.map(lambda text: text.encode("ascii", "ignore")),
)


def _parse(data: bytes) -> None:
    try:
        person = to_person_data(data, SPEC)
    except CardError as exc:
        assert exc.code is ErrorCode.CARD_DATA_INVALID
        return
    assert isinstance(person, PersonData) and person.nik


def test_fuzz_biodata_parsing() -> None:
    assert fuzz("biodata.to_person_data", raw, _parse) > 0

"""Sealing without pydantic's round trip writes the very bytes the validating path wrote.

`seal` builds a `Record` unvalidated and `line_of` dumps its fields directly; both are held here
to the reference (validate, then dump in JSON mode) over generated data, and the one-search
check of a list of names to a search of each name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktp_gateway.audit.chain import (
    GENESIS,
    MAX_TEXT,
    AuditError,
    Kind,
    Record,
    canonical,
    checked,
    line_of,
    record_hash,
    recordable,
    seal,
    seal_all,
)
from ktp_gateway.audit.store import parse_line

NIK_SHAPED = re.compile(r"(?<!\d)\d{16}(?!\d)")
KEYS = st.sampled_from(["operation", "officer_id", "fields_released", "latency_ms", "request_id"])
TEXT = st.text(alphabet="0123456789ab -_:/\n\u00e9", max_size=40) | st.just("1" * 16)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
VALUES = SCALARS | st.lists(TEXT, max_size=5) | st.tuples(TEXT, TEXT)
DATA = st.dictionaries(KEYS | st.text(alphabet="xyz_", min_size=1, max_size=6), VALUES)


def _reference_refuses(key: str, value: Any) -> bool:
    texts = [str(v) for v in value] if isinstance(value, list | tuple) else [value]
    return any(
        isinstance(text, str)
        and (len(text) > MAX_TEXT or (key != "request_id" and NIK_SHAPED.search(text)))
        for text in texts
    )


def _reference_line(seq: int, kind: Kind, data: dict[str, Any], prev: str, time: str) -> bytes:
    body = {"seq": seq, "time": time, "kind": kind.value, "data": checked(data)}
    record = Record.model_validate({**body, "prev": prev, "hash": record_hash(prev, body)})
    return canonical(record.model_dump(mode="json")) + b"\n"


@settings(max_examples=500)
@given(DATA, st.integers(1, 10**9), st.sampled_from(list(Kind)))
def test_a_sealed_line_is_the_validated_records_line(
    data: dict[str, Any], seq: int, kind: Kind
) -> None:
    refused = any(_reference_refuses(k, v) for k, v in data.items())
    time = "2026-12-08T01:02:03.456+00:00"
    if refused:
        with pytest.raises(AuditError):
            seal(seq, kind, data, GENESIS, time)
        return
    record = seal(seq, kind, data, GENESIS, time)
    line = line_of(record)
    assert line == _reference_line(seq, kind, data, GENESIS, time)
    assert parse_line(line.rstrip(b"\n")) == record  # and it reads back as the same record


@settings(max_examples=500)
@given(DATA)
def test_recordable_leaves_out_exactly_what_the_trail_refuses(data: dict[str, Any]) -> None:
    kept, left_out = recordable(data)
    assert left_out == [k for k, v in data.items() if _reference_refuses(k, v)]
    assert list(kept) == list(data)
    checked(kept)  # what is kept is always recordable


def test_a_nik_across_two_names_is_not_one_but_within_one_it_is() -> None:
    assert checked({"fields": ["12345678", "12345678"]}) == {"fields": ["12345678", "12345678"]}
    with pytest.raises(AuditError, match="looks like a NIK"):
        checked({"fields": ["ok", "x3171011708450001"]})
    with pytest.raises(AuditError, match="longer than"):
        checked({"fields": ["ok", "a" * (MAX_TEXT + 1)]})


def test_a_tail_that_is_no_hash_is_refused_before_anything_is_sealed() -> None:
    with pytest.raises(AuditError):
        seal_all([(Kind.ACCESS, {"operation": "nik_lookup"})], 3, "left by hand")

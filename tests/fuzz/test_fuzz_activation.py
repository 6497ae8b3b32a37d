"""Activation records: any text gives a checked record or a `ConfigurationError`."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.sam.activation_record import parse_record
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.activation import virtual_record
from tests.fuzz.budget import fuzz

SPECS = load_specs()
GENUINE = virtual_record()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def records(draw: st.DrawFn) -> str:
    envelope: dict[str, Any] = json.loads(json.dumps(GENUINE))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.text(max_size=200))
    if choice == 1:
        key = draw(st.sampled_from(sorted(envelope["record"])))
        envelope["record"][key] = draw(json_values)
    elif choice == 2:
        envelope[draw(st.sampled_from(["record", "signature", "extra"]))] = draw(json_values)
    return json.dumps(envelope)


def _parse(text: str) -> None:
    try:
        parse_record(text, SPECS, "fuzz")
    except ConfigurationError:
        return


def test_fuzz_activation_records() -> None:
    assert fuzz("activation_record.parse_record", records(), _parse) > 0

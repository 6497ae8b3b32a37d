"""Least data rules as properties: the effective set never exceeds what is asked and allowed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.domain import GrantedField
from ktp_gateway.privacy.least_data import FieldChoice, FieldNotGranted, effective_fields

FIELDS = st.lists(st.sampled_from(list(GrantedField)), unique=True)


@given(required=FIELDS, optional=FIELDS, allowed=FIELDS)
def test_effective_is_asked_and_allowed(
    required: list[GrantedField], optional: list[GrantedField], allowed: list[GrantedField]
) -> None:
    choice = FieldChoice(required_fields=required, optional_fields=optional)
    try:
        result = effective_fields(choice, frozenset(allowed))
    except FieldNotGranted:
        assert not set(required) <= set(allowed)
        return
    effective = set(result.effective)
    assert set(required) <= effective <= set(allowed)
    if required or optional:
        assert effective <= set(required) | set(optional)
    else:
        assert effective == set(allowed)
    assert result.effective == [f for f in GrantedField if f in effective]  # agreement's order


def test_the_refusal_names_the_fields_not_their_values() -> None:
    choice = FieldChoice(required_fields=[GrantedField.NAMA_AYAH, GrantedField.NIK])
    with pytest.raises(FieldNotGranted, match="nama_ayah") as refused:
        effective_fields(choice, frozenset({GrantedField.NIK}))
    assert "nik" not in refused.value.detail.replace("nama_ayah", "")

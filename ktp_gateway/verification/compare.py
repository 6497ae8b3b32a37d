"""Per-field comparison of what the card says and what the registry says.

Comparison is on normalised text (case, spacing and punctuation folded) so `Laki-Laki` and
`LAKI-LAKI` agree; a real difference (a new address, a corrected spelling) stays a mismatch.
"""

from __future__ import annotations

import re
from enum import StrEnum

from ktp_gateway.domain import Address, GrantedField, PersonData

_PUNCTUATION = re.compile(r"[.,'`\-/]+")
_SPACES = re.compile(r"\s+")


class FieldMatch(StrEnum):
    """How one granted field compares between card and registry."""

    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_ON_CARD = "not_on_card"
    NOT_IN_REGISTRY = "not_in_registry"


def normalise(text: str) -> str:
    """Fold case, punctuation and runs of spaces: the differences that carry no meaning."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.upper())).strip()


def _same(card: object, registry: object) -> bool:
    if isinstance(card, str) and isinstance(registry, str):
        return normalise(card) == normalise(registry)
    if isinstance(card, Address) and isinstance(registry, Address):
        parts = [
            (getattr(card, name), getattr(registry, name))
            for name in Address.model_fields
            if getattr(card, name) and getattr(registry, name)
        ]
        return bool(parts) and all(_same(c, r) for c, r in parts)
    return card == registry


def compare(card: PersonData, registry: PersonData) -> dict[GrantedField, FieldMatch]:
    """One result per granted field, in the agreement's order."""
    results: dict[GrantedField, FieldMatch] = {}
    for field in GrantedField:
        card_value, registry_value = getattr(card, field.value), getattr(registry, field.value)
        if card_value is None:
            results[field] = FieldMatch.NOT_ON_CARD
        elif registry_value is None:
            results[field] = FieldMatch.NOT_IN_REGISTRY
        else:
            results[field] = (
                FieldMatch.MATCH if _same(card_value, registry_value) else FieldMatch.MISMATCH
            )
    return results

"""The agreement's granted fields: the one list both directions are enforced from.

Asking: CALL_NIK has no field selector (only the NIK is sent), so the registry may answer more
than is granted. The policy hands `granted` to the Dukcapil client, which maps only those
fields out of a record and counts every other key it drops
(`ktp_gateway_dukcapil_fields_dropped_total`). Releasing: `release` blanks any `PersonData`
field the agreement does not grant, from the card or the registry, and counts it
(`ktp_gateway_fields_withheld_total`). Either way the value never leaves the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ktp_gateway.domain import FIELD_NAME, GrantedField, PersonData

PHOTO = "foto_wajah"

Withheld = Callable[[str, str], None]  # (source, field label)


class FieldGate:
    """What the agreement grants; the only code that decides which person fields go out."""

    def __init__(
        self,
        granted: Iterable[GrantedField],
        *,
        photo_granted: bool,
        on_withheld: Withheld,
        family_granted: bool = False,
    ) -> None:
        self.granted = frozenset(granted)
        self._granted_names = [n for f, n in FIELD_NAME.items() if f in self.granted]
        self._withheld_names = [n for f, n in FIELD_NAME.items() if f not in self.granted]
        self.photo_granted = photo_granted
        self.family_granted = family_granted
        self._on_withheld = on_withheld

    def release(self, person: PersonData, *, source: str) -> PersonData:
        """`person` with every field the agreement does not grant blanked (and counted)."""
        blanked = {name: None for name in self._withheld_names if getattr(person, name) is not None}
        for name in blanked:
            self._on_withheld(source, name)
        return person.model_copy(update=blanked) if blanked else person

    def released_names(self, *people: PersonData | None, photo: bool = False) -> list[str]:
        """Names (never values) of the fields with a value in what is released, for the audit."""
        filled = {
            name
            for p in people
            if p is not None
            for name in self._granted_names
            if getattr(p, name) is not None
        }
        names = [name for name in self._granted_names if name in filled]
        return [*names, PHOTO] if photo else names

"""The agreement's granted fields, enforced in one place for both directions.

Asking: CALL_NIK has no field selector (only the NIK is sent), so the registry may answer more
than is granted; `screen_registry` counts every key of a found record that maps to no granted
field. Releasing: `release` blanks any `PersonData` field the agreement does not grant, from the
card or the registry, and counts it. Either way the value never leaves the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ktp_gateway.domain import GrantedField, PersonData

G = GrantedField
# Dukcapil record keys (shared/dukcapil-notes.md, "Record keys") -> the granted field they feed.
REGISTRY_KEYS: dict[str, GrantedField] = {
    "NIK": G.NIK,
    "NAMA_LGKP": G.NAMA_LENGKAP,
    "JENIS_KLMIN": G.JENIS_KELAMIN,
    "TMPT_LHR": G.TEMPAT_LAHIR,
    "TGL_LHR": G.TANGGAL_LAHIR,
    "STATUS_KAWIN": G.STATUS_PERKAWINAN,
    "STAT_KWN": G.STATUS_PERKAWINAN,
    "JENIS_PKRJN": G.JENIS_PEKERJAAN,
    "NAMA_LGKP_IBU": G.NAMA_IBU_KANDUNG,
    "NAMA_LGKP_AYAH": G.NAMA_AYAH,
    **{key: G.ALAMAT for key in ("ALAMAT", "NO_RT", "NO_RW", "DUSUN", "KEL_NAME", "KEC_NAME",
                                 "KAB_NAME", "PROP_NAME")},
}  # fmt: skip
# Keys of the envelope's status, not data about the person.
PROTOCOL_KEYS = frozenset({"RESPON", "RESPONSE", "RESPONSE_CODE", "RESPONSE_DESC"})
# Ungranted keys known from the notes: counted under their own name (a bounded label set);
# any other key is counted as "other", so a registry cannot grow the metric's label set.
KNOWN_UNGRANTED = frozenset(
    {
        "NO_KEL", "NO_KEC", "NO_KAB", "NO_PROP", "NO_KK", "NKK", "STAT_HBKEL", "AGAMA",
        "GOL_DRH", "GOL_DARAH", "PDDK_AKH", "NIK_IBU", "NIK_AYAH", "NO_AKTA_LHR", "NO_AKTA_KWN",
        "NO_AKTA_CRAI", "KODE_POS", "CREATED", "LAST_UPDATED", "FOTO",
    }
)  # fmt: skip
PHOTO = "foto_wajah"

Withheld = Callable[[str, str], None]  # (source, field label)


class FieldGate:
    """What the agreement grants; the only code that decides which person fields go out."""

    def __init__(
        self, granted: Iterable[GrantedField], *, photo_granted: bool, on_withheld: Withheld
    ) -> None:
        self.granted = frozenset(granted)
        self.photo_granted = photo_granted
        self._on_withheld = on_withheld

    def screen_registry(self, keys: Iterable[str]) -> list[str]:
        """Count the keys of a found record that feed no granted field; return their labels."""
        labels = []
        for key in keys:
            upper = key.upper()
            field = REGISTRY_KEYS.get(upper)
            if upper in PROTOCOL_KEYS or (field is not None and field in self.granted):
                continue
            label = upper.lower() if upper in KNOWN_UNGRANTED or field else "other"
            self._on_withheld("registry", label)
            labels.append(label)
        return labels

    def release(self, person: PersonData, *, source: str) -> PersonData:
        """`person` with every field the agreement does not grant blanked (and counted)."""
        blanked = {
            field.value: None
            for field in GrantedField
            if field not in self.granted and getattr(person, field.value) is not None
        }
        for name in blanked:
            self._on_withheld(source, name)
        return person.model_copy(update=blanked) if blanked else person

    def released_names(self, *people: PersonData | None, photo: bool = False) -> list[str]:
        """Names (never values) of the fields with a value in what is released, for the audit."""
        names = [
            field.value
            for field in GrantedField
            if field in self.granted
            and any(p is not None and getattr(p, field.value) is not None for p in people)
        ]
        return [*names, PHOTO] if photo else names

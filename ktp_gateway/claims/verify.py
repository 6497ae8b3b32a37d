"""Each claimed field against the registry: match / no_match with a 0-100 score, no values out.

Names compare through the Indonesian name normalisation (names.py); places, occupations and
address parts through plain folding plus common abbreviations; sex through its categories; the
birth date and RT/RW exactly. A field the registry does not hold is `not_available`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from ktp_gateway.claims.model import ClaimedAddress, Claims
from ktp_gateway.claims.names import fold_text, name_variants, old_spelling
from ktp_gateway.claims.similarity import best_score
from ktp_gateway.domain import Address, GrantedField, PersonData

NAME_FIELDS = (GrantedField.NAMA_LENGKAP, GrantedField.NAMA_IBU_KANDUNG, GrantedField.NAMA_AYAH)
_SEX = {
    "L": "L", "LK": "L", "LAKI LAKI": "L", "LAKI": "L", "PRIA": "L", "M": "L", "MALE": "L",
    "P": "P", "PR": "P", "PEREMPUAN": "P", "WANITA": "P", "F": "P", "FEMALE": "P",
}  # fmt: skip
_ABBREVIATIONS = {
    "JL": "JALAN", "JLN": "JALAN", "GG": "GANG", "NO": "NOMOR", "KOMP": "KOMPLEKS",
    "PERUM": "PERUMAHAN", "DS": "DESA", "KEL": "KELURAHAN", "KEC": "KECAMATAN",
    "KAB": "KABUPATEN", "PROV": "PROVINSI", "BLK": "BLOK", "DKI": "DKI",
}  # fmt: skip
_REGION_PREFIXES = frozenset({"KOTA", "KABUPATEN", "KOTAMADYA", "PROVINSI", "KELURAHAN", "DESA"})
_NUMBER = re.compile(r"\b0+(\d)")


class ClaimResult(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NOT_AVAILABLE = "not_available"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """From which score a claim matches (settings `claims.*`; docs/claims.md)."""

    name: int = 90
    text: int = 85


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    result: ClaimResult
    score: int | None
    parts: dict[str, int] | None = None  # alamat only: a score per claimed part


def _text_variants(text: str, *, region: bool = False) -> set[str]:
    words = [_ABBREVIATIONS.get(w, w) for w in _NUMBER.sub(r"\1", fold_text(text)).split()]
    if region and len(words) > 1 and words[0] in _REGION_PREFIXES:
        words = words[1:]  # "KOTA JAKARTA" is "JAKARTA" for a place of birth
    plain = " ".join(words)
    return {plain, old_spelling(plain)}


def _verdict(score: int, threshold: int) -> ClaimVerdict:
    return ClaimVerdict(ClaimResult.MATCH if score >= threshold else ClaimResult.NO_MATCH, score)


def _exact(same: bool) -> ClaimVerdict:
    return ClaimVerdict(ClaimResult.MATCH if same else ClaimResult.NO_MATCH, 100 if same else 0)


def _number(text: str | None) -> int | None:
    digits = re.sub(r"\D", "", text or "")
    return int(digits) if digits else None


def _address(claim: ClaimedAddress, record: Address, threshold: int) -> ClaimVerdict:
    parts: dict[str, int] = {}
    for name in ClaimedAddress.model_fields:
        claimed, held = getattr(claim, name), getattr(record, name)
        if not claimed:
            continue
        if held is None:
            return ClaimVerdict(ClaimResult.NOT_AVAILABLE, None)
        if name in ("rt", "rw"):
            parts[name] = 100 if _number(claimed) == _number(held) else 0
        else:
            region = name != "alamat"
            parts[name] = best_score(
                _text_variants(claimed, region=region), _text_variants(held, region=region)
            )
    score = min(parts.values())
    exact_ok = all(parts[n] == 100 for n in ("rt", "rw") if n in parts)
    result = ClaimResult.MATCH if score >= threshold and exact_ok else ClaimResult.NO_MATCH
    return ClaimVerdict(result, score, parts)


def _one(field: GrantedField, claimed: object, held: object, limits: Thresholds) -> ClaimVerdict:
    if held is None:
        return ClaimVerdict(ClaimResult.NOT_AVAILABLE, None)
    if field in NAME_FIELDS:
        score = best_score(name_variants(str(claimed)), name_variants(str(held)))
        return _verdict(score, limits.name)
    if field is GrantedField.TANGGAL_LAHIR:
        return _exact(isinstance(claimed, dt.date) and claimed == held)
    if field is GrantedField.JENIS_KELAMIN:
        mine, theirs = _SEX.get(fold_text(str(claimed))), _SEX.get(fold_text(str(held)))
        return _exact(mine is not None and mine == theirs)
    if field is GrantedField.ALAMAT:
        assert isinstance(claimed, ClaimedAddress) and isinstance(held, Address)  # noqa: S101
        return _address(claimed, held, limits.text)
    region = field is GrantedField.TEMPAT_LAHIR
    score = best_score(
        _text_variants(str(claimed), region=region), _text_variants(str(held), region=region)
    )
    return _verdict(score, limits.text)


def check_claims(
    claims: Claims, record: PersonData, limits: Thresholds
) -> dict[GrantedField, ClaimVerdict]:
    """One verdict per claimed field, in the agreement's order; no registry value in it."""
    return {
        field: _one(field, getattr(claims, field.value), getattr(record, field.value), limits)
        for field in claims.claimed()
    }

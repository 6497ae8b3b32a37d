"""A NIK lookup on behalf of an access: the record, and on request its photo and family card.

Every query answers before anything is released, so a lookup that fails on its photo or family
query releases (and audits) nothing. A registry finding (findings.py) fails the lookup with its
typed error, audited under the finding's own word.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ktp_gateway.domain import FacePhoto, FamilyMember, PersonData, PersonRegistry
from ktp_gateway.errors import DukcapilError
from ktp_gateway.privacy.policy import Access
from ktp_gateway.verification.findings import FOUND_AUDIT, finding_for


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a lookup released: the gated record, and the photo and members if asked for."""

    person: PersonData
    photo: FacePhoto | None
    family: list[FamilyMember] | None


@contextmanager
def findings_audited(access: Access) -> Iterator[None]:
    """A finding raised as an error is recorded under its audit word, then raised on."""
    try:
        yield
    except DukcapilError as exc:
        finding = finding_for(exc.code)
        if finding is not None:
            access.outcome = finding.audit
        raise


async def look_up(
    access: Access, registry: PersonRegistry, nik: str, *, photo: bool, family: bool
) -> Lookup:
    """Ask every query, then release all of it through the access's gate (all or nothing)."""
    noted = access.person_registry(registry)
    with findings_audited(access):
        record = await noted.query_nik(nik)
        asked_photo = await noted.query_photo(nik) if photo else None
        members = await noted.query_family(nik) if family else None
    released = Lookup(
        person=access.release(record, source="registry"),
        photo=None if asked_photo is None else access.release_photo(asked_photo),
        family=None if members is None else access.release_family(members),
    )
    access.outcome = FOUND_AUDIT
    return released

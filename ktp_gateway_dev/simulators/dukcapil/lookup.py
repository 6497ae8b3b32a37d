"""CALL_NIK as the registry answers it: credentials, allow-list, quota, then the person.

Checks run in the order a caller experiences them (notes: codes 09, 03, 04, 05, 07, 15, 13,
11, 14): a wrong password is reported before anything about the NIK.
"""

from __future__ import annotations

import hmac
import json
from enum import StrEnum
from typing import Any

from ktp_gateway_dev.simulators.dukcapil import responses as r
from ktp_gateway_dev.simulators.dukcapil.config import Style
from ktp_gateway_dev.simulators.dukcapil.state import SimulatorState
from ktp_gateway_dev.simulators.population import Person, Population, RegistryStatus

# Every spelling integrators were seen to send (notes, "Request"); each profile uses one.
BODY_KEYS: dict[str, tuple[str, ...]] = {
    "nik": ("NIK", "nik"),
    "user_id": ("user_id", "userId", "USER_ID"),
    "password": ("password", "PASSWORD"),
    "ip_user": ("ip_user", "IP_USER", "ipUser"),
}


def _field(body: dict[str, Any], name: str) -> str:
    for key in BODY_KEYS[name]:
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value).strip()
    return ""


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Query(StrEnum):
    """The simulated query endpoints: the person, the face photo, the family card's members."""

    NIK = "nik"
    PHOTO = "photo"
    FAMILY = "family"


Answer = tuple[str, dict[str, Any]]


def _refuse(state: SimulatorState, refusal: r.Refusal) -> Answer:
    return refusal.outcome, r.envelope([refusal.record(state.style)], state.quota_remaining)


def _gatekeeper(body: dict[str, Any], state: SimulatorState, peer: str | None) -> Answer | None:
    """Credentials, allow-list and quota, in Dukcapil's order; None when the caller may pass."""
    nik, user_id, password, ip_user = (_field(body, name) for name in BODY_KEYS)
    config = state.config
    if not (user_id and password and ip_user):
        return _refuse(state, r.CREDENTIALS_EMPTY)
    good_user = _same_secret(user_id, config.user_id)
    if not (_same_secret(password, config.password.get_secret_value()) and good_user):
        return _refuse(state, r.LOGIN_FAILED)
    if ip_user not in config.allowed_ips:
        return _refuse(state, r.IP_NOT_ALLOWED)
    if state.check_peer_ip and peer not in config.allowed_ips:
        return _refuse(state, r.IP_NOT_REGISTERED)
    if state.quota_remaining is not None and state.quota_remaining <= 0:
        return _refuse(state, r.QUOTA_USED_UP)
    if not nik:
        return _refuse(state, r.PARAMS_INCOMPLETE)
    return None


def answer(
    raw: bytes,
    state: SimulatorState,
    population: Population,
    *,
    query: Query = Query.NIK,
    peer: str | None = None,
) -> Answer:
    """The stats outcome and the JSON envelope for one query body."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _refuse(state, r.PARAMS_INCOMPLETE)
    refused = _gatekeeper(body, state, peer)
    if refused is not None:
        return refused
    nik = _field(body, "nik")
    state.spend_quota()
    if len(nik) != 16 or not nik.isdigit():
        return _refuse(state, r.NIK_FORMAT)
    person = population.by_nik(nik)
    status = person.registry.status if person else RegistryStatus.ABSENT
    if person is None or status is RegistryStatus.ABSENT:
        return _refuse(state, r.NOT_FOUND)
    if status is RegistryStatus.BLOCKED:
        return _refuse(state, r.INACTIVE)
    # Only the coded NIK query sends a deceased holder's record (with code 11), see _person.
    legacy_or_other = state.style is Style.LEGACY or query is not Query.NIK
    if status is RegistryStatus.DECEASED and legacy_or_other:
        return _refuse(state, r.DECEASED)
    if query is Query.PHOTO:
        return _found(state, [r.photo_record(person)], "photo_found")
    if query is Query.FAMILY:
        return _family(person, state, population)
    return _person(person, state, population)


def _found(state: SimulatorState, records: list[dict[str, str]], outcome: str) -> Answer:
    coded = [r.coded(record, r.FOUND_CODE, r.FOUND_TEXT, state.style) for record in records]
    return outcome, r.envelope(coded, state.quota_remaining)


def _family(person: Person, state: SimulatorState, population: Population) -> Answer:
    # Members whose own record is not released (blocked, deceased, absent) are left out.
    members = [
        r.person_record(member, population)
        for member in population.family(person.no_kk)
        if member.registry.status is RegistryStatus.ACTIVE
    ]
    return _found(state, members, "family_found")


def _person(person: Person, state: SimulatorState, population: Population) -> Answer:
    record = r.person_record(person, population)
    if person.registry.status is RegistryStatus.DECEASED:
        # The coded style is taken to send the record with code 11: the hardest case for the
        # client, which must still release nothing.
        record = r.coded(record, r.DECEASED.code, r.DECEASED.coded, state.style)
        return r.DECEASED.outcome, r.envelope([record], state.quota_remaining)
    return _found(state, [record], "found")


def other_person(state: SimulatorState, population: Population, asked: bytes) -> Answer:
    """A found record about someone else than the NIK asked (the OTHER_PERSON fault)."""
    person = next(p for p in population.people if p.nik not in asked.decode(errors="replace"))
    return _found(state, [r.person_record(person, population)], "other_person")

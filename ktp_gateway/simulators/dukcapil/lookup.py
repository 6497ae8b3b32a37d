"""CALL_NIK as the registry answers it: credentials, allow-list, quota, then the person.

Checks run in the order a caller experiences them (notes: codes 09, 03, 04, 05, 07, 15, 13,
11, 14): a wrong password is reported before anything about the NIK.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from ktp_gateway.simulators.dukcapil import responses as r
from ktp_gateway.simulators.dukcapil.config import Style
from ktp_gateway.simulators.dukcapil.state import SimulatorState
from ktp_gateway.simulators.population import Population, RegistryStatus

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


def _refuse(state: SimulatorState, refusal: r.Refusal) -> tuple[str, dict[str, Any]]:
    return refusal.outcome, r.envelope([refusal.record(state.style)], state.quota_remaining)


def answer(raw: bytes, state: SimulatorState, population: Population) -> tuple[str, dict[str, Any]]:
    """The stats outcome and the JSON envelope for one CALL_NIK body."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _refuse(state, r.PARAMS_INCOMPLETE)
    nik, user_id, password, ip_user = (_field(body, name) for name in BODY_KEYS)
    config = state.config
    if not (user_id and password and ip_user):
        return _refuse(state, r.CREDENTIALS_EMPTY)
    good_user = _same_secret(user_id, config.user_id)
    if not (_same_secret(password, config.password.get_secret_value()) and good_user):
        return _refuse(state, r.LOGIN_FAILED)
    if ip_user not in config.allowed_ips:
        return _refuse(state, r.IP_NOT_ALLOWED)
    if state.quota_remaining is not None and state.quota_remaining <= 0:
        return _refuse(state, r.QUOTA_USED_UP)
    if not nik:
        return _refuse(state, r.PARAMS_INCOMPLETE)
    state.spend_quota()
    if len(nik) != 16 or not nik.isdigit():
        return _refuse(state, r.NIK_FORMAT)
    return _person(nik, state, population)


def _person(nik: str, state: SimulatorState, population: Population) -> tuple[str, dict[str, Any]]:
    person = population.by_nik(nik)
    status = person.registry.status if person else RegistryStatus.ABSENT
    if person is None or status is RegistryStatus.ABSENT:
        return _refuse(state, r.NOT_FOUND)
    if status is RegistryStatus.BLOCKED:
        return _refuse(state, r.INACTIVE)
    record = r.person_record(person, population)
    if status is RegistryStatus.DECEASED:
        if state.style is Style.LEGACY:
            return _refuse(state, r.DECEASED)
        # The coded style is taken to send the record with code 11: the hardest case for the
        # client, which must still release nothing.
        record = r.coded(record, r.DECEASED.code, r.DECEASED.coded, state.style)
        return r.DECEASED.outcome, r.envelope([record], state.quota_remaining)
    record = r.coded(record, r.FOUND_CODE, r.FOUND_TEXT, state.style)
    return "found", r.envelope([record], state.quota_remaining)

"""A verification: authenticate and read the card, ask Dukcapil about its NIK, compare each field.

Registry answers about the person (findings.py) are part of the result; answers about the
service (down, timeout, credentials, quota) are errors, because without the registry there is
no verification.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from ktp_gateway.domain import (
    GrantedField,
    HolderAsk,
    HolderCheck,
    HolderResult,
    PersonData,
    Registry,
)
from ktp_gateway.errors import DukcapilError, ErrorCode, GatewayError, ReaderError
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.verification.compare import FieldMatch, compare
from ktp_gateway.verification.findings import Outcome, RegistryStatus, finding_for, finding_of


class CardSource(Protocol):
    """Where a tap's card reading comes from: this machine's readers or a desk's."""

    async def read(
        self,
        reader: str | None = None,
        *,
        wait_seconds: float = 0.0,
        cancel: threading.Event | None = None,
        holder: HolderAsk | None = None,
    ) -> CardReading: ...


@dataclass(frozen=True, slots=True)
class Verification:
    """Everything one verification found; lives for one request only."""

    card: CardReading
    registry_status: RegistryStatus
    registry: PersonData | None
    comparison: dict[GrantedField, FieldMatch]
    outcome: Outcome
    registry_seconds: float
    total_seconds: float


async def ask_registry(registry: Registry, nik: str) -> tuple[RegistryStatus, PersonData | None]:
    """The record, or the finding (findings.py) that answers instead of it."""
    try:
        return RegistryStatus.FOUND, await registry.query_nik(nik)
    except DukcapilError as exc:
        finding = finding_for(exc.code)
        if finding is None:
            raise
        return finding.status, None


def outcome_of(
    status: RegistryStatus,
    results: Iterable[FieldMatch],
    holder: HolderCheck | None = None,
    *,
    holder_required: bool = False,
) -> Outcome:
    """The officer's word: the finding, else mismatch if any compared field differs, else what
    the holder check says (no_match is an outcome, not an error)."""
    if status is not RegistryStatus.FOUND:
        return finding_of(status).outcome
    if FieldMatch.MISMATCH in set(results):
        return Outcome.MISMATCH
    if holder is not None and holder.result is HolderResult.NO_MATCH:
        return Outcome.HOLDER_MISMATCH
    if holder_required and (holder is None or holder.result is not HolderResult.MATCH):
        return Outcome.HOLDER_UNCHECKED
    return Outcome.VERIFIED


async def verify_tap(
    readers: CardSource,
    registry: Registry,
    *,
    reader: str | None,
    wait_seconds: float,
    cancel: threading.Event | None = None,
    holder: HolderAsk | None = None,
) -> Verification:
    """One officer's tap, end to end; once `cancel` is set, nothing more reaches Dukcapil.

    A required holder check the reader cannot run is refused by the reader before the card is
    read (`holder_check_unavailable`), so the registry is never asked for it.
    """
    started = time.perf_counter()
    card = await readers.read(reader, wait_seconds=wait_seconds, cancel=cancel, holder=holder)
    if holder is not None and card.holder is None:  # a source that ignored the ask
        card = replace(card, holder=HolderCheck(result=HolderResult.NOT_ATTEMPTED))
    attempted = card.holder is None or card.holder.result is not HolderResult.NOT_ATTEMPTED
    if holder is not None and holder.required and not attempted:
        raise ReaderError(
            "the reader did not run the required holder check",
            code=ErrorCode.HOLDER_CHECK_UNAVAILABLE,
        )
    if cancel is not None and cancel.is_set():
        raise GatewayError("cancelled after the card read", code=ErrorCode.VERIFICATION_CANCELLED)
    asked = time.perf_counter()
    status, record = await ask_registry(registry, card.person.nik)
    registry_seconds = time.perf_counter() - asked
    comparison = compare(card.person, record) if record is not None else {}
    return Verification(
        card=card,
        registry_status=status,
        registry=record,
        comparison=comparison,
        outcome=outcome_of(
            status,
            comparison.values(),
            card.holder,
            holder_required=holder is not None and holder.required,
        ),
        registry_seconds=registry_seconds,
        total_seconds=time.perf_counter() - started,
    )

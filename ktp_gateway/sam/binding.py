"""Before each use of a SAM: is it the one activated for this reader and agency, and in force?

The SAM's serial is read before anything is sent to open it, so a SAM moved to another reader
is refused without spending one of its few open attempts. Each failure has its own code:
`sam_not_activated`, `sam_reader_mismatch`, `sam_activation_expired`, `sam_locked`.
The last check's outcome per reader is kept for `GET /v1/readers` and the metrics. Values a
SAM refused are not sent again (until a restart with a corrected record): a SAM locks after a
few wrong opens, and only Dukcapil can unlock it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from ktp_gateway.errors import ErrorCode, SamError
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.sam.activation_record import ActivationRecord
from ktp_gateway.sam.session import SamSession

Clock = Callable[[], dt.datetime]
SECONDS_PER_DAY = 86400


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ActivationState(StrEnum):
    """What `GET /v1/readers` and the metrics say of a reader's activation."""

    ACTIVE = "active"  # record in force and the SAM opened with it at the last check
    UNCHECKED = "unchecked"  # record in force; the SAM has not been checked yet
    NOT_ACTIVATED = "not_activated"  # no record for this reader and agency, or the SAM refused
    READER_MISMATCH = "reader_mismatch"  # the SAM in the slot is not the record's
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    LOCKED = "locked"


_STATE_OF_CODE = {
    ErrorCode.SAM_NOT_ACTIVATED: ActivationState.NOT_ACTIVATED,
    ErrorCode.SAM_READER_MISMATCH: ActivationState.READER_MISMATCH,
    ErrorCode.SAM_ACTIVATION_EXPIRED: ActivationState.EXPIRED,
    ErrorCode.SAM_LOCKED: ActivationState.LOCKED,
}


@dataclass(frozen=True, slots=True)
class ActivationStatus:
    """A reader's activation as the API shows it: never a serial or an activation value."""

    state: ActivationState
    agency: str | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    days_until_expiry: float | None = None
    checked_at: dt.datetime | None = None


def _refuse(message: str, code: ErrorCode) -> SamError:
    return SamError(message, code=code)


class Activations:
    """The activation records of this gateway's readers, checked before each use of a SAM."""

    def __init__(
        self, records: Iterable[ActivationRecord], *, agency: str, clock: Clock = utc_now
    ) -> None:
        self.records = tuple(records)
        self.agency = agency
        self._clock = clock
        self._checks: dict[str, tuple[ActivationState, dt.datetime]] = {}
        self._refused: set[tuple[str, str]] = set()  # (reader, record reference)
        self._guard = threading.Lock()

    def _for_reader(self, pair: ReaderPair) -> list[ActivationRecord]:
        unit = pair.profile.unit_of(pair.card_reader)
        return [
            r for r in self.records if r.reader.profile == pair.profile.id and r.reader.unit == unit
        ]

    def record_for(self, pair: ReaderPair, sam_serial: bytes) -> ActivationRecord:
        """The record in force for this reader, this SAM and this agency, or a typed refusal."""
        mine = [r for r in self._for_reader(pair) if r.serial == sam_serial]
        if not mine:
            if self._for_reader(pair) or any(r.serial == sam_serial for r in self.records):
                raise _refuse(
                    "the SAM in this reader is not the one activated for it",
                    ErrorCode.SAM_READER_MISMATCH,
                )
            raise _refuse("no activation record for this reader", ErrorCode.SAM_NOT_ACTIVATED)
        ours = [r for r in mine if r.agency == self.agency]
        if not ours:
            raise _refuse(
                "this reader's SAM is activated for another agency", ErrorCode.SAM_NOT_ACTIVATED
            )
        now = self._clock()
        in_force = [r for r in ours if r.in_force(now)]
        if in_force:
            return max(in_force, key=lambda r: r.valid_until)
        if all(r.valid_from > now for r in ours):
            first = min(r.valid_from for r in ours)
            raise _refuse(
                f"this reader's activation is not in force before {first:%Y-%m-%d}",
                ErrorCode.SAM_NOT_ACTIVATED,
            )
        last = max(r.valid_until for r in ours)
        raise _refuse(
            f"this reader's activation expired on {last:%Y-%m-%d}", ErrorCode.SAM_ACTIVATION_EXPIRED
        )

    def open(self, sam: SamSession, pair: ReaderPair) -> ActivationRecord:
        """Check the SAM in `pair` against its record, then open it with the record's values."""
        try:
            record = self.record_for(pair, sam.read_serial())
            self._open(sam, pair, record)
        except SamError as exc:
            self._remember(pair, _STATE_OF_CODE.get(exc.code))
            raise
        self._remember(pair, ActivationState.ACTIVE)
        return record

    def recheck(self, pair: ReaderPair, sam_serial: bytes) -> ActivationRecord:
        """A SAM kept open since its check: its record must still be in force (no command)."""
        try:
            record = self.record_for(pair, sam_serial)
        except SamError as exc:
            self._remember(pair, _STATE_OF_CODE.get(exc.code))
            raise
        self._remember(pair, ActivationState.ACTIVE)
        return record

    def _open(self, sam: SamSession, pair: ReaderPair, record: ActivationRecord) -> None:
        key = (pair.card_reader, record.reference)
        with self._guard:
            refused = key in self._refused
        if refused:
            raise _refuse(
                "the SAM refused this record's activation values before; they are not sent again "
                "so the SAM does not lock (install a corrected record and restart)",
                ErrorCode.SAM_NOT_ACTIVATED,
            )
        try:
            sam.open(record.values().open_data(sam.profile.activation))
        except SamError as exc:
            if exc.code is ErrorCode.SAM_NOT_ACTIVATED:
                with self._guard:
                    self._refused.add(key)
            raise

    def _remember(self, pair: ReaderPair, state: ActivationState | None) -> None:
        if state is not None:
            with self._guard:
                self._checks[pair.card_reader] = (state, self._clock())

    def status(self, pair: ReaderPair) -> ActivationStatus:
        """This reader's activation now: validity from its record, the SAM from the last check."""
        now = self._clock()
        with self._guard:
            checked = self._checks.get(pair.card_reader)
        state, checked_at = checked or (ActivationState.UNCHECKED, None)
        records = [r for r in self._for_reader(pair) if r.agency == self.agency]
        if not records:
            return ActivationStatus(ActivationState.NOT_ACTIVATED, checked_at=checked_at)
        record = max(records, key=lambda r: (r.in_force(now), r.valid_until))
        if now >= record.valid_until:
            state = ActivationState.EXPIRED
        elif now < record.valid_from:
            state = ActivationState.NOT_YET_VALID
        elif state in (ActivationState.EXPIRED, ActivationState.NOT_YET_VALID):
            state = ActivationState.UNCHECKED  # a renewed record since the last check
        days = (record.valid_until - now).total_seconds() / SECONDS_PER_DAY
        return ActivationStatus(
            state=state,
            agency=record.agency,
            valid_from=record.valid_from,
            valid_until=record.valid_until,
            days_until_expiry=round(days, 2),
            checked_at=checked_at,
        )

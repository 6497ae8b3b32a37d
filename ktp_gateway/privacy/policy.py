"""The one door to population data: every card read and registry query goes through `Policy.access`.

Before: the agreement must be in force (not ended, not begun, not suspended: asked per request),
the purpose must be one the agreement lists, the photo and the family card's members must be
granted if asked for, and the audit trail must be writable. During: person data is released
only through the field gate, and byte buffers are registered for wiping. After (success or
failure): the buffers are zeroed and one audit record says who asked, for what, what kind of
data went out (field names and counts, never values) and how it ended. If that record cannot
be written the request fails: no accountability, no release.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry

from ktp_gateway.audit.chain import AuditError, Kind, Record, recordable
from ktp_gateway.audit.group import GroupCommit
from ktp_gateway.audit.trail import Trail, open_trail
from ktp_gateway.config import Settings
from ktp_gateway.domain import (
    FIELD_NAME,
    FacePhoto,
    FamilyMember,
    GrantedField,
    PersonData,
    PersonRegistry,
    Registry,
)
from ktp_gateway.errors import ConfigurationError, ErrorCode, GatewayError, RequestError
from ktp_gateway.privacy.agreement import (
    Agreement,
    AgreementGuard,
    load_agreement,
    open_switch,
)
from ktp_gateway.privacy.fields import PHOTO, FieldGate
from ktp_gateway.privacy.metrics import PolicyMetrics
from ktp_gateway.privacy.wipe import wipe_scope

log = structlog.get_logger("ktp_gateway.policy")

POLICY_CODES = frozenset(
    {
        ErrorCode.PURPOSE_NOT_IN_AGREEMENT,
        ErrorCode.AGREEMENT_NOT_IN_FORCE,
        ErrorCode.AGREEMENT_SUSPENDED,
        ErrorCode.FIELD_NOT_GRANTED,
        ErrorCode.AUDIT_UNAVAILABLE,
    }
)


_NOT_GRANTED = ErrorCode.FIELD_NOT_GRANTED


def current_request_id() -> str:
    """The id the API middleware bound for this request (jobs inherit it), or a fresh one."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return bound if isinstance(bound, str) else uuid.uuid4().hex


class Operation(StrEnum):
    """What an access does; the report counts card reads apart from NIK-only queries."""

    VERIFICATION = "verification"  # card read, then the registry
    NIK_LOOKUP = "nik_lookup"  # registry only
    CLAIMS_VERIFICATION = "claims_verification"  # by NIK or by card; no value released
    RETURN_DATA = "return_data"  # data balikan queued for Dukcapil (not an access to data)


@dataclass(frozen=True, slots=True)
class Accountability:
    """Who asks and why: required on every card or registry request."""

    officer_id: str
    purpose: str
    nomor_register: str | None = None
    client: str = "local"


@dataclass(slots=True)
class Access:
    """One access in progress: what the audit record will say about it."""

    operation: Operation
    who: Accountability
    request_id: str
    gate: FieldGate
    reader: str | None = None
    desk: str | None = None  # the desk whose reader was tapped (desks.*), None on this machine
    card_read: bool = False
    registry_queried: bool = False
    photo_released: bool = False
    family_members_released: int | None = None  # None: the family card was not asked for
    outcome: str | None = None
    code: str | None = None
    released: list[PersonData] = field(default_factory=list)
    effective: frozenset[GrantedField] | None = None  # what the caller may and asked to see
    return_data_queued: bool | None = None  # a verification's data balikan went to the outbox
    holder_check: str | None = None  # the holder check's result word; never biometric data

    def release(self, person: PersonData, *, source: str) -> PersonData:
        """Person data on its way out, reduced to the granted fields."""
        kept = self.gate.release(person, source=source)
        self.released.append(kept)
        return kept

    def release_photo(self, photo: FacePhoto) -> FacePhoto:
        """The registry's face photo on its way out, only if the agreement grants it."""
        if not self.gate.photo_granted:
            raise RequestError("the agreement does not grant the face photo", code=_NOT_GRANTED)
        self.photo_released = True
        return photo

    def release_family(self, members: list[FamilyMember]) -> list[FamilyMember]:
        """The family card's members on their way out: granted fields each, counted."""
        if not self.gate.family_granted:
            raise RequestError("the agreement does not grant family members", code=_NOT_GRANTED)
        kept = [
            member.model_copy(update={"person": self.release(member.person, source="family")})
            for member in members
        ]
        self.family_members_released = len(kept)
        return kept

    def released_names(self) -> list[str]:
        names = self.gate.released_names(*self.released, photo=self.photo_released)
        if self.effective is None:
            return names
        allowed = {FIELD_NAME[f] for f in self.effective} | {PHOTO}
        return [name for name in names if name in allowed]

    def registry(self, inner: Registry) -> Registry:
        """`inner`, noting in this access that the registry was asked."""
        return _NotingRegistry(inner, self)

    def person_registry(self, inner: PersonRegistry) -> PersonRegistry:
        """`inner` with its photo and family queries, noting in this access what was asked."""
        return _NotingPersonRegistry(inner, self)

    def audit_data(self, latency_ms: float, agreement: Agreement) -> dict[str, object]:
        # A registry finding's word is set by whoever asked (verification.findings): one table.
        outcome = self.outcome or (
            "refused" if self.code in {c.value for c in POLICY_CODES} else "error"
        )
        return {
            "operation": self.operation.value,
            "request_id": self.request_id,
            "client": self.who.client,
            "officer_id": self.who.officer_id,
            "purpose": self.who.purpose,
            "nomor_register": self.who.nomor_register,
            "reader": self.reader,
            "desk": self.desk,
            "card_read": self.card_read,
            "registry_queried": self.registry_queried,
            "fields_released": self.released_names(),
            "outcome": outcome,
            "code": self.code,
            "latency_ms": round(latency_ms, 1),
            "return_data_queued": self.return_data_queued,
            "holder_check": self.holder_check,
            "photo_released": self.photo_released,
            "family_members_released": self.family_members_released,
            "agreement": agreement.user.number,
        }


class _NotingRegistry:
    def __init__(self, inner: Registry, access: Access) -> None:
        self._inner, self._access = inner, access

    async def query_nik(self, nik: str) -> PersonData:
        self._access.registry_queried = True
        return await self._inner.query_nik(nik)


class _NotingPersonRegistry(_NotingRegistry):
    def __init__(self, inner: PersonRegistry, access: Access) -> None:
        super().__init__(inner, access)
        self._person = inner

    async def query_photo(self, nik: str) -> FacePhoto:
        self._access.registry_queried = True
        return await self._person.query_photo(nik)

    async def query_family(self, nik: str) -> list[FamilyMember]:
        self._access.registry_queried = True
        return await self._person.query_family(nik)


class Policy:
    """The agreement, the field gate and the audit trail, applied to every access."""

    def __init__(
        self,
        guard: AgreementGuard,
        trail: Trail,
        metrics: PolicyMetrics,
        *,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.guard = guard
        self.trail = trail
        self.commits = GroupCommit(trail)
        self.metrics = metrics
        self._today = today
        agreement = guard.agreement
        self.gate = FieldGate(
            agreement.granted_fields,
            photo_granted=agreement.photo_granted,
            family_granted=agreement.family_granted,
            on_withheld=metrics.withheld_observer(),
        )
        metrics.watch_agreement(guard)

    @classmethod
    def open(
        cls,
        agreement_file: os.PathLike[str] | str,
        *,
        audit_dir: os.PathLike[str] | str,
        suspension_file: os.PathLike[str] | str | None,
        registry: CollectorRegistry,
        fsync: bool = True,
        postgres_dsn: str | None = None,
    ) -> Policy:
        """Load and validate the agreement, open the audit trail (fails fast at start)."""
        agreement = load_agreement(Path(agreement_file))
        path = Path(suspension_file) if suspension_file else None
        switch = open_switch(agreement, path, postgres_dsn)
        guard = AgreementGuard(agreement, path, switch=switch)
        trail = open_trail(Path(audit_dir), fsync=fsync, postgres_dsn=postgres_dsn)
        return cls(guard, trail, PolicyMetrics(registry))

    @classmethod
    def from_settings(cls, settings: Settings, registry: CollectorRegistry) -> Policy:
        """The policy the gateway serves under; no agreement file, no start."""
        if settings.agreement.file is None:
            raise ConfigurationError(
                "no agreement is configured: set KTP_GATEWAY_AGREEMENT__FILE to the PKS file "
                "(docs/agreement.md)"
            )
        policy = cls.open(
            settings.agreement.file,
            audit_dir=settings.audit.dir,
            suspension_file=settings.agreement.suspension_file,
            registry=registry,
            fsync=settings.audit.fsync,
            postgres_dsn=settings.shared.dsn(),
        )
        try:
            policy.trail.prune(settings.audit.retention_days)
            policy.trail.append(Kind.STARTED, policy.started_record())
        except OSError as exc:
            raise AuditError(f"the audit trail cannot be written ({exc.strerror})") from None
        return policy

    def close(self) -> None:
        """Write the records still queued, then stop the trail's writer thread."""
        self.commits.close()
        self.guard.switch.close()

    def started_record(self) -> dict[str, object]:
        agreement = self.agreement
        standing = self.guard.standing(self._today())
        return {
            "agreement": agreement.user.number,
            "provider_number": agreement.provider.number,
            "valid_until": agreement.valid_until.isoformat(),
            "standing": standing.state.value,
            "granted_fields": [f.value for f in agreement.granted_fields],
            "photo_granted": agreement.photo_granted,
            "family_granted": agreement.family_granted,
        }

    @property
    def agreement(self) -> Agreement:
        return self.guard.agreement

    def admit(self, who: Accountability, *, photo: bool = False, family: bool = False) -> None:
        """Raise unless this access may happen now (agreement, purpose, photo, family, audit)."""
        self.guard.require_in_force(self._today())
        if who.purpose not in self.agreement.purpose_codes:
            raise RequestError(
                f"purpose {who.purpose!r} is not one of {self.agreement.reference}'s purposes",
                code=ErrorCode.PURPOSE_NOT_IN_AGREEMENT,
            )
        if photo and not self.gate.photo_granted:
            raise RequestError(
                f"{self.agreement.reference} does not grant the face photo",
                code=ErrorCode.FIELD_NOT_GRANTED,
            )
        if family and not self.gate.family_granted:
            raise RequestError(
                f"{self.agreement.reference} does not grant the members of a family card",
                code=ErrorCode.FIELD_NOT_GRANTED,
            )
        if not self.trail.writable():
            raise AuditError("the audit trail is not writable")

    async def precheck(
        self, operation: Operation, who: Accountability, *, request_id: str, photo: bool = False
    ) -> None:
        """`admit` for work that starts later (a job): a refusal now, and recorded."""
        try:
            self.admit(who, photo=photo)
        except GatewayError as exc:
            access = Access(operation, who, request_id, self.gate, code=exc.code.value)
            self.metrics.refused.labels(code=exc.code.value).inc()
            await self._record(access.audit_data(0.0, self.agreement), exc)
            raise

    @asynccontextmanager
    async def access(
        self,
        operation: Operation,
        who: Accountability,
        *,
        request_id: str,
        photo: bool = False,
        family: bool = False,
    ) -> AsyncIterator[Access]:
        """Admit, run the caller's block with wiping on, then record the access in the trail."""
        access = Access(operation, who, request_id, self.gate)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            with wipe_scope() as buffers:
                try:
                    self.admit(who, photo=photo, family=family)
                    yield access
                finally:
                    self.metrics.wiped_bytes.inc(buffers.wipe())
        except GatewayError as exc:
            failure = exc
            access.code = exc.code.value
            if exc.code in POLICY_CODES:
                self.metrics.refused.labels(code=exc.code.value).inc()
            raise
        except BaseException as exc:
            failure = exc
            access.code = ErrorCode.INTERNAL_ERROR.value
            raise
        finally:
            latency = (time.perf_counter() - started) * 1000
            await self._record(access.audit_data(latency, self.agreement), failure)

    async def _record(self, data: dict[str, object], failure: BaseException | None) -> None:
        kept, left_out = recordable(data)
        if left_out:  # a request value the trail cannot hold: the attempt is recorded without it
            data = {**kept, "values_left_out": left_out}
        try:
            await self.record(Kind.ACCESS, data)
        except AuditError:
            if failure is None:
                raise  # the data was about to go out unrecorded: refuse it instead
            log.error("audit.write_failed", code=ErrorCode.AUDIT_UNAVAILABLE.value)

    def on_delivery(self, outcome: str) -> None:
        """The return-data outbox's observer: each delivery attempt's outcome, in the trail."""
        try:
            self.commits.append_sync(Kind.RETURN_DATA, {"outcome": outcome})
        except AuditError:
            self.metrics.audit_failures.inc()
            log.error("audit.write_failed", code=ErrorCode.AUDIT_UNAVAILABLE.value)
            return
        self.metrics.audit_records.labels(kind=Kind.RETURN_DATA.value).inc()

    async def record(self, kind: Kind, data: dict[str, object]) -> Record:
        """Append one record off the event loop; return once it is durable (group commit)."""
        try:
            record = await self.commits.append(kind, data)
        except AuditError:
            self.metrics.audit_failures.inc()
            raise
        self.metrics.audit_records.labels(kind=kind.value).inc()
        return record

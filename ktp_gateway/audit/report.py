"""The usage report the agreement requires every semester, built from the audit trail.

Counts only: accesses by month, outcome, purpose, officer and client application, card reads
against NIK-only queries, refusals, reader and SAM incidents, return data queued, delivered and
pending. No NIK, no name, no value: the trail holds none. The report also states whether the
trail verified intact and the hash of its last record, so the copy sent to Dukcapil pins the
trail as it was (a later rewrite no longer matches the reported hash).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable

from pydantic import BaseModel, Field

from ktp_gateway.audit.chain import Kind, Record
from ktp_gateway.audit.trail import Trail
from ktp_gateway.audit.verify import verify_trail
from ktp_gateway.errors import ConfigurationError

RETURN_DATA = "return_data"  # the operation word of a data balikan submission (privacy.policy)

_SEMESTER = re.compile(r"^(\d{4})-([12])$")
# Error codes that are incidents of the reader, the card link or the SAM (not of the request).
INCIDENT_PREFIXES = ("reader_", "sam_", "card_", "no_card")


class Period(BaseModel):
    """A report period: first and last day, both included."""

    label: str
    start: dt.date
    end: dt.date

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when.astimezone(dt.UTC).date() <= self.end


def semester(text: str) -> Period:
    """`2026-1` is January to June 2026, `2026-2` July to December."""
    match = _SEMESTER.fullmatch(text.strip())
    if match is None:
        raise ConfigurationError(f"a semester is written YYYY-1 or YYYY-2, not {text!r}")
    year, half = int(match.group(1)), int(match.group(2))
    if half == 1:
        return Period(label=f"semester {text}", start=dt.date(year, 1, 1), end=dt.date(year, 6, 30))
    return Period(label=f"semester {text}", start=dt.date(year, 7, 1), end=dt.date(year, 12, 31))


def date_range(start: dt.date, end: dt.date) -> Period:
    if end < start:
        raise ConfigurationError("the report's end date is before its start date")
    return Period(label=f"{start.isoformat()} to {end.isoformat()}", start=start, end=end)


class TrailState(BaseModel):
    """Whether the trail verified, and the hash that pins it."""

    intact: bool
    records: int
    last_seq: int | None
    head_hash: str | None
    problems: list[str] = Field(default_factory=list)


class ReturnData(BaseModel):
    """Data balikan: queued and delivered in the period (trail); pending and dead now (outbox)."""

    queued: int = 0
    submitted: int = 0  # by POST /v1/return-data (each audited with its officer and purpose)
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    pending_now: int | None = None  # None: the outbox is not configured or cannot be read
    dead_now: int | None = None


class UsageReport(BaseModel):
    """Everything the semester report states; rendered as HTML, CSV and JSON."""

    period: Period
    generated_at: dt.datetime
    agreement: dict[str, str]
    trail: TrailState
    accesses: int
    card_reads: int
    nik_only: int
    refused: int
    photos_released: int = 0  # face photos (card or registry) that went out
    family_lookups: int = 0  # accesses that released a family card's members
    family_members_released: int = 0
    by_month: dict[str, dict[str, int]]
    by_operation: dict[str, int]
    by_outcome: dict[str, int]
    # Holder checks asked for, by result (match, no_match, timeout, not_attempted, unavailable).
    by_holder_check: dict[str, int] = Field(default_factory=dict)
    by_purpose: dict[str, int]
    by_officer: dict[str, int]
    by_client: dict[str, int]
    refusals: dict[str, int]
    incidents: dict[str, int]
    incidents_by_reader: dict[str, int]
    return_data: ReturnData
    agreement_events: dict[str, int]
    gateway_starts: int


def _months(period: Period) -> list[str]:
    months, year, month = [], period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _text(record: Record, key: str) -> str:
    value = record.data.get(key)
    return str(value) if value not in (None, "") else "(none)"


def build_report(
    trail: Trail,
    period: Period,
    *,
    agreement: dict[str, str],
    outbox_counts: Callable[[], dict[str, int]] | None = None,
    now: dt.datetime | None = None,
) -> UsageReport:
    """Count the period's records; verify the whole trail; ask the outbox what is pending."""
    verdict = verify_trail(trail)
    records = [r for r in trail.records() if period.contains(r.when)]
    # Data balikan sent by a client is audited like an access but is none: counted apart.
    accesses = [
        r for r in records if r.kind is Kind.ACCESS and r.data.get("operation") != RETURN_DATA
    ]
    admitted = [r for r in accesses if r.data.get("outcome") != "refused"]
    months = {month: Counter[str]() for month in _months(period)}
    for record in accesses:
        months[record.when.astimezone(dt.UTC).strftime("%Y-%m")][_text(record, "operation")] += 1
    incidents = [r for r in accesses if str(r.data.get("code") or "").startswith(INCIDENT_PREFIXES)]
    return UsageReport(
        period=period,
        generated_at=now or dt.datetime.now(dt.UTC),
        agreement=agreement,
        trail=TrailState(
            intact=verdict.intact,
            records=verdict.records,
            last_seq=verdict.last_seq,
            head_hash=verdict.head_hash,
            problems=[str(finding) for finding in verdict.findings[:20]],
        ),
        accesses=len(accesses),
        card_reads=sum(1 for r in accesses if r.data.get("card_read") is True),
        nik_only=sum(
            1 for r in accesses if r.data.get("registry_queried") and not r.data.get("card_read")
        ),
        refused=sum(1 for r in accesses if r.data.get("outcome") == "refused"),
        photos_released=sum(1 for r in accesses if r.data.get("photo_released") is True),
        family_lookups=sum(1 for r in accesses if _members(r) is not None),
        family_members_released=sum(_members(r) or 0 for r in accesses),
        by_month={month: dict(sorted(counts.items())) for month, counts in months.items()},
        by_operation=_count(accesses, "operation"),
        by_outcome=_count(accesses, "outcome"),
        by_holder_check=_count((r for r in accesses if r.data.get("holder_check")), "holder_check"),
        # Admitted accesses only: a refused attempt's purpose or officer may be invented, and
        # is never printed as if it were the agreement's; refusals are counted by reason below.
        by_purpose=_count(admitted, "purpose"),
        by_officer=_count(admitted, "officer_id"),
        by_client=_count(accesses, "client"),
        refusals=_count((r for r in accesses if r.data.get("outcome") == "refused"), "code"),
        incidents=_count(incidents, "code"),
        incidents_by_reader=_count(incidents, "reader"),
        return_data=_return_data(records, outbox_counts),
        agreement_events=_count((r for r in records if r.kind is Kind.AGREEMENT), "event"),
        gateway_starts=sum(1 for r in records if r.kind is Kind.STARTED),
    )


def _members(record: Record) -> int | None:
    value = record.data.get("family_members_released")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _count(records: Iterable[Record], key: str) -> dict[str, int]:
    return _sorted(Counter(_text(record, key) for record in records))


def _return_data(
    records: list[Record], outbox_counts: Callable[[], dict[str, int]] | None
) -> ReturnData:
    deliveries = Counter(str(r.data.get("outcome")) for r in records if r.kind is Kind.RETURN_DATA)
    queued = sum(1 for r in records if r.kind is Kind.ACCESS and r.data.get("return_data_queued"))
    submitted = sum(
        1
        for r in records
        if r.kind is Kind.ACCESS
        and r.data.get("operation") == RETURN_DATA
        and r.data.get("outcome") == "queued"
    )
    counts: dict[str, int] | None = None
    if outbox_counts is not None:
        try:
            counts = outbox_counts()
        except Exception:  # the report still stands without the live outbox numbers
            counts = None
    failed = {"failed", "dead"}
    return ReturnData(
        queued=queued,
        submitted=submitted,
        delivered=sum(n for outcome, n in deliveries.items() if outcome not in failed),
        failed_attempts=deliveries["failed"],
        dead_lettered=deliveries["dead"],
        pending_now=None if counts is None else counts.get("pending", 0),
        dead_now=None if counts is None else counts.get("dead", 0),
    )

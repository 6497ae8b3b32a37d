"""Check the trail: every record's hash, every link, the sequence, and the head file.

Each problem is reported with the line and sequence number where it shows, and what it means:
an edited record (its hash no longer matches), a removed or reordered one (a broken link or a
gap in the sequence), a truncated tail (the head file knows of later records).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ktp_gateway.audit.chain import GENESIS, body_of, record_hash
from ktp_gateway.audit.trail import Trail


@dataclass(frozen=True, slots=True)
class TrailDefect:
    line: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        return f"{', '.join(where) or 'trail'}: {self.problem}"


@dataclass(slots=True)
class TrailVerdict:
    """What `ktp-gateway audit verify` reports."""

    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    findings: list[TrailDefect] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_trail(trail: Trail) -> TrailVerdict:
    """Walk the whole file once; never stops at the first problem."""
    verdict = TrailVerdict()
    expected_seq, expected_prev = 1, GENESIS
    for line in trail.lines():
        if line.anchor is not None:
            if line.number != 1 or verdict.records:
                verdict.findings.append(
                    TrailDefect(line.number, None, "a retention anchor mid-file")
                )
            expected_seq, expected_prev = line.anchor.after_seq + 1, line.anchor.hash
            continue
        record = line.record
        if record is None:
            verdict.findings.append(
                TrailDefect(line.number, None, "unreadable record (not a record's JSON): edited")
            )
            continue
        _check(verdict, line.number, record.seq, record.prev, expected_seq, expected_prev)
        recomputed = record_hash(record.prev, body_of(record.model_dump(mode="json")))
        if recomputed != record.hash:
            verdict.findings.append(
                TrailDefect(line.number, record.seq, "edited: the record's hash does not match it")
            )
        verdict.records += 1
        verdict.first_seq = verdict.first_seq or record.seq
        verdict.last_seq, verdict.head_hash = record.seq, record.hash
        expected_seq, expected_prev = record.seq + 1, record.hash
    _check_head(verdict, trail)
    return verdict


def _check(
    verdict: TrailVerdict, number: int, seq: int, prev: str, expected_seq: int, expected_prev: str
) -> None:
    if seq > expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
        verdict.findings.append(
            TrailDefect(number, seq, f"removed: record(s) seq {missing} missing")
        )
    elif seq < expected_seq:
        verdict.findings.append(
            TrailDefect(number, seq, f"reordered or duplicated: seq {expected_seq} expected here")
        )
    if prev != expected_prev:
        verdict.findings.append(
            TrailDefect(
                number,
                seq,
                "broken link: does not follow the record before it "
                "(a record was removed, reordered, or the one before was edited)",
            )
        )


def _check_head(verdict: TrailVerdict, trail: Trail) -> None:
    head = trail.head()
    if head is None:
        if verdict.records:
            verdict.findings.append(TrailDefect(None, None, "the head file is missing"))
        return
    if head.seq < 0:
        verdict.findings.append(TrailDefect(None, None, "the head file is unreadable"))
    elif verdict.last_seq is None or head.seq > verdict.last_seq:
        verdict.findings.append(
            TrailDefect(
                None,
                head.seq,
                f"removed at the end: the head file says the trail reached seq {head.seq}, "
                f"the file ends at {verdict.last_seq or 0}",
            )
        )
    elif head.seq == verdict.last_seq and head.hash != verdict.head_hash:
        verdict.findings.append(
            TrailDefect(None, head.seq, "the last record differs from the one the head file names")
        )

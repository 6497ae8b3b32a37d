"""The audit trail: chained appends, and tampering found and located."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from ktp_gateway.audit.chain import GENESIS, AuditError, Kind, body_of, record_hash
from ktp_gateway.audit.store import HEAD_BYTES, AuditTrail, Head
from ktp_gateway.audit.verify import verify_trail


def _access(n: int) -> dict[str, object]:
    return {
        "operation": "verification",
        "officer_id": f"PETUGAS-{n:03d}",
        "purpose": "perlindungan_saksi",
        "fields_released": ["nik", "nama_lengkap"],
        "latency_ms": 12.5,
        "card_read": True,
        "code": None,
    }


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    for n in range(1, 6):
        trail.append(Kind.ACCESS, _access(n))
    return trail


def _lines(trail: AuditTrail) -> list[str]:
    return trail.path.read_text().splitlines()


def _write(trail: AuditTrail, lines: list[str]) -> None:
    trail.path.write_text("".join(line + "\n" for line in lines))


def _problems(trail: AuditTrail) -> list[str]:
    return [str(finding) for finding in verify_trail(trail).findings]


def test_an_untouched_trail_verifies_and_chains_from_genesis(trail: AuditTrail) -> None:
    verdict = verify_trail(trail)
    assert verdict.intact and verdict.records == 5
    assert (verdict.first_seq, verdict.last_seq) == (1, 5)
    first, second = (json.loads(line) for line in _lines(trail)[:2])
    assert first["prev"] == GENESIS and second["prev"] == first["hash"]
    assert first["hash"] == record_hash(GENESIS, body_of(first))
    assert trail.path.stat().st_mode & 0o777 == 0o600


def test_an_edited_value_is_found_at_its_line(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[2] = lines[2].replace("PETUGAS-003", "PETUGAS-999")
    _write(trail, lines)
    assert _problems(trail) == ["line 3, seq 3: edited: the record's hash does not match it"]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(trail: AuditTrail) -> None:
    lines = _lines(trail)
    record = json.loads(lines[1])
    record["data"]["purpose"] = "lain_lain"
    record["hash"] = record_hash(record["prev"], body_of(record))
    lines[1] = json.dumps(record)
    _write(trail, lines)
    [problem] = _problems(trail)
    assert problem.startswith("line 3, seq 3: broken link")


def test_a_removed_record_is_named(trail: AuditTrail) -> None:
    lines = _lines(trail)
    del lines[1]
    _write(trail, lines)
    problems = _problems(trail)
    assert problems[0] == "line 2, seq 3: removed: record(s) seq 2 missing"
    assert problems[1].startswith("line 2, seq 3: broken link")


def test_reordered_records_are_found(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[1], lines[2] = lines[2], lines[1]
    _write(trail, lines)
    problems = _problems(trail)
    assert any(p.startswith("line 2, seq 3: removed") for p in problems)
    assert any(p.startswith("line 3, seq 2: reordered") for p in problems)


def test_a_truncated_tail_is_found_through_the_head_file(trail: AuditTrail) -> None:
    _write(trail, _lines(trail)[:3])
    assert _problems(trail) == [
        "seq 5: removed at the end: the head file says the trail reached seq 5, the file ends at 3"
    ]


def test_the_head_is_rewritten_in_place_at_a_fixed_size(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    trail.head_path.parent.mkdir(mode=0o700)
    trail.head_path.write_text('{"seq": 0, "hash": "left by hand"}' + " " * 300 + "x\n")
    record = trail.append(Kind.ACCESS, _access(1))
    inode = trail.head_path.stat().st_ino
    for n in range(2, 12):  # sequence numbers of one and two digits: the same size
        record = trail.append(Kind.ACCESS, _access(n))
        assert trail.head_path.stat().st_size == HEAD_BYTES
    assert trail.head_path.stat().st_ino == inode  # overwritten, not replaced
    assert trail.head() == Head(record.seq, record.hash) and record.seq == 11
    assert verify_trail(trail).intact


def test_a_garbled_line_is_reported_and_the_chain_checked_around_it(trail: AuditTrail) -> None:
    lines = _lines(trail)
    lines[3] = lines[3][:40]
    _write(trail, lines)
    problems = _problems(trail)
    assert problems[0] == "line 4: unreadable record (not a record's JSON): edited"
    assert problems[1].startswith("line 5, seq 5: removed: record(s) seq 4 missing")


def test_appends_continue_after_a_torn_last_line(trail: AuditTrail) -> None:
    with trail.path.open("ab") as handle:
        handle.write(b'{"seq": 6, "ti')  # a crash mid-write
    record = trail.append(Kind.ACCESS, _access(7))
    assert record.seq == 6 and record.prev == json.loads(_lines(trail)[4])["hash"]
    assert [str(f) for f in verify_trail(trail).findings] == [
        "line 6: unreadable record (not a record's JSON): edited"
    ]


def test_nik_shaped_values_and_structures_are_refused(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, fsync=False)
    with pytest.raises(AuditError, match="looks like a NIK"):
        trail.append(Kind.ACCESS, {"nomor_register": "REG/3171011505809901"})
    with pytest.raises(AuditError, match="not a scalar"):
        trail.append(Kind.ACCESS, {"person": {"nama": "BUDI CONTOH"}})
    assert not trail.path.exists()


def test_retention_removes_old_records_and_the_rest_still_verifies(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, fsync=False)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with trail._locked():  # backdated records, as if written years ago
        for n in range(3):
            trail._append(Kind.ACCESS, _access(n), (old + dt.timedelta(days=n)).isoformat())
    trail.append(Kind.ACCESS, _access(9))
    assert trail.prune(365) == 3
    verdict = verify_trail(trail)
    assert verdict.intact, verdict.findings
    assert verdict.first_seq == 4 and verdict.last_seq == 5
    kinds = [r.kind for r in trail.records()]
    assert kinds == [Kind.ACCESS, Kind.RETENTION]
    assert trail.prune(365) == 0


def test_removing_kept_records_after_retention_is_still_found(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, fsync=False)
    with trail._locked():
        trail._append(Kind.ACCESS, _access(0), "2020-01-01T00:00:00+00:00")
    for n in range(3):
        trail.append(Kind.ACCESS, _access(n))
    trail.prune(365)
    lines = _lines(trail)
    del lines[1]  # the first kept record, right after the anchor
    _write(trail, lines)
    assert _problems(trail)[0] == "line 2, seq 3: removed: record(s) seq 2 missing"


def _append_many(directory: str, count: int) -> None:
    trail = AuditTrail(Path(directory), fsync=False)
    for n in range(count):
        trail.append(Kind.ACCESS, _access(n))


def test_threads_and_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, fsync=False)
    workers: list[threading.Thread | multiprocessing.process.BaseProcess] = [
        threading.Thread(target=_append_many, args=(str(tmp_path), 20)) for _ in range(3)
    ]
    context = multiprocessing.get_context("spawn")
    workers += [context.Process(target=_append_many, args=(str(tmp_path), 20)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    verdict = verify_trail(trail)
    assert verdict.intact, verdict.findings[:3]
    assert verdict.records == 100


def test_an_officer_nip_is_recorded_but_a_nik_never(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, fsync=False)
    record = trail.append(Kind.ACCESS, {"officer_id": "198501012010011001"})  # NIP: 18 digits
    assert record.data["officer_id"] == "198501012010011001"
    with pytest.raises(AuditError):
        trail.append(Kind.ACCESS, {"officer_id": "3171011505809901"})


def test_a_value_the_trail_refuses_leaves_the_record_not_the_attempt(tmp_path: Path) -> None:
    from ktp_gateway.audit.chain import recordable

    data = {"outcome": "error", "reader": "R" * 300, "officer_id": "3171011505809901", "x": 1}
    kept, left_out = recordable(data)
    assert left_out == ["reader", "officer_id"]
    assert kept == {"outcome": "error", "reader": None, "officer_id": None, "x": 1}
    trail = AuditTrail(tmp_path)
    record = trail.append(Kind.ACCESS, {**kept, "values_left_out": left_out})
    assert record.data["values_left_out"] == ["reader", "officer_id"]
    assert verify_trail(trail).intact

"""Group commit: concurrent records share a write, each caller gets its own outcome."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from ktp_gateway.audit.chain import AuditError, Kind, Record
from ktp_gateway.audit.group import GroupCommit
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway.audit.verify import verify_trail


def _access(n: int) -> dict[str, object]:
    return {"operation": "nik_lookup", "officer_id": f"PETUGAS-{n:03d}", "code": None}


def test_records_queued_while_the_trail_is_busy_share_one_write(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit")
    commits = GroupCommit(trail)
    other = AuditTrail(tmp_path / "audit")  # another writer (a command, another process)
    with other._locked():  # the writer thread waits for the lock, its queue fills
        futures = [commits.submit(Kind.ACCESS, _access(n)) for n in range(50)]
    records = [future.result(10) for future in futures]
    commits.close()
    assert [r.seq for r in records] == list(range(1, 51))  # in the order they were handed in
    assert commits.batches <= 2, commits.batches
    assert verify_trail(trail).intact


def test_a_refused_value_fails_only_its_own_record(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    results = trail.append_many(
        [
            (Kind.ACCESS, _access(1)),
            (Kind.ACCESS, {"officer_id": "3171011505809901"}),  # NIK-shaped: refused
            (Kind.ACCESS, _access(3)),
        ]
    )
    assert isinstance(results[0], Record) and isinstance(results[2], Record)
    assert isinstance(results[1], AuditError)
    assert (results[0].seq, results[2].seq) == (1, 2)  # the refused one took no number
    assert verify_trail(trail).intact


def test_writers_interleaving_with_the_known_tail_keep_one_chain(tmp_path: Path) -> None:
    first = AuditTrail(tmp_path / "audit", fsync=False)
    second = AuditTrail(tmp_path / "audit", fsync=False)
    for n in range(6):
        (first if n % 3 else second).append(Kind.ACCESS, _access(n))
    first.prune(30)  # nothing old: no rewrite
    first.append(Kind.ACCESS, _access(7))
    assert [r.seq for r in first.records()] == list(range(1, 8))
    assert verify_trail(first).intact


def test_many_coroutines_and_threads_append_at_once(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit")
    commits = GroupCommit(trail)

    async def burst() -> list[Record]:
        return await asyncio.gather(*(commits.append(Kind.ACCESS, _access(n)) for n in range(200)))

    from_threads: list[Record] = []

    def outbox() -> None:
        for n in range(20):
            from_threads.append(commits.append_sync(Kind.RETURN_DATA, {"outcome": f"o{n}"}))

    thread = threading.Thread(target=outbox)
    thread.start()
    from_loop = asyncio.run(burst())
    thread.join(10)
    commits.close()
    seqs = sorted(r.seq for r in [*from_loop, *from_threads])
    assert seqs == list(range(1, 221))
    assert commits.batches < 220  # shared fsyncs
    assert verify_trail(trail).intact


def test_a_trail_that_cannot_be_written_fails_every_waiting_caller(tmp_path: Path) -> None:
    blocker = tmp_path / "audit"
    blocker.write_text("not a directory")
    commits = GroupCommit(AuditTrail(blocker))
    futures = [commits.submit(Kind.ACCESS, _access(n)) for n in range(5)]
    for future in futures:
        with pytest.raises(AuditError):
            future.result(10)
    commits.close()


def test_close_writes_what_is_queued_and_a_later_append_starts_again(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path / "audit", fsync=False)
    commits = GroupCommit(trail)
    futures = [commits.submit(Kind.ACCESS, _access(n)) for n in range(30)]
    commits.close()
    assert all(future.done() for future in futures)
    assert commits.append_sync(Kind.ACCESS, _access(31)).seq == 31
    commits.close()


def test_a_coroutine_that_gives_up_leaves_its_record_written_and_others_answered(
    tmp_path: Path,
) -> None:
    trail = AuditTrail(tmp_path / "audit")
    commits = GroupCommit(trail)
    other = AuditTrail(tmp_path / "audit")

    async def scene() -> list[Record]:
        with other._locked():  # the batch waits: the first caller gives up meanwhile
            quitter = asyncio.ensure_future(commits.append(Kind.ACCESS, _access(0)))
            stayers = [
                asyncio.ensure_future(commits.append(Kind.ACCESS, _access(n))) for n in (1, 2)
            ]
            await asyncio.sleep(0.05)
            quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        return list(await asyncio.gather(*stayers))

    answered = asyncio.run(scene())
    commits.close()
    assert [r.data["officer_id"] for r in answered] == ["PETUGAS-001", "PETUGAS-002"]
    assert [r.seq for r in trail.records()] == [1, 2, 3]  # the access happened: recorded
    assert verify_trail(trail).intact


def test_coroutines_on_two_loops_and_a_failed_write_each_get_their_own_outcome(
    tmp_path: Path,
) -> None:
    commits = GroupCommit(AuditTrail(tmp_path / "audit", fsync=False))

    async def some(first: int) -> list[int]:
        records = await asyncio.gather(
            *(commits.append(Kind.ACCESS, _access(first + n)) for n in range(20))
        )
        return [int(str(r.data["officer_id"])[-3:]) for r in records]

    seen: list[list[int]] = []
    loops = [
        threading.Thread(target=lambda f=f: seen.append(asyncio.run(some(f)))) for f in (0, 100)
    ]
    for thread in loops:
        thread.start()
    for thread in loops:
        thread.join(10)
    assert sorted(map(sorted, seen)) == [list(range(20)), list(range(100, 120))]
    commits.close()

    blocker = tmp_path / "blocked"
    blocker.write_text("not a directory")
    failing = GroupCommit(AuditTrail(blocker))

    async def refused() -> None:
        with pytest.raises(AuditError):
            await failing.append(Kind.ACCESS, _access(1))

    asyncio.run(refused())
    failing.close()

"""The audit trail in PostgreSQL: one chain from several processes, tampering found, retention."""

# ruff: noqa: S608 (the tests' own SQL, on constant table names)

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import psycopg
import pytest

from ktp_gateway.audit.chain import GENESIS, AuditError, Kind
from ktp_gateway.audit.postgres_trail import HEAD, RECORDS, PostgresTrail
from ktp_gateway.audit.verify import verify_trail
from tests.postgres import PostgresServer


def _access(n: int) -> dict[str, object]:
    return {"operation": "nik_lookup", "officer_id": f"PETUGAS-{n:03d}", "code": None}


@pytest.fixture
def dsn(postgres: PostgresServer) -> str:
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {RECORDS}, {HEAD}")
    return postgres.dsn


@pytest.fixture
def trail(dsn: str) -> Iterator[PostgresTrail]:
    opened = PostgresTrail(dsn)
    for n in range(1, 6):
        opened.append(Kind.ACCESS, _access(n))
    yield opened
    opened.close()


def _sql(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(statement)  # type: ignore[arg-type]


def _problems(trail: PostgresTrail) -> list[str]:
    return [str(finding) for finding in verify_trail(trail).findings]


def test_an_untouched_trail_verifies_from_genesis_and_the_head_row_follows(
    trail: PostgresTrail,
) -> None:
    verdict = verify_trail(trail)
    assert verdict.intact and (verdict.records, verdict.first_seq, verdict.last_seq) == (5, 1, 5)
    records = list(trail.records())
    assert records[0].prev == GENESIS and records[1].prev == records[0].hash
    head = trail.head()
    assert head is not None and (head.seq, head.hash) == (5, records[-1].hash)


def test_an_edited_row_a_removed_row_and_a_removed_tail_are_found(
    trail: PostgresTrail, dsn: str
) -> None:
    _sql(dsn, f"UPDATE {RECORDS} SET line = replace(line, 'PETUGAS-002', 'PETUGAS-999') "
              "WHERE seq = 2")  # fmt: skip
    assert _problems(trail) == ["line 2, seq 2: edited: the record's hash does not match it"]
    _sql(dsn, f"UPDATE {RECORDS} SET line = replace(line, 'PETUGAS-999', 'PETUGAS-002')")
    _sql(dsn, f"DELETE FROM {RECORDS} WHERE seq = 3")
    assert _problems(trail)[0] == "line 3, seq 4: removed: record(s) seq 3 missing"
    _sql(dsn, f"DELETE FROM {RECORDS} WHERE seq >= 3")
    assert "removed at the end" in _problems(trail)[0]


def _append_from_process(dsn: str, count: int) -> None:
    trail = PostgresTrail(dsn)
    for start in range(0, count, 5):  # batches, as the group commit writes them
        trail.append_many([(Kind.ACCESS, _access(n)) for n in range(start, start + 5)])
    trail.close()


def test_several_processes_writing_at_once_keep_one_verifiable_chain(dsn: str) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_from_process, args=(dsn, 60)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    trail = PostgresTrail(dsn)
    verdict = verify_trail(trail)
    assert verdict.intact, verdict.findings[:3]
    assert (verdict.records, verdict.last_seq) == (240, 240)


def test_a_refused_value_takes_no_sequence_number_and_nothing_nik_shaped_is_written(
    trail: PostgresTrail, dsn: str
) -> None:
    results = trail.append_many(
        [(Kind.ACCESS, {"nomor_register": "REG/3171011505809901"}), (Kind.ACCESS, _access(6))]
    )
    assert isinstance(results[0], AuditError) and results[1].seq == 6  # type: ignore[union-attr]
    with psycopg.connect(dsn) as db:
        found = db.execute(f"SELECT count(*) FROM {RECORDS} WHERE line LIKE '%3171011505809901%'")
        assert found.fetchone() == (0,)
    assert verify_trail(trail).intact


def test_retention_leaves_an_anchor_and_the_rest_still_verifies(dsn: str) -> None:
    trail = PostgresTrail(dsn)
    with trail._db.session() as db:  # backdated records, as if written years ago
        for n in range(3):
            trail._append_in(db, [(Kind.ACCESS, _access(n))], f"2020-01-0{n + 1}T00:00:00+00:00")
    trail.append(Kind.ACCESS, _access(9))
    assert trail.prune(365) == 3
    verdict = verify_trail(trail)
    assert verdict.intact, verdict.findings
    assert (verdict.first_seq, verdict.last_seq) == (4, 5)
    assert [r.kind for r in trail.records()] == [Kind.ACCESS, Kind.RETENTION]
    assert trail.prune(365) == 0
    _sql(dsn, f"DELETE FROM {RECORDS} WHERE seq = 4")
    assert _problems(trail)[0] == "line 2, seq 5: removed: record(s) seq 4 missing"


def test_an_unreachable_database_is_audit_unavailable_and_names_no_secret() -> None:
    dsn = "host=/nonexistent-socket-dir port=1 user=postgres password=hunter2 dbname=postgres"
    with pytest.raises(AuditError) as raised:
        PostgresTrail(dsn)
    assert raised.value.code.value == "audit_unavailable"
    assert "hunter2" not in str(raised.value) and "nonexistent" not in str(raised.value)

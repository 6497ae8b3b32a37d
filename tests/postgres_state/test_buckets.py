"""Rate-limit buckets in PostgreSQL: one budget for every process, never over-granted."""

from __future__ import annotations

import asyncio
import multiprocessing

import psycopg
import pytest

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.postgres.buckets import TABLE, SharedBucket, create_tables
from ktp_gateway.postgres.database import Database
from tests.postgres import PostgresServer


def _database(dsn: str) -> Database:
    return Database(dsn, what="rate limits", code=ErrorCode.SHARED_STATE_UNAVAILABLE)


@pytest.fixture
def dsn(postgres: PostgresServer) -> str:
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    create_tables(_database(postgres.dsn))
    return postgres.dsn


async def _takes(bucket: SharedBucket, key: str, count: int) -> list[float]:
    return [await bucket.take(key) for _ in range(count)]


def test_a_burst_then_a_refusal_with_the_wait_until_the_next_token(dsn: str) -> None:
    bucket = SharedBucket(_database(dsn), "officer", per_minute=6, burst=3)
    waits = asyncio.run(_takes(bucket, "PETUGAS-001", 4))
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 9.0 < waits[3] <= 10.0  # one token per 10 s
    assert asyncio.run(_takes(bucket, "PETUGAS-002", 1)) == [0.0]  # another key, its own budget


def test_two_gateways_share_one_budget_and_a_refund_gives_a_token_back(dsn: str) -> None:
    first = SharedBucket(_database(dsn), "client", per_minute=1, burst=2)
    second = SharedBucket(_database(dsn), "client", per_minute=1, burst=2)
    assert asyncio.run(_takes(first, "case-app", 2)) == [0.0, 0.0]
    assert asyncio.run(_takes(second, "case-app", 1))[0] > 0
    asyncio.run(first.refund("case-app"))
    assert asyncio.run(_takes(second, "case-app", 1)) == [0.0]


async def _at_once(bucket: SharedBucket, keys: list[str]) -> list[float]:
    return list(await asyncio.gather(*(bucket.take(key) for key in keys)))


def _granted_in_process(dsn: str, count: int, results: multiprocessing.Queue[int]) -> None:
    bucket = SharedBucket(_database(dsn), "client", per_minute=0.001, burst=30)
    waits = asyncio.run(_takes(bucket, "case-app", count))
    results.put(sum(1 for wait in waits if wait == 0))


def test_takes_waiting_together_share_a_statement_first_come_first_served(dsn: str) -> None:
    bucket = SharedBucket(_database(dsn), "officer", per_minute=0.001, burst=3)
    keys = ["PETUGAS-001"] * 5 + ["PETUGAS-002"] * 2 + ["PETUGAS-001"] * 3
    waits = asyncio.run(_at_once(bucket, keys))
    first = [wait for key, wait in zip(keys, waits, strict=True) if key == "PETUGAS-001"]
    second = [wait for key, wait in zip(keys, waits, strict=True) if key == "PETUGAS-002"]
    assert first[:3] == [0.0, 0.0, 0.0] and all(wait > 1000 for wait in first[3:])
    assert second == [0.0, 0.0]
    assert bucket.statements < len(keys)  # the takes that waited went in one statement


def test_a_batch_grants_only_whole_tokens_and_says_when_the_next_comes(dsn: str) -> None:
    bucket = SharedBucket(_database(dsn), "client", per_minute=60, burst=2)
    waits = asyncio.run(_at_once(bucket, ["case-app"] * 4))
    assert waits[:2] == [0.0, 0.0]
    assert all(0.0 < wait <= 1.0 for wait in waits[2:])  # one token a second
    assert asyncio.run(_takes(bucket, "case-app", 1))[0] > 0  # no fraction spent as a token


def _crossing_in_process(
    dsn: str, keys: list[str], rounds: int, results: multiprocessing.Queue[int]
) -> None:
    bucket = SharedBucket(_database(dsn), "officer", per_minute=0.001, burst=40)

    async def run() -> int:
        granted = 0
        for _ in range(rounds):
            waits = await _at_once(bucket, keys)
            granted += sum(1 for wait in waits if wait == 0)
        return granted

    results.put(asyncio.run(run()))


def test_processes_batching_the_same_keys_in_any_order_never_deadlock(dsn: str) -> None:
    keys = [f"PETUGAS-{n:03d}" for n in range(8)]
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = context.Queue()
    orders = [keys, keys[::-1], keys[3:] + keys[:3]]
    takers = [
        context.Process(target=_crossing_in_process, args=(dsn, order, 10, results))
        for order in orders
    ]
    for taker in takers:
        taker.start()
    granted = sum(results.get(timeout=120) for _ in takers)
    for taker in takers:
        taker.join(timeout=60)
        assert taker.exitcode == 0  # a deadlock would have failed a statement in one of them
    assert granted == 8 * 30  # 30 takes of each key, within every key's burst of 40


def test_a_table_made_by_an_older_release_gets_the_new_column(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(
            f"CREATE TABLE {TABLE} (scope TEXT NOT NULL, key TEXT NOT NULL, "
            "tokens DOUBLE PRECISION NOT NULL, at DOUBLE PRECISION NOT NULL, "
            "granted BOOLEAN NOT NULL, PRIMARY KEY (scope, key))"
        )
        db.execute(
            f"INSERT INTO {TABLE} VALUES ('officer', 'PETUGAS-001', 1, "  # noqa: S608
            "extract(epoch FROM clock_timestamp()), TRUE)"
        )
    create_tables(_database(postgres.dsn))
    bucket = SharedBucket(_database(postgres.dsn), "officer", per_minute=0.001, burst=5)
    waits = asyncio.run(_at_once(bucket, ["PETUGAS-001"] * 2))
    assert waits[0] == 0.0 and waits[1] > 0  # the old row's one token, then none


def test_processes_taking_at_once_are_granted_exactly_the_burst(dsn: str) -> None:
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = context.Queue()
    takers = [
        context.Process(target=_granted_in_process, args=(dsn, 20, results)) for _ in range(4)
    ]
    for taker in takers:
        taker.start()
    granted = sum(results.get(timeout=120) for _ in takers)
    for taker in takers:
        taker.join(timeout=60)
    assert granted == 30  # 80 takes, a burst of 30, a refill too slow to matter


def test_a_database_that_went_away_is_a_typed_error_then_recovers(
    dsn: str, postgres: PostgresServer
) -> None:
    bucket = SharedBucket(_database(dsn), "officer", per_minute=60, burst=5)

    async def scenario() -> None:
        assert await bucket.take("PETUGAS-001") == 0.0
        with psycopg.connect(dsn, autocommit=True) as db:  # the server drops our session
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        assert await bucket.take("PETUGAS-001") == 0.0  # reconnected once, transparently
        await bucket.aclose()

    asyncio.run(scenario())
    gone = SharedBucket(_database("host=/nonexistent port=1 user=x password=hunter2"), "o", 60, 5)
    with pytest.raises(GatewayError) as raised:
        asyncio.run(_takes(gone, "PETUGAS-001", 1))
    assert raised.value.code is ErrorCode.SHARED_STATE_UNAVAILABLE
    assert "hunter2" not in str(raised.value)

"""Rotating the sealing key: nothing queued is lost, nothing is delivered twice, rekey finishes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.returns.rotation import KeyUsage, rekey, usage
from ktp_gateway.returns.sealing import Payload, SealingKeyMissing
from ktp_gateway.returns.service import report_keys, sealer_for
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.returns.store import DEAD, PENDING, Row
from tests.dukcapil.conftest import Simulator

from .test_outbox import BUDI, REGISTER, SITI, SK, client, drain, returns, sim, simulator

__all__ = ["client", "sim", "simulator"]  # the delivery fixtures, shared with test_outbox

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()


def keyed(settings: ReturnDataSettings, current: str, *previous: str) -> ReturnDataSettings:
    update = {"encryption_key": current, "previous_encryption_keys": list(previous)}
    return ReturnDataSettings.model_validate({**settings.model_dump(), **update})


def outbox_for(settings: ReturnDataSettings, sender: DukcapilClient) -> Outbox:
    return Outbox(settings, open_store(settings), sealer_for(settings), sender)


async def queue_under_a(settings: ReturnDataSettings, sender: DukcapilClient) -> list[str]:
    """Two content items and one with a caller's Idempotency-Key, one of them dead-lettered."""
    outbox = outbox_for(keyed(settings, KEY_A), sender)
    first, _ = await outbox.enqueue(BUDI, REGISTER, SK)
    second, _ = await outbox.enqueue(SITI, REGISTER, SK)
    third, _ = await outbox.enqueue(BUDI, "REG-0043/LPSK/2026", SK, caller_key="case-43")
    outbox.store.failed(second.id, status=DEAD, next_attempt_at=0, error="dukcapil_rejected")
    return [first.id, second.id, third.id]


async def requeue(outbox: Outbox) -> list[tuple[str, bool]]:
    again = [
        await outbox.enqueue(BUDI, REGISTER, SK),
        await outbox.enqueue(SITI, REGISTER, SK),
        await outbox.enqueue(BUDI, "REG-0043/LPSK/2026", SK, caller_key="case-43"),
    ]
    return [(item.id, created) for item, created in again]


def accepted_once(sim: Simulator, count: int) -> None:
    records = returns(sim)["records"]
    assert len(records) == count
    assert all(r["accepted"] == 1 and r["received"] == 1 for r in records)


async def test_items_sealed_under_the_old_key_are_delivered_after_a_rotation_once(
    backend_settings: ReturnDataSettings, client: DukcapilClient, sim: Simulator
) -> None:
    ids = await queue_under_a(backend_settings, client)
    outbox = outbox_for(keyed(backend_settings, KEY_B, KEY_A), client)
    assert usage(outbox.store, sealer_for(outbox.settings)) == KeyUsage(0, 3, 0)
    assert await requeue(outbox) == [(item_id, False) for item_id in ids]  # twins collapse
    await outbox.retry(None)
    await drain(outbox)
    accepted_once(sim, 3)
    assert (await outbox.list()).items == []


async def test_rekey_reseals_everything_so_the_old_key_can_go(
    backend_settings: ReturnDataSettings, client: DukcapilClient, sim: Simulator
) -> None:
    ids = await queue_under_a(backend_settings, client)
    rotating = keyed(backend_settings, KEY_B, KEY_A)
    store, sealer = open_store(rotating), sealer_for(rotating)
    done = rekey(store, sealer)
    assert (done.resealed, done.current, done.unopenable, done.gone) == (3, 0, 0, 0)
    assert rekey(store, sealer).current == 3  # a second run has nothing to do
    only_b = keyed(backend_settings, KEY_B)
    outbox = outbox_for(only_b, client)
    assert usage(outbox.store, sealer_for(only_b)) == KeyUsage(3, 0, 0)
    listing = await outbox.list()
    assert {i.nik_masked for i in listing.items} == {"************9901", "************9902"}
    assert await requeue(outbox) == [(item_id, False) for item_id in ids]  # still one each
    assert (await outbox.list("dead")).counts.dead == 1  # the dead item stayed dead
    await outbox.retry(None)
    await drain(outbox)
    accepted_once(sim, 3)


async def test_an_item_whose_key_is_missing_fails_typed_and_is_kept(
    backend_settings: ReturnDataSettings, client: DukcapilClient, sim: Simulator
) -> None:
    ids = await queue_under_a(backend_settings, client)
    only_b = keyed(backend_settings, KEY_B)
    outbox = outbox_for(only_b, client)
    sealer = sealer_for(only_b)
    row = outbox.store.get(ids[0])
    assert row is not None
    with pytest.raises(SealingKeyMissing) as missing:
        sealer.open(row.id, row.sealed)
    assert isinstance(missing.value, ConfigurationError)
    with capture_logs() as logs:
        assert report_keys(outbox.store, sealer) == KeyUsage(0, 0, 3)
        assert rekey(outbox.store, sealer).unopenable == 3
        await outbox.deliver_due()
    assert {e["event"] for e in logs} >= {"returns.sealing_key_missing"}
    item = await outbox.get(ids[0])
    assert item.last_error == "configuration_error" and item.nik_masked is None
    assert returns(sim)["records"] == []
    assert len((await outbox.list()).items) == 3  # nothing deleted
    back = outbox_for(keyed(backend_settings, KEY_B, KEY_A), client)  # the key comes back
    await back.retry(None)
    await drain(back)
    accepted_once(sim, 3)


def test_the_rekey_command_prints_counts_and_never_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    key_file = tmp_path / "old.key"
    key_file.write_text(KEY_A + "\n")
    key_file.chmod(0o600)
    env = {
        **os.environ,
        "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
        "KTP_GATEWAY_RETURN_DATA__SQLITE_PATH": str(path),
        "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY": KEY_A,
    }
    settings = ReturnDataSettings.model_validate(
        {"enabled": True, "sqlite_path": path, "encryption_key": KEY_A}
    )
    store, sealer = open_store(settings), sealer_for(settings)
    store.add(
        Row(
            "x1", "k1", sealer.seal("x1", Payload(BUDI, REGISTER, SK)), PENDING, 0, 0, None, None, 0
        )
    )
    env["KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY"] = KEY_B
    env["KTP_GATEWAY_RETURN_DATA__PREVIOUS_ENCRYPTION_KEY_FILES"] = f'["{key_file}"]'

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [sys.executable, "-m", "ktp_gateway.cli", "returns", "rekey", *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    done = run()
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.startswith("1 item(s) re-sealed") and "0 still under a previous" in done.stdout
    )
    again = run("--json")
    assert again.returncode == 0 and '"already_current": 1' in again.stdout
    del env["KTP_GATEWAY_RETURN_DATA__PREVIOUS_ENCRYPTION_KEY_FILES"]
    env["KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY"] = KEY_A  # a wrong current key: B is missing
    missing = run()
    assert missing.returncode == 1 and "1 that no configured key opens" in missing.stdout
    for output in (done, again, missing):
        text = output.stdout + output.stderr
        for secret in (KEY_A, KEY_B, BUDI, REGISTER, SK):
            assert secret not in text
    key_file.chmod(0o640)
    env["KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY"] = KEY_B
    env["KTP_GATEWAY_RETURN_DATA__PREVIOUS_ENCRYPTION_KEY_FILES"] = f'["{key_file}"]'
    refused = run()
    assert refused.returncode != 0 and "readable by group or others" in refused.stderr
    assert KEY_A not in refused.stderr

"""Buffers registered during a request are zeroed when it ends, also from worker threads."""

from __future__ import annotations

import asyncio

import pytest

from ktp_gateway.privacy.wipe import track, wipe_scope


def test_tracked_buffers_are_zeroed_in_place_at_the_end_of_the_scope() -> None:
    with wipe_scope() as buffers:
        card = track(bytearray(b"BUDI CONTOH|3171011505809901"))
        view = memoryview(card)  # an exported view: the buffer cannot be reallocated, only written
        assert bytes(card).startswith(b"BUDI")
    assert card == bytearray(len(card)) and view.tobytes() == bytes(len(card))
    assert buffers.wiped_bytes == len(card)


def test_the_scope_wipes_on_error_too() -> None:
    with pytest.raises(RuntimeError), wipe_scope():
        answer = track(bytearray(b'{"NAMA_LGKP": "BUDI CONTOH"}'))
        raise RuntimeError("registry failed")
    assert not any(answer)


async def test_buffers_from_a_worker_thread_belong_to_the_request() -> None:
    with wipe_scope():
        buffer = await asyncio.to_thread(lambda: track(bytearray(b"photo bytes")))
    assert not any(buffer)


def test_outside_a_request_nothing_is_tracked() -> None:
    buffer = track(bytearray(b"x"))
    with wipe_scope() as buffers:
        pass
    assert buffer == b"x" and buffers.wiped_bytes == 0

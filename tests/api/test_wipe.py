"""Buffers that held card or registry bytes are zeroed when the request ends (real stack)."""

from __future__ import annotations

import base64

import pytest

from ktp_gateway.api.app import build_services
from ktp_gateway.privacy.wipe import Buffers, wipe_scope
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.conftest import Simulator, make_settings


def _spy(buffers: Buffers) -> list[bytearray]:
    seen: list[bytearray] = []
    add = buffers.add

    def spy(buffer: bytearray) -> None:
        seen.append(buffer)
        add(buffer)

    buffers.add = spy  # type: ignore[method-assign]
    return seen


@pytest.mark.pcsc
async def test_the_card_files_are_assembled_in_buffers_zeroed_at_the_end(
    sim: Simulator, pcscd_service: PcscdService, reader_pair: VirtualReaderPair
) -> None:
    services = build_services(make_settings(sim.base_url))
    assert services.readers is not None
    reader_pair.place("budi")
    try:
        with wipe_scope() as buffers:
            seen = _spy(buffers)
            reading = await services.readers.read(reader_pair.card_reader, wait_seconds=5)
            assert any(reading.photo in buffer for buffer in seen)  # the photo passed through one
            assert any(b"BUDI CONTOH" in buffer for buffer in seen)  # and the biodata
    finally:
        services.readers.close()  # it holds the SAM open between taps
    assert seen and all(not any(buffer) for buffer in seen)
    assert buffers.wiped_bytes >= len(reading.photo)


async def test_the_registry_answer_is_assembled_in_a_buffer_zeroed_at_the_end(
    sim: Simulator, pcscd_service: PcscdService
) -> None:
    services = build_services(make_settings(sim.base_url))
    with wipe_scope() as buffers:
        seen = _spy(buffers)
        person = await services.registry.query_nik("3171011505809901")
        assert person.nama_ibu_kandung == "SRI CONTOH IBUNDA"
        assert any(b"SRI CONTOH IBUNDA" in buffer for buffer in seen)
    assert seen and all(not any(buffer) for buffer in seen)


async def test_the_registry_photo_answer_is_assembled_in_a_buffer_zeroed_at_the_end(
    sim: Simulator, pcscd_service: PcscdService
) -> None:
    services = build_services(make_settings(sim.base_url))
    with wipe_scope() as buffers:
        seen = _spy(buffers)
        photo = await services.registry.query_photo("3171011505809901")
        encoded = base64.b64encode(photo.data)
        assert any(encoded in buffer.replace(b"\\/", b"/") for buffer in seen)
    assert seen and all(not any(buffer) for buffer in seen)
    assert buffers.wiped_bytes >= len(encoded)

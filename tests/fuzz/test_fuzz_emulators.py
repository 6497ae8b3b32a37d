"""The emulators' APDU parsers: every input gets a status word, never the internal-error path.

Raw bytes to the card and the SAM, then commands inside an authenticated session: random inner
commands wrapped by the SAM, with their protected bytes corrupted before the card sees them,
and corrupted card answers unwrapped by the SAM.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import strategies as st

from ktp_gateway_dev.simulators import sam as sam_module
from ktp_gateway_dev.simulators.card import VirtualKtpCard
from ktp_gateway_dev.simulators.card import applet as card_module
from ktp_gateway_dev.simulators.iso7816 import ApduError, Command, parse_tlvs, with_tck
from ktp_gateway_dev.simulators.sam import VirtualSam
from tests.fuzz.budget import fuzz
from tests.simulators.relay import CARD, SAM, HostRelay, apdu


class _Raise:
    """Stands in for the emulators' logger: the catch-all path is a bug, so it fails the test."""

    def exception(self, message: str, *args: Any) -> None:
        raise AssertionError(f"emulator hit its catch-all: {message}")

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


@pytest.fixture(autouse=True)
def _no_catch_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sam_module, "log", _Raise())
    monkeypatch.setattr(card_module, "log", _Raise())


def _zeros(n: int) -> bytes:
    return bytes(n)


instructions = sorted(
    {*SAM.instructions.model_dump().values(), *(c.ins for c in (
        CARD.commands.select, CARD.commands.read_binary, CARD.commands.get_challenge,
        CARD.commands.external_authenticate,
    )), 0xC0, 0xCA}
)  # fmt: skip
structured = st.builds(
    apdu,
    cla=st.sampled_from([0x00, 0x0C, 0xFF, 0x80]),
    ins=st.sampled_from(instructions) | st.integers(0, 255),
    p1=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 0x80]) | st.integers(0, 255),
    p2=st.sampled_from([0, 1]) | st.integers(0, 255),
    data=st.binary(max_size=255),
    le=st.none() | st.integers(1, 256),
)
raw = st.binary(max_size=300) | structured


def _answers(answer: bytes) -> None:
    assert len(answer) >= 2


def test_fuzz_emulator_apdu_parsers() -> None:
    card, sam = VirtualKtpCard.for_person("budi", random=_zeros), VirtualSam.virtual(random=_zeros)
    relay = HostRelay(card.process, sam.process)
    assert relay.open() == 0x9000

    def run(data: bytes) -> None:
        _answers(card.process(data))
        _answers(sam.process(data))

    assert fuzz("emulators.process (raw)", raw, run) > 0


corruptions = st.tuples(
    st.binary(min_size=1, max_size=200) | structured,  # the inner command
    st.integers(0, 300),  # where to corrupt the protected command (past its end: left intact)
    st.integers(1, 255),  # the xor mask
    st.integers(0, 300),  # where to corrupt the card's protected answer
)


def test_fuzz_secure_messaging_paths() -> None:
    def run(case: tuple[bytes, int, int, int]) -> None:
        inner, at, mask, answer_at = case
        card = VirtualKtpCard.for_person("budi", random=_zeros)
        sam = VirtualSam.virtual(random=_zeros)
        relay = HostRelay(card.process, sam.process)
        assert relay.open() == 0x9000 and relay.authenticate() == 0x9000
        wrapped = sam.process(apdu(SAM.cla, SAM.instructions.wrap, data=inner[:255], le=256))
        _answers(wrapped)
        protected = bytearray(wrapped[:-2] or inner)
        if at < len(protected):
            protected[at] ^= mask
        answer = bytearray(card.process(bytes(protected)))
        _answers(bytes(answer))
        if answer_at < len(answer):
            answer[answer_at] ^= mask
        _answers(sam.process(apdu(SAM.cla, SAM.instructions.unwrap, data=bytes(answer)[:255])))

    assert fuzz("emulators secure messaging", corruptions, run, batch=50) > 0


def _parsers(data: bytes) -> None:
    for parse in (Command.parse, parse_tlvs):
        with contextlib.suppress(ApduError):
            parse(data)
    with contextlib.suppress(ValueError):
        with_tck(data)


def test_fuzz_emulator_codecs() -> None:
    assert fuzz("iso7816 parse/tlv/atr", st.binary(max_size=300), _parsers) > 0

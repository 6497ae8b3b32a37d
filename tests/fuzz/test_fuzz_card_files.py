"""The length-prefixed EF read: any prefix and any card behaviour give bytes or a typed error.

A prefix larger than the file, a card that never stops answering, garbled answers and random
status words: each ends in a `GatewayError`, within a bounded number of APDUs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hypothesis import strategies as st

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.reader.card.ktp_card import KtpCard
from ktp_gateway.reader.smartcard.connection import MAX_CHAINED_RESPONSES, processor_for
from ktp_gateway.specs import load_specs
from tests.fuzz.budget import fuzz

PROFILE = load_specs().cards["ktp-el"]
READ = PROFILE.read
MODES = ("honest", "endless", "dribble", "random")


@dataclass
class FileCard:
    """Serves one EF (prefix + body) as `mode` says; counts the APDUs it was sent."""

    content: bytes
    mode: str
    rng: random.Random
    atr: bytes = b""
    sent: int = 0

    def transmit(self, apdu: bytes) -> bytes:
        self.sent += 1
        if self.mode == "random":
            return self.rng.randbytes(self.rng.choice((0, 1, 2, 3, 10, 300)))
        if apdu[1] == 0xA4:
            return b"\x90\x00"
        offset, le = (apdu[2] << 8) | apdu[3], apdu[4] or 256
        if self.mode == "endless":
            return b"\x41" * le + b"\x90\x00"
        if self.mode == "dribble":
            return self.content[offset : offset + 1] + b"\x90\x00"
        if offset >= len(self.content):
            return b"\x6b\x00"
        chunk = self.content[offset : offset + le]
        return chunk + (b"\x90\x00" if len(chunk) == le else b"\x62\x82")

    def close(self) -> None:
        pass


cases = st.tuples(
    st.integers(0, 0xFFFF),
    st.binary(max_size=800),
    st.sampled_from(MODES),
    st.randoms(use_true_random=False),
)


def _read(case: tuple[int, bytes, str, random.Random]) -> None:
    stated, body, mode, rng = case
    card = FileCard(stated.to_bytes(2, "big") + body, mode, rng)
    try:
        result = KtpCard(processor_for(card), PROFILE).read_file("photo")
    except GatewayError as exc:
        assert isinstance(exc.code, ErrorCode)
        if mode == "honest":
            assert stated > len(body) or stated > READ.max_file_length
            assert exc.code is ErrorCode.CARD_DATA_INVALID
    else:
        assert mode != "honest" or result == body[:stated]
        assert len(result) == stated <= READ.max_file_length
    reads = 2 + math.ceil(min(stated, READ.max_file_length) / READ.chunk)
    assert card.sent <= reads * (MAX_CHAINED_RESPONSES + 2)
    if mode in ("honest", "endless", "dribble"):
        assert card.sent <= reads  # one SELECT, the head, one READ BINARY per chunk at most


def test_fuzz_length_prefixed_reads() -> None:
    assert fuzz("KtpCard.read_file", cases, _read) > 0

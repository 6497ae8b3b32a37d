"""The integrated-reader frame codec: fixed vectors from the profile, and hypothesis properties
(any byte stream gives answers or a typed error, never anything else; nothing unbounded)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.reader.serial.frames import DeviceAnswer, FrameCutter, encode, parse
from ktp_gateway.specs import load_specs

PROFILE = load_specs().integrated["len442-integrated"]
FRAMING = PROFILE.framing
FIELD = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="#;$"),
    max_size=40,
)


def test_commands_are_framed_as_the_profile_says() -> None:
    assert encode(FRAMING, "ektpack") == b"ektpack#;\x00"
    assert encode(FRAMING, "ektpfinger", 10, 2, "PETUGAS-01", "Tempelkan jari") == (
        b"ektpfinger#10#2#PETUGAS-01#Tempelkan jari#;\x00"
    )


@pytest.mark.parametrize("argument", ["a#b", "x;", "$", "nul\x00", "nama é"])
def test_an_argument_that_would_change_the_frame_is_refused(argument: str) -> None:
    with pytest.raises(ReaderError) as refused:
        encode(FRAMING, "ektpdisplay", argument)
    assert refused.value.code is ErrorCode.INVALID_REQUEST


def test_answers_end_with_or_without_a_closing_separator() -> None:
    cutter = FrameCutter(FRAMING)
    answers = cutter.feed(b"\x00$ack#len442ektpreader#;$finger#Y;$open#0#;")
    assert answers == [
        DeviceAnswer("ack", ("len442ektpreader",)),
        DeviceAnswer("finger", ("Y",)),
        DeviceAnswer("open", ("0",)),
    ]
    assert cutter.noise_bytes == 1 and not cutter.pending


def test_an_answer_split_across_reads_is_put_together() -> None:
    cutter = FrameCutter(FRAMING)
    assert cutter.feed(b"$demog#3171") == [] and cutter.pending
    assert cutter.feed(b"011505809901,CONTOH#;") == [
        DeviceAnswer("demog", ("3171011505809901,CONTOH",))
    ]


def test_an_oversized_frame_is_refused_without_buffering_it_all() -> None:
    cutter = FrameCutter(FRAMING)
    with pytest.raises(ReaderError) as refused:
        cutter.feed(b"$demog#" + b"A" * (FRAMING.max_answer_bytes + 10))
    assert refused.value.code is ErrorCode.READER_FRAME_INVALID
    assert not cutter.pending  # the next answer starts clean
    assert cutter.feed(b"$ack#x;") == [DeviceAnswer("ack", ("x",))]


@pytest.mark.parametrize("body", [b"", b"#Y", b"fin\xffger#Y", b"finger#\x07"])
def test_a_frame_without_header_or_with_bad_bytes_is_invalid(body: bytes) -> None:
    with pytest.raises(ReaderError) as refused:
        parse(FRAMING, body)
    assert refused.value.code is ErrorCode.READER_FRAME_INVALID


def test_a_restart_inside_a_frame_drops_the_cut_off_part() -> None:
    cutter = FrameCutter(FRAMING)
    assert cutter.feed(b"$demog#half$ack#x;") == [DeviceAnswer("ack", ("x",))]
    assert cutter.noise_bytes == len(b"demog#half") + 1


@given(header=FIELD.filter(bool), fields=st.lists(FIELD, max_size=6), closing=st.booleans())
def test_any_well_formed_answer_round_trips(header: str, fields: list[str], closing: bool) -> None:
    text = "#".join([header, *fields]) + ("#;" if closing else ";")
    answers = FrameCutter(FRAMING).feed(b"$" + text.encode())
    expected = list(fields)
    if not closing and expected and expected[-1] == "":
        expected.pop()  # `a#;` without the closing form reads as one field less: the same frame
    assert answers == [DeviceAnswer(header, tuple(expected))]


@given(stream=st.lists(st.binary(max_size=300), max_size=20))
def test_any_byte_stream_gives_answers_or_a_typed_error(stream: list[bytes]) -> None:
    cutter = FrameCutter(FRAMING)
    for chunk in stream:
        try:
            answers = cutter.feed(chunk)
        except ReaderError as exc:
            assert exc.code is ErrorCode.READER_FRAME_INVALID
            continue
        for answer in answers:
            assert answer.header and len(answer.header) <= FRAMING.max_answer_bytes

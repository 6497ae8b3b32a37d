"""Frames of the integrated-reader protocol: `name#arg#...#;` out, `$header#field...#;` in.

The framing characters come from the reader profile. Answers are cut out of the byte stream
incrementally: bytes before an answer's start are line noise (counted, dropped); an answer longer
than the profile's bound, or one that does not decode, is a typed error and never buffered
further. A field can hold neither the separator nor the end character, so a command argument that
does is refused rather than sent (it would change the command's meaning on the wire).
"""

from __future__ import annotations

from dataclasses import dataclass

from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.specs.integrated import Framing


@dataclass(frozen=True, slots=True)
class DeviceAnswer:
    """One answer: its header (the command it answers) and its fields."""

    header: str
    fields: tuple[str, ...]

    @property
    def payload(self) -> str:
        """The first field (most answers carry one), empty if none."""
        return self.fields[0] if self.fields else ""


def _invalid(detail: str) -> ReaderError:
    return ReaderError(detail, code=ErrorCode.READER_FRAME_INVALID)


def encode(framing: Framing, name: str, *args: str | int | float) -> bytes:
    """A command on the wire: its name and arguments joined, the end mark and the trailer."""
    parts = [name, *(str(arg) for arg in args)]
    reserved = {framing.separator, framing.command_end, framing.answer_start, framing.answer_end}
    for part in parts:
        if any(mark in part for mark in reserved) or "\x00" in part:
            raise ReaderError(
                "a command argument holds a framing character", code=ErrorCode.INVALID_REQUEST
            )
    text = framing.separator.join(parts) + framing.separator + framing.command_end
    try:
        return (text + framing.command_trailer).encode(framing.encoding)
    except UnicodeEncodeError:
        raise ReaderError(
            "a command argument is not in the device's character set",
            code=ErrorCode.INVALID_REQUEST,
        ) from None


def parse(framing: Framing, body: bytes) -> DeviceAnswer:
    """An answer's body (between the start and the end marks) as header and fields."""
    try:
        text = body.decode(framing.encoding)
    except UnicodeDecodeError:
        raise _invalid("the reader answered bytes outside its character set") from None
    if any(ord(char) < 0x20 for char in text):
        raise _invalid("the reader answered control characters inside a frame")
    pieces = text.split(framing.separator)
    if pieces and pieces[-1] == "":
        pieces.pop()  # `...#;`: the separator before the end mark closes the last field
    if not pieces or not pieces[0]:
        raise _invalid("the reader answered a frame without a header")
    return DeviceAnswer(header=pieces[0], fields=tuple(pieces[1:]))


class FrameCutter:
    """Cuts answers out of a byte stream, as it arrives, within the profile's bounds."""

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._start = framing.answer_start.encode(framing.encoding)
        self._end = framing.answer_end.encode(framing.encoding)
        self._buffer = bytearray()
        self._in_frame = False
        self.noise_bytes = 0  # dropped outside any frame (NULs, line noise, a partial frame)

    @property
    def pending(self) -> bool:
        """A frame has started and not ended (a half frame, if the device falls silent)."""
        return self._in_frame

    def reset(self) -> None:
        """Forget a half frame (after a timeout: the next answer starts clean)."""
        self._buffer.clear()
        self._in_frame = False

    def feed(self, data: bytes) -> list[DeviceAnswer]:
        """Every answer completed by `data`; raises on an oversized or undecodable one."""
        answers = []
        for byte in data:
            char = bytes((byte,))
            if not self._in_frame:
                if char == self._start:
                    self._in_frame = True
                else:
                    self.noise_bytes += 1
                continue
            if char == self._end:
                body = bytes(self._buffer)
                self.reset()
                answers.append(parse(self.framing, body))
                continue
            if char == self._start:  # a new start inside a frame: the first was cut off
                self.noise_bytes += len(self._buffer) + 1
                self._buffer.clear()
                continue
            self._buffer += char
            if len(self._buffer) > self.framing.max_answer_bytes:
                self.reset()
                raise _invalid(
                    f"the reader sent a frame longer than {self.framing.max_answer_bytes} bytes"
                )
        return answers

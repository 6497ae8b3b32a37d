"""The serial edge: the one module that imports pyserial (as pcsc.py is for pyscard).

A `SerialPort` opens a device path with the profile's line settings and offers `write` and
`read_some` (whatever arrived within a timeout); every pyserial or OS error becomes a typed
reader error: a path that is gone is `reader_not_found`, a port that fails mid-use (unplugged)
`reader_unavailable`. Nothing here knows the protocol.
"""

from __future__ import annotations

import contextlib
import glob
from pathlib import Path

import serial

from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.specs.integrated import SerialLine

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_STOPBITS = {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}
_BYTESIZE = {7: serial.SEVENBITS, 8: serial.EIGHTBITS}
READ_CHUNK = 512


def _gone(detail: str) -> ReaderError:
    return ReaderError(detail, code=ErrorCode.READER_UNAVAILABLE)


class SerialPort:
    """One open serial port; `close` is idempotent."""

    def __init__(self, path: str, line: SerialLine) -> None:
        self.path = path
        try:
            self._port = serial.Serial(
                port=path,
                baudrate=line.baud,
                bytesize=_BYTESIZE[line.bytesize],
                parity=_PARITY[line.parity],
                stopbits=_STOPBITS[line.stopbits],
                timeout=0,
                write_timeout=2.0,
                exclusive=True,  # two services on one reader would interleave frames
            )
        except (serial.SerialException, OSError, ValueError):
            raise ReaderError(
                "the reader's serial port cannot be opened", code=ErrorCode.READER_NOT_FOUND
            ) from None

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError):
            raise _gone("the reader's serial port failed while writing (unplugged?)") from None

    def read_some(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` seconds (at least one byte, or none)."""
        try:
            self._port.timeout = timeout
            first: bytes = self._port.read(1)
            if not first:
                return b""
            self._port.timeout = 0
            rest: bytes = self._port.read(min(self._port.in_waiting, READ_CHUNK))
            return first + rest
        except (serial.SerialException, OSError, TypeError):
            # pyserial raises SerialException (and at times TypeError) when the device vanished
            raise _gone("the reader's serial port failed while reading (unplugged?)") from None

    def discard_input(self) -> None:
        """Drop bytes still in flight (a late answer) before the next command."""
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError):
            raise _gone("the reader's serial port failed (unplugged?)") from None

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):  # a vanished port: nothing left
            self._port.close()


def candidate_ports(line: SerialLine) -> list[str]:
    """Device paths the profile's patterns match now (discovery asks each one)."""
    found = {path for pattern in line.port_patterns for path in glob.glob(pattern)}
    return sorted(path for path in found if Path(path).exists())

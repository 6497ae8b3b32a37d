"""A scripted `Connection` for protocol tests: asserts the exact bytes sent, replays answers."""

from __future__ import annotations


class ScriptedConnection:
    def __init__(self, script: list[tuple[str, str]], atr: bytes = b"") -> None:
        self.script = [
            (bytes.fromhex(c.replace(" ", "")), bytes.fromhex(r.replace(" ", "")))
            for c, r in script
        ]
        self.atr = atr
        self.sent: list[bytes] = []
        self.closed = False

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        assert self.script, f"unexpected APDU {apdu.hex()}"
        expected, answer = self.script.pop(0)
        assert apdu == expected, f"sent {apdu.hex()}, expected {expected.hex()}"
        return answer

    def close(self) -> None:
        self.closed = True

    def done(self) -> bool:
        return not self.script

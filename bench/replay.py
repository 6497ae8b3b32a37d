"""`python -m bench.replay`: the host's own work in a tap, without the I/O.

One tap of the synthetic card is read through the gateway's `read_card` over the virtual stack
(pcscd, pyscard, the emulators), every answer kept in memory; then the same read is replayed
`--taps` times from those answers (connections that answer from the list: no pcscd, no
emulator), with the SAM held as the gateway holds it. What is left is the Python of a tap: the
APDU layers, the card and SAM sessions, the host's ECDSA check, parsing. In the gateway the same
work runs about twice as slow, between round trips through pcscd and the emulator's process on
the same cores (BENCHMARKS.md); this isolates it so a step on it can be measured alone.
`--profile` adds cProfile's top functions. No answer is written anywhere.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bench.sequence import virtual_activations
from bench.stack import bench_stack
from ktp_gateway.reader.card.sam_hold import SamHold
from ktp_gateway.reader.card.tap import read_card
from ktp_gateway.reader.smartcard.connection import Connection
from ktp_gateway.reader.smartcard.pairs import ReaderPair, find_pairs
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import Specs, load_specs

PERSON = "budi"  # a synthetic person (simulators/data/synthetic_people.yaml)


@dataclass
class _Recorded:
    atr: bytes
    answers: list[bytes] = field(default_factory=list)


class _Recording:
    def __init__(self, inner: Connection, log: _Recorded) -> None:
        self._inner, self._log = inner, log

    @property
    def atr(self) -> bytes:
        return self._inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        answer = self._inner.transmit(apdu)
        self._log.answers.append(answer)
        return answer

    def intact(self) -> bool:
        return self._inner.intact()

    def close(self) -> None:
        self._inner.close()


class _Replaying:
    """Answers each command with the next recorded answer (the read is deterministic)."""

    def __init__(self, recorded: _Recorded) -> None:
        self._atr = recorded.atr
        self._answers: Iterator[bytes] = iter(recorded.answers)

    @property
    def atr(self) -> bytes:
        return self._atr

    def rewind(self, recorded: _Recorded) -> None:
        self._answers = iter(recorded.answers)

    def transmit(self, apdu: bytes) -> bytes:
        return next(self._answers)

    def intact(self) -> bool:
        return True

    def close(self) -> None:
        pass


@dataclass
class Recording:
    """A first tap (it opens the SAM) and a second through the held SAM, as the gateway taps."""

    pair: ReaderPair
    card: _Recorded
    sam_opening: _Recorded
    sam_held: _Recorded


def record(specs: Specs, activations: Activations, card_reader: str) -> Recording:
    """Two reads of the card on `card_reader` over the virtual stack, every answer kept."""
    with PcscContext() as context:
        pair = next(
            p for p in find_pairs(context.list_readers(), specs) if p.card_reader == card_reader
        )
        logs: dict[str, _Recorded] = {}

        class Connector:
            def connect(self, reader: str) -> Connection:
                inner = context.connect(reader)
                logs[reader] = _Recorded(inner.atr)
                return _Recording(inner, logs[reader])

        hold = SamHold(specs, activations, hold_seconds=60.0)
        connector = Connector()
        try:
            read_card(connector, pair, specs, activations, sams=hold)
            opening = _Recorded(logs[pair.sam_reader].atr, list(logs[pair.sam_reader].answers))
            logs[pair.sam_reader].answers.clear()
            read_card(connector, pair, specs, activations, sams=hold)
        finally:
            hold.let_go(pair.card_reader)
    return Recording(pair, logs[pair.card_reader], opening, logs[pair.sam_reader])


class _ReplayConnector:
    """The SAM slot gets the one SAM connection (held across taps); the card slot a fresh one."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.sam = _Replaying(recording.sam_opening)

    def connect(self, reader: str) -> Connection:
        if reader == self.recording.pair.sam_reader:
            return self.sam
        return _Replaying(self.recording.card)


def replay_tap(connector: _ReplayConnector, hold: SamHold, specs: Specs, acts: Activations) -> None:
    """One read through the held SAM, every answer from the recording."""
    connector.sam.rewind(connector.recording.sam_held)
    read_card(connector, connector.recording.pair, specs, acts, sams=hold)


def run(taps: int, profile: bool) -> dict[str, float]:
    specs = load_specs()
    activations = virtual_activations(specs)
    with bench_stack(pcsc=True) as stack:
        stack.pairs[0].place(PERSON)
        recording = record(specs, activations, stack.pairs[0].card_reader)
    connector = _ReplayConnector(recording)
    hold = SamHold(specs, activations, hold_seconds=3600.0)
    read_card(connector, recording.pair, specs, activations, sams=hold)  # opens the SAM

    def one() -> None:
        replay_tap(connector, hold, specs, activations)

    for _ in range(20):  # warm
        one()
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(taps):
            one()
        batches.append((time.perf_counter() - started) * 1000 / taps)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(taps):
            one()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    apdus = len(recording.card.answers) + len(recording.sam_held.answers)
    median = statistics.median(batches)
    return {
        "apdus": apdus,
        "ms_per_tap": round(median, 3),
        "us_per_apdu": round(median * 1000 / apdus, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__)
    parser.add_argument("--taps", type=int, default=300, help="replays per batch (5 batches)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top 20")
    args = parser.parse_args(argv)
    result = run(args.taps, args.profile)
    print(
        f"{result['apdus']} APDUs per tap; host work replayed: {result['ms_per_tap']} ms per tap "
        f"(median of 5 batches of {args.taps}), {result['us_per_apdu']} µs per APDU"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

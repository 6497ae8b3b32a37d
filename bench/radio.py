"""Projected time of the measured APDU sequence on a real reader: ISO 14443-4 and ISO 7816-3 T=1.

A model, not a measurement. Its assumptions (BENCHMARKS.md repeats them):

Card, ISO 14443-4 type A, one I-block per APDU each way (FSC = FSD = 256, so no chaining for
the 224-byte reads), no CID or NAD:
- a frame carries PCB (1 byte) + the APDU + CRC_A (2 bytes); each byte is 9 bit periods on air
  (8 data bits and odd parity), plus 1 for the start of frame and 1 for the end;
- frame delay time PCD->PICC and PICC->PCD: 1172/fc each (86.4 us, fc = 13.56 MHz);
- waiting time: the chip's own processing, `CARD_PROCESSING_S` per APDU (EEPROM read or 3DES;
  real chips vary, the frame waiting time only bounds it);
- the reader's PC/SC pseudo-APDUs (CLA FF, e.g. GET UID) go no further than the reader;
- card activation (REQA .. RATS/ATS, PPS) happens before the first APDU and is not counted.

SAM, ISO 7816-3 T=1 in the reader's contact slot, IFSC/IFSD 254 (no chaining):
- a block is NAD, PCB, LEN, the APDU, LRC: APDU + 4 bytes; 11 etu per character (character
  guard time 11 etu, the T=1 minimum) and a block guard time of 22 etu between the command
  and the response;
- `SAM_PROCESSING_S` per APDU for the SAM's own work (3DES, hashing); the ECDSA step's real cost
  is not public and not modelled beyond that.

Both: `USB_ROUND_TRIP_S` per APDU for the CCID exchange between host and reader (full-speed
USB bulk transfers, 1 ms frames).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.sequence import Exchange

FC_HZ = 13.56e6
CARD_RATES_KBIT = (106, 424, 848)
SAM_BAUDS = (9600, 115200)  # ISO 7816-3 default (F 372, D 1 at 3.5712 MHz) and after PPS D 12
FRAME_DELAY_S = 1172 / FC_HZ
I_BLOCK_OVERHEAD_BYTES = 3  # PCB + CRC_A
BITS_PER_BYTE_14443A = 9
SOF_EOF_BITS = 2
T1_BLOCK_OVERHEAD_BYTES = 4  # NAD, PCB, LEN, LRC
T1_ETU_PER_CHAR = 11
T1_BLOCK_GUARD_ETU = 22
CARD_PROCESSING_S = 0.001
SAM_PROCESSING_S = 0.001
USB_ROUND_TRIP_S = 0.001
PSEUDO_APDU_INS = {0xCA}  # FF CA: the reader answers from anticollision, nothing on air


@dataclass(frozen=True, slots=True)
class Projection:
    """Seconds of one tap's APDUs, split into link, chip processing and USB."""

    link: float
    processing: float
    usb: float

    @property
    def total(self) -> float:
        return self.link + self.processing + self.usb

    def as_ms(self) -> dict[str, float]:
        return {
            "link_ms": round(self.link * 1000, 1),
            "processing_ms": round(self.processing * 1000, 1),
            "usb_ms": round(self.usb * 1000, 1),
            "total_ms": round(self.total * 1000, 1),
        }


def _frame_seconds(apdu_bytes: int, kbit: int) -> float:
    bits = BITS_PER_BYTE_14443A * (apdu_bytes + I_BLOCK_OVERHEAD_BYTES) + SOF_EOF_BITS
    return bits / (kbit * 1000)


def card_projection(exchanges: Iterable[Exchange], kbit: int) -> Projection:
    """The card's APDUs over ISO 14443-4 at `kbit` kbit/s."""
    link = processing = usb = 0.0
    for e in exchanges:
        usb += USB_ROUND_TRIP_S
        if e.ins in PSEUDO_APDU_INS and e.command_bytes == 5:
            continue
        link += _frame_seconds(e.command_bytes, kbit) + _frame_seconds(e.response_bytes, kbit)
        link += 2 * FRAME_DELAY_S
        processing += CARD_PROCESSING_S
    return Projection(link, processing, usb)


def sam_projection(exchanges: Iterable[Exchange], baud: int) -> Projection:
    """The SAM's APDUs over ISO 7816-3 T=1 at `baud` bit/s."""
    link = processing = usb = 0.0
    etu = 1 / baud
    for e in exchanges:
        chars = e.command_bytes + e.response_bytes + 2 * T1_BLOCK_OVERHEAD_BYTES
        link += (chars * T1_ETU_PER_CHAR + T1_BLOCK_GUARD_ETU) * etu
        processing += SAM_PROCESSING_S
        usb += USB_ROUND_TRIP_S
    return Projection(link, processing, usb)


def without_surplus(exchanges: list[Exchange], surplus: dict[str, int]) -> list[Exchange]:
    """The floor's sequence: the measured one less the surplus APDUs of each device and INS."""
    left = dict(surplus)
    kept: list[Exchange] = []
    for e in reversed(exchanges):  # drop the last ones of an instruction (the extra reads)
        key = f"{e.device} {e.ins:02X}"
        if left.get(key, 0) > 0:
            left[key] -= 1
            continue
        kept.append(e)
    return kept[::-1]


def project(exchanges: list[Exchange], surplus: dict[str, int]) -> dict[str, object]:
    """Projected milliseconds per card bit rate and SAM baud rate, measured and at the floor."""
    floor = without_surplus(exchanges, surplus)
    card = [e for e in exchanges if e.device == "card"]
    sam = [e for e in exchanges if e.device == "sam"]
    floor_card = [e for e in floor if e.device == "card"]
    floor_sam = [e for e in floor if e.device == "sam"]
    return {
        "card": {
            f"{kbit}_kbit": {
                "measured": card_projection(card, kbit).as_ms(),
                "floor": card_projection(floor_card, kbit).as_ms(),
            }
            for kbit in CARD_RATES_KBIT
        },
        "sam": {
            f"{baud}_baud": {
                "measured": sam_projection(sam, baud).as_ms(),
                "floor": sam_projection(floor_sam, baud).as_ms(),
            }
            for baud in SAM_BAUDS
        },
        "assumptions": {
            "card": "ISO 14443-4 type A I-blocks, FSC=FSD=256, 9 bits/byte + SOF/EOF, "
            f"PCB+CRC 3 bytes, FDT 1172/fc each way, {CARD_PROCESSING_S * 1000:g} ms chip "
            "processing per APDU, PC/SC pseudo-APDUs (FF CA) not on air",
            "sam": f"ISO 7816-3 T=1, IFSC 254, 11 etu/char, BGT 22 etu, "
            f"{SAM_PROCESSING_S * 1000:g} ms SAM processing per APDU",
            "usb": f"{USB_ROUND_TRIP_S * 1000:g} ms CCID round trip per APDU",
        },
    }

"""The fewest APDUs the firmware specs allow for one tap, and the APDU economy ratio against it.

Everything is read from the card and SAM profiles (`firmware_specs/cards/ktp-el.yaml`,
`firmware_specs/sams/ktp-el-sam.yaml`) and from the bytes the tap actually read:

- card: the UID pseudo-APDU, SELECT of the application, GET CHALLENGE, EXTERNAL AUTHENTICATE;
  then per file read one SELECT (the profile gives no short file identifiers) and the reads the
  profile's rule permits: `first_read` bytes to learn the length, then the rest in `chunk`s.
- SAM, per tap: reset, authenticate, verify; a wrap and an unwrap for each command to a
  secure-messaging file; the signature steps start, load, stop and verify (the profile's
  `decipher` step is not needed to verify) with the signed bytes fed in `signature_feed_chunk`s,
  one stream across files (the SAM hashes the concatenation).
- SAM, per session: its serial and the open. The profile lets a SAM stay open across taps
  (`reset` "forgets any card session before a new tap"), so the floor does not count them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ktp_gateway.specs import CardProfile, FileAccess, SamProfile


@dataclass(frozen=True, slots=True)
class Floor:
    """The minimum per tap, itemised, with the instruction byte each item is sent with."""

    card: dict[str, int] = field(default_factory=dict)
    sam: dict[str, int] = field(default_factory=dict)
    card_by_ins: dict[str, int] = field(default_factory=dict)
    sam_by_ins: dict[str, int] = field(default_factory=dict)
    sam_per_session: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.card.values()) + sum(self.sam.values())


def reads_for(total_bytes: int, card: CardProfile) -> int:
    """READ BINARYs the profile's rule needs for `total_bytes` (length prefix included)."""
    rule = card.read
    return 1 + math.ceil(max(0, total_bytes - rule.first_read) / rule.chunk)


def _add(counts: dict[str, int], key: str, amount: int) -> None:
    counts[key] = counts.get(key, 0) + amount


def compute_floor(card: CardProfile, sam: SamProfile, file_bytes: dict[str, int]) -> Floor:
    """The floor for a tap that read `file_bytes` (plain bytes per file, length prefix included)."""
    floor = Floor()
    commands, ins = card.commands, sam.instructions
    uid_ins = card.uid.type_a_command[1]
    for name, count, code in (
        ("uid", 1, uid_ins),
        ("select_application", 1, commands.select.ins),
        ("get_challenge", 1, commands.get_challenge.ins),
        ("external_authenticate", 1, commands.external_authenticate.ins),
    ):
        floor.card[name] = count
        _add(floor.card_by_ins, f"{code:02X}", count)
    for step, code in (("reset", ins.reset), ("authenticate", ins.authenticate)):
        floor.sam[step] = 1
        _add(floor.sam_by_ins, f"{code:02X}", 1)
    floor.sam["verify"] = 1
    _add(floor.sam_by_ins, f"{ins.verify:02X}", 1)
    for name, size in file_bytes.items():
        commands_to_file = 1 + reads_for(size, card)  # SELECT + reads
        floor.card[f"read {name}"] = commands_to_file
        _add(floor.card_by_ins, f"{commands.select.ins:02X}", 1)
        _add(floor.card_by_ins, f"{commands.read_binary.ins:02X}", commands_to_file - 1)
        if card.files[name].access is FileAccess.SECURE_MESSAGING:
            floor.sam[f"secure messaging {name}"] = 2 * commands_to_file
            _add(floor.sam_by_ins, f"{ins.wrap:02X}", commands_to_file)
            _add(floor.sam_by_ins, f"{ins.unwrap:02X}", commands_to_file)
    signed = sum(file_bytes[name] - card.read.length_prefix for name in card.signed_files)
    feeds = math.ceil(signed / sam.signature_feed_chunk)
    floor.sam["signature"] = 4 + feeds  # start, load signature, feeds, stop, verify
    _add(floor.sam_by_ins, f"{ins.signature:02X}", 4 + feeds)
    floor.sam_per_session.update({"serial": 1, "open": 1})
    return floor


def economy(measured: dict[str, dict[str, int]], floor: Floor) -> dict[str, object]:
    """APDUs per tap over the floor, with the surplus by device and instruction byte."""
    card, sam = sum(measured["card"].values()), sum(measured["sam"].values())
    surplus: dict[str, int] = {}
    for device, minimum in (("card", floor.card_by_ins), ("sam", floor.sam_by_ins)):
        for code in sorted(set(measured[device]) | set(minimum)):
            extra = measured[device].get(code, 0) - minimum.get(code, 0)
            if extra:
                surplus[f"{device} {code}"] = extra
    return {
        "apdus_per_tap": {"card": card, "sam": sam, "total": card + sam},
        "floor": {
            "card": sum(floor.card.values()),
            "sam": sum(floor.sam.values()),
            "total": floor.total,
            "card_items": floor.card,
            "sam_items": floor.sam,
            "sam_per_session_not_counted": floor.sam_per_session,
        },
        "apdu_economy": round((card + sam) / floor.total, 3),
        "card_economy": round(card / sum(floor.card.values()), 3),
        "sam_economy": round(sam / sum(floor.sam.values()), 3),
        "surplus_by_ins": surplus,
    }

"""Pair each reader's card slot with its SAM slot, using the reader profiles."""

from __future__ import annotations

from dataclasses import dataclass

from ktp_gateway.specs import ReaderProfile, Specs


@dataclass(frozen=True, slots=True)
class ReaderPair:
    """One physical reader: the slot officers tap cards on, and the slot holding its SAM."""

    card_reader: str
    sam_reader: str
    profile: ReaderProfile


def find_pairs(reader_names: list[str], specs: Specs) -> list[ReaderPair]:
    """Card slots whose paired SAM slot is present; a SAM slot is never offered as a card reader."""
    present = set(reader_names)
    pairs = []
    for name in reader_names:
        for profile in specs.readers.values():
            sam = profile.sam_slot_for(name)
            if sam is not None and sam in present:
                pairs.append(ReaderPair(card_reader=name, sam_reader=sam, profile=profile))
                break
    return pairs

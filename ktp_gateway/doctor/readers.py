"""Readers as pcscd lists them, matched to the reader profiles in firmware_specs/readers/.

A physical KTP-el reader shows as two PC/SC readers: the card slot and the SAM slot. The
profiles pair them; anything left over is reported, and a SAM slot must never be offered as a
card reader (officers would tap cards on the SAM).
"""

from __future__ import annotations

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok, warn
from ktp_gateway.errors import ConfigurationError, ReaderError
from ktp_gateway.reader.smartcard.pairs import ReaderPair, find_pairs
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway.specs import Specs, load_specs

HANG_FIX = "PC/SC did not answer: `sudo systemctl restart pcscd`, then run the doctor again"
PROFILE_FIX = (
    "a KTP-el reader needs a profile in firmware_specs/readers/ (firmware_specs/README.md)"
)


def _pairs_line(pairs: list[ReaderPair]) -> Line:
    described = "; ".join(
        f"'{p.card_reader}' + SAM slot '{p.sam_reader}' ({p.profile.id})" for p in pairs
    )
    count = f"{len(pairs)} reader pair{'s' if len(pairs) != 1 else ''}"
    return ok("readers", "readers", f"{count}: {described}")


def _leftovers(names: list[str], pairs: list[ReaderPair], specs: Specs) -> list[Line]:
    used = {n for p in pairs for n in (p.card_reader, p.sam_reader)}
    lines = []
    for name in names:
        if name in used:
            continue
        profile = next((p for p in specs.readers.values() if p.sam_slot_for(name)), None)
        if profile is not None:
            lines.append(
                warn(
                    "readers",
                    "readers",
                    f"card slot '{name}' has no SAM slot '{profile.sam_slot_for(name)}'",
                    "re-plug the reader; its driver must expose both slots (`ktp-gateway readers`)",
                )
            )
        else:
            lines.append(
                warn("readers", "readers", f"'{name}' matches no reader profile", PROFILE_FIX)
            )
    return lines


def _misuse(pairs: list[ReaderPair], context: Context) -> list[Line]:
    lines = []
    card_slots = {p.card_reader for p in pairs}
    for pair in pairs:
        if pair.sam_reader in card_slots:
            lines.append(
                fail(
                    "readers",
                    "readers",
                    f"SAM slot '{pair.sam_reader}' is also offered as a card reader",
                    f"correct card_slot in firmware_specs/readers/{pair.profile.id}.yaml "
                    "(`ktp-gateway spec check`)",
                )
            )
    test_only = sorted({p.profile.id for p in pairs if p.profile.test_only})
    if test_only and not context.options.expect_virtual:
        lines.append(
            warn(
                "readers",
                "readers",
                f"test-only emulator profile in use: {', '.join(test_only)}",
                "never serve the virtual reader in production: remove the vpcd entry from "
                "pcscd's reader.conf.d (or pass --expect-virtual on a test machine)",
            )
        )
    return lines


def check_readers(context: Context) -> list[Line]:
    """Readers listed, paired by profile; leftovers and profile mistakes."""
    try:
        specs = load_specs(context.specs_dir)
    except ConfigurationError:
        return [
            fail(
                "readers",
                "readers",
                f"the firmware specs in {context.specs_dir} do not load",
                "`ktp-gateway spec check` names the file and the problem",
            )
        ]
    try:
        with PcscContext() as pcsc:
            names = pcsc.list_readers()
    except ReaderError as exc:
        return [fail("readers", "readers", exc.detail, HANG_FIX)]
    pairs = find_pairs(names, specs)
    with context.lock:
        context.specs, context.pairs = specs, pairs
    if not names:
        return [
            fail(
                "readers",
                "readers",
                "no PC/SC reader is attached",
                "plug in the KTP-el reader; `ktp-gateway readers` lists what pcscd sees "
                "(USB readers need Debian's libccid or the vendor's driver)",
            )
        ]
    head = (
        _pairs_line(pairs)
        if pairs
        else fail(
            "readers",
            "readers",
            f"{len(names)} reader(s) attached, none is a KTP-el card slot with its SAM slot",
            PROFILE_FIX,
        )
    )
    return [head, *_misuse(pairs, context), *_leftovers(names, pairs, specs)]

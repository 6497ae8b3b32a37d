"""Each reader pair's slots: the card (none is fine), the SAM, and the SAM's activation record.

The SAM is asked only for its serial, never opened: a SAM locks after a few wrong opens and
only Dukcapil can unlock it, so the doctor leaves opening to the gateway (which checks each SAM
at start). The serial is equipment, not personal data, and is shown. A card is never read.
"""

from __future__ import annotations

import datetime as dt

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, Status, fail, ok, skip, warn
from ktp_gateway.errors import ConfigurationError, ErrorCode, GatewayError
from ktp_gateway.reader.smartcard.connection import Device, processor_for
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.reader.smartcard.pcsc import PcscContext, ReaderStatus
from ktp_gateway.sam.activation_record import ActivationRecord
from ktp_gateway.sam.binding import Activations
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import Specs

HANG_FIX = "a slot did not answer: re-seat the SAM and re-plug the reader, then restart pcscd"
RECORD_FIX = (
    "install Dukcapil's signed record for this SAM and reader "
    "(KTP_GATEWAY_ACTIVATION__RECORD_FILES, chmod 600) and restart the gateway"
)
_SERIAL_FIXES = {
    ErrorCode.SAM_READER_MISMATCH: "put back the SAM activated for this reader, or ask Dukcapil "
    "for an activation record of this SAM for this reader",
    ErrorCode.SAM_NOT_ACTIVATED: RECORD_FIX,
}
RENEW_FIX = "ask Dukcapil to renew this reader's activation; install the new record and restart"


def _card(pair: ReaderPair, status: ReaderStatus, specs: Specs) -> Line:
    reader = pair.card_reader
    card = specs.card_for(pair.profile)
    if not status.card_present:
        return ok("card", "card", "no card on the reader (fine)", reader=reader)
    if card.matches_atr(status.atr):
        return ok("card", "card", f"a {card.name} is on the reader (ATR known)", reader=reader)
    return warn(
        "card",
        "card",
        f"the card on the reader is not a {card.name} (its ATR is not in profile {card.id})",
        "take it off; `ktp-gateway readers` shows its ATR (a new card generation needs a profile)",
        reader=reader,
    )


def _sam(pair: ReaderPair, status: ReaderStatus, specs: Specs) -> Line:
    reader = pair.card_reader
    sam = specs.sam_for(pair.profile)
    if not status.card_present:
        return fail(
            "sam",
            "SAM",
            f"no SAM in the SAM slot '{pair.sam_reader}'",
            "power the reader off, insert the Dukcapil SAM in its SAM slot, power it on",
            reader=reader,
        )
    if not sam.matches_atr(status.atr):
        return fail(
            "sam",
            "SAM",
            f"the card in the SAM slot is not a {sam.name} (ATR unknown)",
            "put the Dukcapil SAM in the SAM slot (the KTP-el goes on the card slot)",
            reader=reader,
        )
    return ok("sam", "SAM", f"{sam.name} present in '{pair.sam_reader}'", reader=reader)


def _serial(pcsc: PcscContext, pair: ReaderPair, specs: Specs) -> bytes:
    # Shared, and the SAM left as it was: the serial needs no session, and a tap may follow.
    connection = pcsc.connect(pair.sam_reader, exclusive=False, reset_on_close=False)
    try:
        sam = SamSession(processor_for(connection, device=Device.SAM), specs.sam_for(pair.profile))
        return sam.read_serial()
    finally:
        connection.close()


def _validity(record: ActivationRecord, reader: str, warn_days: int) -> Line:
    now = dt.datetime.now(dt.UTC)
    days = (record.valid_until - now).total_seconds() / 86400
    summary = (
        f"activated for {record.agency} until {record.valid_until:%Y-%m-%d} ({days:.0f} days left)"
    )
    if days < warn_days:
        return warn("activation", "activation", summary, RENEW_FIX, reader=reader)
    return ok("activation", "activation", summary, reader=reader)


def _activation(pcsc: PcscContext, pair: ReaderPair, specs: Specs, context: Context) -> list[Line]:
    reader = pair.card_reader
    settings = context.settings
    if settings is None:
        return [skip("sam_serial", "SAM serial", "the settings do not load", reader=reader)]
    try:
        records = settings.activation.records(specs)
    except ConfigurationError as exc:
        return [fail("sam_serial", "SAM serial", exc.detail, RECORD_FIX, reader=reader)]
    serial = _serial(pcsc, pair, specs)
    activations = Activations(records, agency=settings.agreement.agency)
    try:
        record = activations.record_for(pair, serial)
    except GatewayError as exc:
        check, title = (
            ("activation", "activation")
            if exc.code is ErrorCode.SAM_ACTIVATION_EXPIRED
            else ("sam_serial", "SAM serial")
        )
        fix = _SERIAL_FIXES.get(exc.code, RENEW_FIX)
        summary = f"SAM serial {serial.hex().upper()}: {exc.detail} [{exc.code.value}]"
        return [fail(check, title, summary, fix, reader=reader)]
    matched = f"SAM serial {serial.hex().upper()} matches activation record {record.reference}"
    return [
        ok("sam_serial", "SAM serial", matched, reader=reader),
        _validity(record, reader, context.options.warn_days),
    ]


def _pair_lines(pcsc: PcscContext, pair: ReaderPair, specs: Specs, context: Context) -> list[Line]:
    statuses = {s.name: s for s in pcsc.statuses([pair.card_reader, pair.sam_reader])}
    sam = _sam(pair, statuses[pair.sam_reader], specs)
    lines = [_card(pair, statuses[pair.card_reader], specs), sam]
    if sam.status is not Status.OK:
        return [*lines, skip("sam_serial", "SAM serial", "no SAM", reader=pair.card_reader)]
    if statuses[pair.sam_reader].in_use:
        # A gateway keeps its SAM open, and alone, for reader.sam_hold_seconds after a tap.
        held = (
            "the SAM is held by another program, such as a running gateway between taps "
            "(reader.sam_hold_seconds); the gateway's GET /v1/readers shows its activation"
        )
        return [*lines, skip("sam_serial", "SAM serial", held, reader=pair.card_reader)]
    try:
        return [*lines, *_activation(pcsc, pair, specs, context)]
    except GatewayError as exc:
        failed = fail("sam_serial", "SAM serial", exc.detail, HANG_FIX, reader=pair.card_reader)
        return [*lines, failed]


def check_slots(context: Context) -> list[Line]:
    """Card, SAM and activation of each reader pair the readers check found."""
    specs, pairs = context.specs, context.pairs
    if specs is None or not pairs:
        return []
    with PcscContext() as pcsc:
        return [line for pair in pairs for line in _pair_lines(pcsc, pair, specs, context)]

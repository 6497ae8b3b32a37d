"""One tap, start to end: open the SAM, authenticate the card through it, read and check data."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ktp_gateway.domain import HolderCheck, PersonData
from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.reader.card.biodata import to_person_data
from ktp_gateway.reader.card.ktp_card import KtpCard
from ktp_gateway.reader.card.sam_hold import Connector, SamHold, SamOpener
from ktp_gateway.reader.card.signature import HostCheck, verify_on_host
from ktp_gateway.reader.smartcard.connection import TrafficStats, processor_for
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import Specs


@dataclass(frozen=True, slots=True)
class CardReading:
    """The granted data of one authenticated card, with what the read cost."""

    reader: str
    person: PersonData
    photo: bytes
    signature_verified: bool
    card_traffic: TrafficStats
    sam_traffic: TrafficStats
    seconds: float
    waited_seconds: float = 0.0  # time the request waited for the card to be placed
    signature_checks: tuple[str, ...] = ()  # who verified the signature: "sam", "host"
    sam_serial: str = ""  # hex: the SAM this read went through (a desk's reading names it)
    holder: HolderCheck | None = None  # an integrated reader's finger match, when asked
    sam_opened: bool = False  # this tap opened the SAM (not held open since an earlier tap)


def check_sam(connector: Connector, pair: ReaderPair, specs: Specs, activation: SamOpener) -> None:
    """Check the SAM in `pair` against its activation and open it, without a card (at start);
    its slot is reset after."""
    hold = SamHold(specs, activation, hold_seconds=0.0)
    hold.open(connector, pair)
    hold.let_go(pair.card_reader)


def read_card(
    connector: Connector,
    pair: ReaderPair,
    specs: Specs,
    activation: SamOpener,
    *,
    check_signature: bool = True,
    on_read: Callable[[CardReading], None] | None = None,
    sams: SamHold | None = None,
) -> CardReading:
    """Authenticate the card in `pair` through its SAM and read the granted data and photo.

    Nothing is returned from a card whose signature does not verify: it raises first.
    `on_read` gets the reading before the card slot is reset (and the SAM's, unless held: half
    a millisecond through pcscd), so its caller can go on with it meanwhile.
    `sams`: the SAMs kept open between taps (`sam_hold`); without it the SAM is opened for
    this tap and its slot reset after.
    """
    started = time.perf_counter()
    hold = sams if sams is not None else SamHold(specs, activation, hold_seconds=0.0)
    card_profile = specs.card_for(pair.profile)
    sam, record, opened = hold.open(connector, pair)
    ok = False
    try:
        card_connection = connector.connect(pair.card_reader)
        try:
            card = KtpCard(processor_for(card_connection), card_profile)
            card.check_atr(card_connection.atr)
            card.authenticate(sam)
            files = {
                name: card.read_file(name) for name in _files_to_read(card_profile.signed_files)
            }
            checks = _check_signature(card, sam, pair, files) if check_signature else ()
            reading = CardReading(
                reader=pair.card_reader,
                person=to_person_data(files["biodata"], card_profile.biodata),
                photo=files["photo"],
                signature_verified=bool(checks),
                signature_checks=checks,
                sam_serial=record.serial.hex(),
                card_traffic=card.processor.stats,
                sam_traffic=sam.processor.stats,
                seconds=time.perf_counter() - started,
                sam_opened=opened,
            )
            ok = True
            if on_read is not None:
                on_read(reading)
            return reading
        finally:
            card_connection.close()
    finally:
        hold.done(pair, ok=ok)


def _files_to_read(signed_files: list[str]) -> list[str]:
    names = ["biodata", "photo"]
    return names + [name for name in signed_files if name not in names]


def _check_signature(
    card: KtpCard, sam: SamSession, pair: ReaderPair, files: dict[str, bytes]
) -> tuple[str, ...]:
    """The SAM's FA steps, then the host's own ECDSA check where the profile has a key."""
    signature = card.read_file("digital_signature")
    if not signature:
        # An empty signature EF is the card's, not the SAM's, failure: the SAM never sees it.
        raise CardError("the card holds no issuer signature", code=ErrorCode.CARD_NOT_GENUINE)
    signed = [files[name] for name in card.profile.signed_files]
    sam_valid = sam.verify_signature(signature, signed)
    host = verify_on_host(card.profile, pair.profile, signature, signed)
    if not sam_valid or host is HostCheck.INVALID:
        failed = " and ".join(
            who
            for who, bad in (("the SAM", not sam_valid), ("the host", host is HostCheck.INVALID))
            if bad
        )
        raise CardError(
            f"the card's data does not match its issuer signature (refused by {failed})",
            code=ErrorCode.CARD_NOT_GENUINE,
        )
    return ("sam", "host") if host is HostCheck.VALID else ("sam",)

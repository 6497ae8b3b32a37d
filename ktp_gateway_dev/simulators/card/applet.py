"""The virtual KTP-el card: ISO 7816-4 file access, mutual authentication and secure messaging.

Instruction bytes, file ids, access rules and the ATR come from the card profile, so a spec edit
changes host and emulator alike. It answers every input with a status word and never raises:
behind vpcd an exception would look like a card that went mute.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable

from ktp_gateway.specs import CardProfile, FileAccess, load_specs
from ktp_gateway_dev.simulators.card.files import CardImage, CardVariant, build_image
from ktp_gateway_dev.simulators.crypto import (
    BLOCK,
    CryptoError,
    KeyPair,
    diversify,
    initial_ssc,
    mac,
    mac_matches,
    session_keys,
    tdes_decrypt,
    tdes_encrypt,
)
from ktp_gateway_dev.simulators.iso7816 import (
    SHORT_MAX,
    SW,
    ApduError,
    Command,
    Response,
    status,
    with_tck,
)
from ktp_gateway_dev.simulators.keys import (
    card_master_key,
    clone_master_key,
    forger_private_key,
    issuer_private_key,
)
from ktp_gateway_dev.simulators.population import Person, load_population
from ktp_gateway_dev.simulators.secure_messaging import (
    SM_CLA_BITS,
    SecureChannel,
    SmError,
    protected_response_length,
)

log = logging.getLogger(__name__)

Random = Callable[[int], bytes]
CARD_PROFILE_ID = "ktp-el"
CLA_READER = 0xFF  # PC/SC part 3 pseudo-APDUs, which vpcd hands to the card
RND_LENGTH = 8
KEY_HALF_LENGTH = 16
CRYPTOGRAM_LENGTH = 4 * BLOCK  # E.IFD / E.IC: RND || RND || K (8 + 8 + 16)
SFI_FLAG = 0x80  # READ BINARY P1 bit 8: short file identifier (not supported here)


class VirtualKtpCard:
    """One KTP-el chip behind the virtual reader's card slot (see `VirtualSmartcard`)."""

    def __init__(
        self, profile: CardProfile, image: CardImage, keys: KeyPair, *, random: Random = os.urandom
    ) -> None:
        self.profile = profile
        self.image = image
        self._keys = keys
        self._random = random
        self._atr = with_tck(profile.atrs[0].value)
        self._by_fid = {spec.fid: name for name, spec in profile.files.items()}
        self._reset_state()

    @classmethod
    def for_person(
        cls,
        person: Person | str,
        *,
        variant: CardVariant | None = None,
        profile: CardProfile | None = None,
        random: Random = os.urandom,
    ) -> VirtualKtpCard:
        """A synthetic person's card (by `Person` or population key), genuine unless `variant`."""
        if isinstance(person, str):
            person = load_population().by_key(person)
        variant = variant or CardVariant()
        profile = profile or load_specs().cards[CARD_PROFILE_ID]
        issuer = forger_private_key() if variant.forged_issuer else issuer_private_key()
        image = build_image(person, profile, issuer, variant)
        master = clone_master_key() if variant.clone else card_master_key()
        keys = diversify(master, image.chip_serial, image.uid)
        return cls(profile, image, keys, random=random)

    # VirtualSmartcard ---------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> None:
        self._reset_state()

    def power_off(self) -> None:
        self._reset_state()

    def reset(self) -> None:
        self._reset_state()

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU; garbage gets a status word, never an exception."""
        try:
            return self._process(apdu)
        except Exception:
            log.exception("virtual KTP-el card failed on a command")
            return status(SW.NO_PRECISE_DIAGNOSIS).to_bytes()

    # dispatch ---------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._df_selected = False
        self._current: str | None = None
        self._challenge: bytes | None = None
        self._channel: SecureChannel | None = None

    def _process(self, apdu: bytes) -> bytes:
        try:
            command = Command.parse(apdu)
        except ApduError:
            return status(SW.WRONG_LENGTH).to_bytes()
        if command.cla == CLA_READER:
            return self._reader_command(command).to_bytes()
        plain_cla = self.profile.commands.select.cla
        if command.cla == plain_cla | SM_CLA_BITS:
            return self._secure(command)
        if command.cla != plain_cla:
            return status(SW.CLA_NOT_SUPPORTED).to_bytes()
        return self._plain(command, secure=False).to_bytes()

    def _plain(self, command: Command, *, secure: bool) -> Response:
        commands = self.profile.commands
        if command.ins == commands.select.ins:
            return self._select(command)
        if command.ins == commands.read_binary.ins:
            return self._read_binary(command, secure=secure)
        if secure:
            # Authentication commands make no sense inside the session they establish.
            return status(SW.CONDITIONS_NOT_SATISFIED)
        if command.ins == commands.get_challenge.ins:
            return self._get_challenge(command)
        if command.ins == commands.external_authenticate.ins:
            return self._external_authenticate(command)
        return status(SW.INS_NOT_SUPPORTED)

    def _reader_command(self, command: Command) -> Response:
        """PC/SC part 3 GET DATA (FF CA 00 00): the UID, as a contactless reader answers it."""
        uid_command = self.profile.uid.type_a_command
        if command.header != uid_command[:4]:
            return status(SW.FUNCTION_NOT_SUPPORTED)
        uid = self.image.uid
        if command.le is None:
            return status(SW.WRONG_LENGTH)
        if command.le < len(uid):
            return status(0x6C00 | len(uid))  # resend with Le = UID length
        if command.le not in (len(uid), SHORT_MAX):
            return Response(uid, SW.END_OF_FILE)
        return Response(uid, SW.OK)

    # file access ------------------------------------------------------------------------

    def _select(self, command: Command) -> Response:
        header = self.profile.commands.select
        if (command.p1, command.p2) != (header.p1, header.p2):
            return status(SW.WRONG_P1P2_FUNCTION)
        if len(command.data) != 2:
            return status(SW.WRONG_LENGTH)
        if command.data == self.profile.application.df:
            self._df_selected, self._current = True, None
            return status(SW.OK)
        name = self._by_fid.get(command.data)
        if not self._df_selected or name is None:
            return status(SW.FILE_NOT_FOUND)
        self._current = name
        return status(SW.OK)

    def _read_binary(self, command: Command, *, secure: bool) -> Response:
        if self._current is None:
            return status(SW.NO_CURRENT_EF)
        if self.profile.files[self._current].access is FileAccess.SECURE_MESSAGING and not secure:
            return status(SW.SECURITY_NOT_SATISFIED)
        if command.p1 & SFI_FLAG:
            return status(SW.WRONG_P1P2_FUNCTION)
        if command.le is None or command.data:
            return status(SW.WRONG_LENGTH)
        content = self.image.files[self._current]
        offset = command.p1 << 8 | command.p2
        if offset >= len(content):
            return status(SW.WRONG_P1P2)
        chunk = content[offset : offset + command.le]
        return Response(chunk, SW.OK if len(chunk) == command.le else SW.END_OF_FILE)

    # mutual authentication --------------------------------------------------------------

    def _get_challenge(self, command: Command) -> Response:
        header = self.profile.commands.get_challenge
        if (command.p1, command.p2) != (header.p1, header.p2):
            return status(SW.WRONG_P1P2_FUNCTION)
        if command.data or command.le != header.le:
            return status(SW.WRONG_LENGTH)
        self._channel = None  # a new authentication ends the old session
        self._challenge = self._random(RND_LENGTH)
        return Response(self._challenge, SW.OK)

    def _external_authenticate(self, command: Command) -> Response:
        header = self.profile.commands.external_authenticate
        if (command.p1, command.p2) != (header.p1, header.p2):
            return status(SW.WRONG_P1P2_FUNCTION)
        if len(command.data) != CRYPTOGRAM_LENGTH + BLOCK:
            return status(SW.WRONG_LENGTH)
        challenge, self._challenge = self._challenge, None  # one answer per challenge
        if challenge is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        try:
            answer = self._authenticate(command.data, challenge)
        except CryptoError:
            answer = None
        if answer is None:
            return status(SW.VERIFICATION_FAILED)
        return Response(answer, SW.OK)

    def _authenticate(self, cryptogram: bytes, challenge: bytes) -> bytes | None:
        """Check the SAM's E.IFD || M.IFD, then answer E.IC || M.IC and open the session."""
        e_ifd, m_ifd = cryptogram[:CRYPTOGRAM_LENGTH], cryptogram[CRYPTOGRAM_LENGTH:]
        if not mac_matches(self._keys.mac, e_ifd, m_ifd):
            return None
        plain = tdes_decrypt(self._keys.enc, e_ifd)
        rnd_ifd, rnd_ic = plain[:RND_LENGTH], plain[RND_LENGTH : 2 * RND_LENGTH]
        k_ifd = plain[2 * RND_LENGTH :]
        if not hmac.compare_digest(rnd_ic, challenge):
            return None
        k_ic = self._random(KEY_HALF_LENGTH)
        e_ic = tdes_encrypt(self._keys.enc, rnd_ic + rnd_ifd + k_ic)
        self._channel = SecureChannel(session_keys(k_ifd, k_ic), initial_ssc(rnd_ic, rnd_ifd))
        return e_ic + mac(self._keys.mac, e_ic)

    # secure messaging -------------------------------------------------------------------

    def _secure(self, command: Command) -> bytes:
        """Unwrap, run the inner command with SM rights, wrap the answer; SM errors end it."""
        channel = self._channel
        if channel is None:
            return status(SW.SM_OBJECTS_INCORRECT).to_bytes()
        try:
            inner = channel.unprotect_command(command)
        except SmError as exc:
            self._channel = None
            return status(exc.sw).to_bytes()
        response = self._plain(inner, secure=True)
        if protected_response_length(len(response.data)) > SHORT_MAX:
            response = status(SW.WRONG_LENGTH)  # would not fit a short response once wrapped
        return channel.protect_response(response)

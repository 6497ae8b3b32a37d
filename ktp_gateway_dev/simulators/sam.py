"""The virtual KTP-el SAM: open, mutual authentication, wrap/unwrap and signature checks.

It holds what a Dukcapil-personalised SAM would hold (the card master key KMC, the reader's
expected open data, the issuer's public key), so the host relays bytes and never sees a key.
Instruction bytes, P1/P2 values, lengths, status words and the ATR come from the SAM profile
(firmware_specs/sams/ktp-el-sam.yaml). Key material for the virtual stack: `simulators.keys`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway.specs import SamProfile, load_specs
from ktp_gateway_dev.simulators import keys as test_keys
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
    verify_digest,
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
from ktp_gateway_dev.simulators.secure_messaging import SecureChannel, SmError

log = logging.getLogger(__name__)

Random = Callable[[int], bytes]
SAM_PROFILE_ID = "ktp-el-sam"
CARD_PROFILE_ID = "ktp-el"
MAX_OPEN_TRIES = 5
RND_LENGTH = 8
KEY_HALF_LENGTH = 16
SERIAL_LENGTH = 8  # CC bytes 0..7 (docs/virtual-stack.md)
KEY_VERSION_OFFSET = 8  # CC byte 8
UID_LENGTHS = (4, 7, 10)  # ISO 14443-3 single, double, triple size
MAX_DER_SIGNATURE = 72  # ECDSA P-256: SEQUENCE of two INTEGERs of up to 33 bytes


@dataclass
class _Pending:
    """Between authenticate (F1) and verify (F2): what the SAM sent the card."""

    keys: KeyPair
    rnd_ifd: bytes
    rnd_ic: bytes
    k_ifd: bytes


@dataclass
class _SignatureCheck:
    """The FA steps' state: the fed chunks, their SHA-256 once stopped, then one verification."""

    chunks: list[bytes] = field(default_factory=list)
    signature: bytes | None = None
    final: bytes | None = None


class VirtualSam:
    """A personalised KTP-el SAM behind the virtual reader's SAM slot (see `VirtualSmartcard`)."""

    def __init__(
        self,
        profile: SamProfile,
        *,
        master_keys: Mapping[int, bytes],
        open_data: bytes,
        issuer_public_key: ec.EllipticCurvePublicKey,
        uid_prefix: bytes,
        serial: bytes = b"",
        random: Random = os.urandom,
    ) -> None:
        self.profile = profile
        self.serial = serial or test_keys.sam_serial()
        self._master_keys = dict(master_keys)
        self._open_data = open_data
        self._issuer = issuer_public_key
        self._uid_prefix = uid_prefix
        self._random = random
        self._atr = with_tck(profile.atrs[0].value)
        self._sw = {meaning: int(word, 16) for word, meaning in profile.status_words.items()}
        self._cc_lengths = {p2: length for length, p2 in profile.authenticate_p2.items()}
        self.failed_opens = 0  # survives power cycles, like a real retry counter (memory only)
        self._power_cycle()

    @classmethod
    def virtual(
        cls,
        *,
        serial: bytes = b"",
        open_data: bytes = b"",
        issuer_public_key: ec.EllipticCurvePublicKey | None = None,
        random: Random = os.urandom,
    ) -> VirtualSam:
        """The virtual reader's SAM, personalised with the test-only keys of `simulators.keys`.

        `serial` and `open_data` play another SAM (one activated for a different reader);
        `issuer_public_key` a SAM personalised by someone else (it accepts their signatures).
        """
        specs = load_specs()
        return cls(
            specs.sams[SAM_PROFILE_ID],
            master_keys={test_keys.KEY_VERSION: test_keys.card_master_key()},
            open_data=open_data or test_keys.reader_activation().open_data(),
            issuer_public_key=issuer_public_key or test_keys.issuer_public_key(),
            uid_prefix=specs.cards[CARD_PROFILE_ID].uid.prefix,
            serial=serial,
            random=random,
        )

    @property
    def locked(self) -> bool:
        return self.failed_opens >= MAX_OPEN_TRIES

    @property
    def is_open(self) -> bool:
        return self._open

    # VirtualSmartcard ---------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> None:
        self._power_cycle()

    def power_off(self) -> None:
        self._power_cycle()

    def reset(self) -> None:
        self._power_cycle()

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU; garbage gets a status word, never an exception."""
        try:
            return self._process(apdu).to_bytes()
        except Exception:
            log.exception("virtual SAM failed on a command")
            return status(SW.NO_PRECISE_DIAGNOSIS).to_bytes()

    # dispatch ---------------------------------------------------------------------------

    def _power_cycle(self) -> None:
        self._open = False
        self._reset_session()
        self._signature: _SignatureCheck | None = None

    def _reset_session(self) -> None:
        self._pending: _Pending | None = None
        self._channel: SecureChannel | None = None

    def _process(self, apdu: bytes) -> Response:
        try:
            command = Command.parse(apdu)
        except ApduError:
            return status(SW.WRONG_LENGTH)
        if command.cla != self.profile.cla:
            return status(SW.CLA_NOT_SUPPORTED)
        ins = self.profile.instructions
        handlers: dict[int, Callable[[Command], Response]] = {
            ins.open: self._open_sam,
            ins.reset: self._reset,
            ins.authenticate: self._authenticate,
            ins.verify: self._verify,
            ins.wrap: self._wrap,
            ins.unwrap: self._unwrap,
            ins.signature: self._signature_step,
            ins.serial: self._serial,
        }
        handler = handlers.get(command.ins)
        if handler is None:
            return status(SW.INS_NOT_SUPPORTED)
        if command.ins not in (ins.open, ins.serial) and not self._open:
            return status(self._sw.get("not_open", SW.SECURITY_NOT_SATISFIED))
        return handler(command)

    # open and reset ---------------------------------------------------------------------

    def _open_sam(self, command: Command) -> Response:
        """Open with PCID xor CONF; five wrong tries lock the SAM (until the emulator restarts)."""
        locked = status(self._sw.get("locked", SW.AUTH_METHOD_BLOCKED))
        if self.locked:
            return locked
        if len(command.data) != len(self._open_data):
            return status(SW.WRONG_LENGTH)
        if hmac.compare_digest(command.data, self._open_data):
            self._open, self.failed_opens = True, 0
            return status(SW.OK)
        self._open = False
        self._reset_session()
        self.failed_opens += 1
        if self.locked:
            return locked
        return status(self._sw.get("not_open", SW.SECURITY_NOT_SATISFIED))

    def _serial(self, command: Command) -> Response:
        """F7: the serial number, readable before open so the host can pick the activation."""
        if command.data or command.p1 or command.p2:
            return status(SW.WRONG_P1P2_FUNCTION if command.p1 or command.p2 else SW.WRONG_LENGTH)
        if command.le not in (None, len(self.serial), SHORT_MAX):
            return status(0x6C00 | len(self.serial))  # resend with Le = serial length
        return Response(self.serial, SW.OK)

    def _reset(self, command: Command) -> Response:
        if command.data:
            return status(SW.WRONG_LENGTH)
        self._reset_session()
        return status(SW.OK)

    # mutual authentication --------------------------------------------------------------

    def _authenticate(self, command: Command) -> Response:
        """F1: CC || prefix UID || RND.IC -> E.IFD || M.IFD for the card's EXTERNAL AUTHENTICATE."""
        cc_length = self._cc_lengths.get(command.p2)
        if command.p1 != 0 or cc_length is None:
            return status(SW.WRONG_P1P2_FUNCTION)
        if command.le not in (None, self.profile.cryptogram_length, SHORT_MAX):
            return status(SW.WRONG_LENGTH)
        data = command.data
        cc, rest = data[:cc_length], data[cc_length:]
        uid, rnd_ic = rest[len(self._uid_prefix) : -RND_LENGTH], rest[-RND_LENGTH:]
        if len(cc) != cc_length or len(uid) not in UID_LENGTHS:
            return status(SW.WRONG_LENGTH)
        if not rest.startswith(self._uid_prefix):
            return status(SW.WRONG_DATA)
        master = self._master_keys.get(cc[KEY_VERSION_OFFSET])
        if master is None:
            return status(SW.REFERENCED_DATA_NOT_FOUND)
        keys = diversify(master, cc[:SERIAL_LENGTH], uid)
        self._reset_session()
        pending = _Pending(keys, self._random(RND_LENGTH), rnd_ic, self._random(KEY_HALF_LENGTH))
        e_ifd = tdes_encrypt(keys.enc, pending.rnd_ifd + pending.rnd_ic + pending.k_ifd)
        cryptogram = e_ifd + mac(keys.mac, e_ifd)
        if len(cryptogram) != self.profile.cryptogram_length:
            return status(SW.CONDITIONS_NOT_SATISFIED)  # the profile expects another scheme
        self._pending = pending
        return Response(cryptogram, SW.OK)

    def _verify(self, command: Command) -> Response:
        """F2: check the card's E.IC || M.IC; on success the secure-messaging session starts."""
        pending, self._pending = self._pending, None  # one answer per authentication
        if pending is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        if len(command.data) != self.profile.cryptogram_length:
            return status(SW.WRONG_LENGTH)
        failed = status(self._sw.get("verification_failed", SW.VERIFICATION_FAILED))
        e_ic, m_ic = command.data[:-BLOCK], command.data[-BLOCK:]
        if not mac_matches(pending.keys.mac, e_ic, m_ic):
            return failed
        try:
            plain = tdes_decrypt(pending.keys.enc, e_ic)
        except CryptoError:
            return failed
        rnd_ic, rnd_ifd = plain[:RND_LENGTH], plain[RND_LENGTH : 2 * RND_LENGTH]
        if not (
            hmac.compare_digest(rnd_ic, pending.rnd_ic)
            and hmac.compare_digest(rnd_ifd, pending.rnd_ifd)
        ):
            return failed
        k_ic = plain[2 * RND_LENGTH :]
        self._channel = SecureChannel(
            session_keys(pending.k_ifd, k_ic), initial_ssc(pending.rnd_ic, pending.rnd_ifd)
        )
        return status(SW.OK)

    # secure messaging relay -------------------------------------------------------------

    def _wrap(self, command: Command) -> Response:
        """F3: plain command APDU in, protected command APDU out."""
        if self._channel is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        try:
            inner = Command.parse(command.data)
        except ApduError:
            return status(SW.WRONG_DATA)
        try:
            protected = self._channel.protect_command(inner)
        except SmError as exc:
            return status(exc.sw)
        if len(protected) > SHORT_MAX:
            return status(SW.WRONG_LENGTH)
        return Response(protected, SW.OK)

    def _unwrap(self, command: Command) -> Response:
        """F4: the card's whole protected answer in; plain data || inner SW out, then 9000."""
        if self._channel is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        try:
            plain = self._channel.unprotect_response(command.data)
        except SmError as exc:
            self._channel = None  # a forged or replayed answer ends the session
            return status(exc.sw)
        return Response(plain.to_bytes(), SW.OK)

    # signature check --------------------------------------------------------------------

    def _signature_step(self, command: Command) -> Response:
        """FA: start, load signature, feed chunks, stop, verify (P1 values from the profile)."""
        steps = self.profile.signature_steps
        if command.p2 != 0:
            return status(SW.WRONG_P1P2_FUNCTION)
        if command.p1 == steps.start:
            self._signature = _SignatureCheck()
            return status(SW.OK)
        if command.p1 == steps.decipher:
            return status(SW.FUNCTION_NOT_SUPPORTED)  # meaning unknown (shared/ktp-el-notes.md)
        step = {
            steps.load_signature: self._load_signature,
            steps.feed: self._feed,
            steps.stop: self._stop,
            steps.verify: self._verify_signature,
        }.get(command.p1)
        if step is None:
            return status(SW.WRONG_P1P2_FUNCTION)
        check = self._signature
        if check is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        return step(check, command.data)

    def _load_signature(self, check: _SignatureCheck, data: bytes) -> Response:
        if not data or len(data) > MAX_DER_SIGNATURE:
            return status(SW.WRONG_LENGTH)
        check.signature = data
        return status(SW.OK)

    def _feed(self, check: _SignatureCheck, data: bytes) -> Response:
        if check.final is not None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        if not data or len(data) > self.profile.signature_feed_chunk:
            return status(SW.WRONG_LENGTH)
        check.chunks.append(data)
        return status(SW.OK)

    def _stop(self, check: _SignatureCheck, data: bytes) -> Response:
        if data:
            return status(SW.WRONG_LENGTH)
        check.final = hashlib.sha256(b"".join(check.chunks)).digest()
        return status(SW.OK)

    def _verify_signature(self, check: _SignatureCheck, data: bytes) -> Response:
        if data:
            return status(SW.WRONG_LENGTH)
        if check.final is None or check.signature is None:
            return status(SW.CONDITIONS_NOT_SATISFIED)
        self._signature = None  # one verdict per start
        if verify_digest(self._issuer, check.signature, check.final):
            return status(SW.OK)
        return status(self._sw.get("verification_failed", SW.VERIFICATION_FAILED))

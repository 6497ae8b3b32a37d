"""The whole relay in-process: the test plays the host between the virtual SAM and card."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.cmac import CMAC

from ktp_gateway_dev.simulators.card import CardVariant, VirtualKtpCard
from ktp_gateway_dev.simulators.keys import card_master_key
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.simulators.sam import VirtualSam
from tests.simulators.relay import CARD, OK, SAM, HostRelay, apdu, split

BUDI = load_population().by_key("budi")


def _pair(**variant: object) -> tuple[HostRelay, VirtualKtpCard, VirtualSam]:
    card = VirtualKtpCard.for_person("budi", variant=CardVariant(**variant))  # type: ignore[arg-type]
    sam = VirtualSam.virtual()
    return HostRelay(card.process, sam.process), card, sam


def _authenticated(**variant: object) -> tuple[HostRelay, VirtualKtpCard, VirtualSam]:
    host, card, sam = _pair(**variant)
    assert host.open() == OK
    assert host.authenticate() == OK
    return host, card, sam


def test_mutual_authentication_then_biodata_through_secure_messaging() -> None:
    host, card, _ = _authenticated()
    biodata = host.read_file("biodata", secure=True)
    fields = biodata.decode("ascii").split(CARD.biodata.delimiter)
    by_name = {name: fields[index] for index, name in CARD.biodata.fields.items()}
    record = BUDI.card_record()
    assert by_name["nik"] == record.nik
    assert by_name["nama"] == record.nama_lgkp
    assert by_name["alamat"] == record.address.alamat
    assert by_name["pekerjaan"] == record.jenis_pkrjn
    assert by_name["tempat_terbit"] == "KOTA CONTOH"
    assert biodata == card.image.files["biodata"][2:]


def test_minutiae_and_plain_files_read_through_secure_messaging_too() -> None:
    host, card, _ = _authenticated()
    assert host.read_file("minutiae_1", secure=True) == card.image.files["minutiae_1"][2:]
    assert host.read_file("photo", secure=True) == BUDI.photo_bytes()
    assert host.read_file("photo") == BUDI.photo_bytes()  # plain reads keep the session
    assert host.read_file("biodata", secure=True)


def test_224_plain_bytes_fit_one_short_protected_response() -> None:
    host, _, _ = _authenticated()
    assert host.select(CARD.files["photo"].fid, secure=True) == OK
    protected = host.card(host.wrap(apdu(0, 0xB0, 0, 0, le=224)))
    assert len(protected) <= 258
    data, sw = split(host.unwrap(protected)[0])
    assert (len(data), sw) == (224, OK)


def test_unwrap_answers_data_inner_sw_and_its_own_9000() -> None:
    host, _, _ = _authenticated()
    protected = host.card(host.wrap(apdu(0, 0xA4, 0, 0, CARD.files["biodata"].fid)))
    assert host.sam_transmit(
        apdu(0, SAM.instructions.unwrap, 0, 0, protected, 256)
    ) == bytes.fromhex("90009000")


def test_inner_errors_come_back_protected() -> None:
    host, _, _ = _authenticated()
    assert host.select(bytes.fromhex("6FF9"), secure=True) == 0x6A82
    assert host.read_file("biodata", secure=True)  # the session survives an inner error


def test_short_card_control_authenticates_with_p2_00() -> None:
    host, _, _ = _authenticated(card_control_length=0x1D)
    assert len(host.card_control) == 0x1D
    assert host.read_file("biodata", secure=True)


def test_clone_card_fails_mutual_authentication_at_the_card() -> None:
    host, _, _ = _pair(clone=True)
    assert host.open() == OK
    assert host.authenticate() == 0x6300


def test_forged_card_answer_fails_verify_at_the_sam() -> None:
    host, card, _ = _pair()
    host.open()
    host.uid = CARD.uid.prefix + card.image.uid
    host.select(CARD.application.df)
    cc = host.read_file("card_control")
    challenge, _ = split(card.process(bytes.fromhex("0084000008")))
    cryptogram, sw = host.sam(
        SAM.instructions.authenticate, cc + host.uid + challenge, p2=1, le=0x28
    )
    answer, sw = split(card.process(apdu(0, 0x82, 0, 0, cryptogram, 0x28)))
    assert sw == OK
    tampered = answer[:-1] + bytes((answer[-1] ^ 1,))
    assert host.sam(SAM.instructions.verify, tampered)[1] == 0x6300
    assert host.sam(SAM.instructions.verify, answer)[1] == 0x6985  # one answer per F1


def test_tampered_command_mac_ends_the_session_at_the_card() -> None:
    host, card, _ = _authenticated()
    protected = bytearray(host.wrap(apdu(0, 0xB0, 0, 0, le=8)))
    protected[-2] ^= 0x01  # last MAC byte, before Le
    assert card.process(bytes(protected)) == bytes.fromhex("6988")
    # The session is gone: even a correctly wrapped command is refused now.
    assert card.process(host.wrap(apdu(0, 0xB0, 0, 0, le=8))) == bytes.fromhex("6988")


def test_replayed_command_is_refused() -> None:
    host, card, _ = _authenticated()
    protected = host.wrap(apdu(0, 0xA4, 0, 0, CARD.files["photo"].fid))
    host.unwrap(card.process(protected))
    assert card.process(protected) == bytes.fromhex("6988")


def test_tampered_response_fails_unwrap_at_the_sam() -> None:
    host, card, _ = _authenticated()
    protected = bytearray(card.process(host.wrap(apdu(0, 0xA4, 0, 0, CARD.files["biodata"].fid))))
    protected[-3] ^= 0x01  # last MAC byte, before SW
    assert host.unwrap(bytes(protected)) == (b"", 0x6988)
    assert host.sam(SAM.instructions.wrap, apdu(0, 0xB0, 0, 0, le=8), le=256)[1] == 0x6985


def test_new_get_challenge_ends_the_old_session() -> None:
    host, card, _ = _authenticated()
    card.process(bytes.fromhex("0084000008"))
    assert card.process(host.wrap(apdu(0, 0xB0, 0, 0, le=8))) == bytes.fromhex("6988")


def _signed_bodies(card: VirtualKtpCard) -> list[bytes]:
    return [card.image.files[name][2:] for name in CARD.signed_files]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ({}, OK),
        ({"altered_biodata": {"nama": "BUDI PALSU"}}, 0x6300),
        ({"bad_signature": True}, 0x6300),
    ],
)
def test_signature_check_in_the_sam(variant: dict[str, object], expected: int) -> None:
    host, card, _ = _authenticated(**variant)
    host.select(CARD.application.df)
    signature = host.read_file("digital_signature")
    assert host.check_signature(signature, _signed_bodies(card)) == expected


def test_altered_biodata_still_reads_but_differs() -> None:
    host, _, _ = _authenticated(altered_biodata={"nama": "BUDI PALSU"})
    assert b"BUDI PALSU" in host.read_file("biodata", secure=True)


def _counter_random() -> Callable[[int], bytes]:
    counter = itertools.count(1)
    return lambda n: bytes(next(counter) for _ in range(n))


def test_authenticate_cryptogram_matches_the_documented_scheme() -> None:
    """F1 with pinned randomness against E.IFD / M.IFD computed here from the docs."""
    card = VirtualKtpCard.for_person("budi")
    sam = VirtualSam.virtual(random=_counter_random())
    host = HostRelay(card.process, sam.process)
    host.open()
    cc = card.image.files["card_control"][2:]
    rnd_ic = bytes.fromhex("A1A2A3A4A5A6A7A8")
    uid = card.image.uid
    cryptogram, sw = host.sam(
        SAM.instructions.authenticate, cc + b"\x80" + uid + rnd_ic, p2=1, le=0x28
    )
    assert sw == OK

    block = hashlib.sha256(cc[:8] + uid).digest()[:23]

    def cbc(key: bytes, data: bytes) -> bytes:
        enc = Cipher(TripleDES(key), modes.CBC(bytes(8))).encryptor()
        return enc.update(data) + enc.finalize()

    k_enc, k_mac = cbc(card_master_key(), block + b"\x01"), cbc(card_master_key(), block + b"\x02")
    rnd_ifd, k_ifd = bytes(range(1, 9)), bytes(range(9, 25))  # the SAM's first 24 random bytes
    e_ifd = cbc(k_enc, rnd_ifd + rnd_ic + k_ifd)
    cmac = CMAC(TripleDES(k_mac))
    cmac.update(e_ifd + b"\x80" + bytes(7))
    assert cryptogram == e_ifd + cmac.finalize()

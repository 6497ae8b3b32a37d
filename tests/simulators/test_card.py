from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktp_gateway_dev.simulators.card import CardVariant, VirtualKtpCard
from ktp_gateway_dev.simulators.card.files import card_uid, chip_serial
from ktp_gateway_dev.simulators.crypto import verify_digest
from ktp_gateway_dev.simulators.iso7816 import with_tck
from ktp_gateway_dev.simulators.keys import KEY_VERSION, issuer_public_key
from ktp_gateway_dev.simulators.population import load_population
from tests.simulators.relay import CARD, OK, HostRelay, apdu, split

BUDI = load_population().by_key("budi")


def _sam_unused(_: bytes) -> bytes:
    raise AssertionError("the SAM is not part of this test")


@pytest.fixture
def card() -> VirtualKtpCard:
    return VirtualKtpCard.for_person("budi")


@pytest.fixture
def host(card: VirtualKtpCard) -> HostRelay:
    return HostRelay(card.process, _sam_unused)


def _send(card: VirtualKtpCard, hex_apdu: str) -> tuple[bytes, int]:
    return split(card.process(bytes.fromhex(hex_apdu)))


def test_atr_is_the_specs_first_atr_with_a_correct_tck(card: VirtualKtpCard) -> None:
    assert card.atr == with_tck(CARD.atrs[0].value)
    assert CARD.matches_atr(card.atr)


def test_get_uid_pseudo_apdu_answers_the_persons_7_byte_uid(card: VirtualKtpCard) -> None:
    uid, sw = _send(card, "FFCA000000")
    assert (uid, sw) == (card_uid(BUDI.nik), OK)
    assert len(uid) == 7
    assert _send(card, "FFCA000004") == (b"", 0x6C07)
    assert _send(card, "FFCA010000")[1] == 0x6A81


def test_identifiers_are_deterministic_per_person() -> None:
    other = load_population().by_key("siti")
    assert (
        VirtualKtpCard.for_person("budi").image.uid == VirtualKtpCard.for_person("budi").image.uid
    )
    assert card_uid(BUDI.nik) != card_uid(other.nik)
    assert chip_serial(BUDI.nik) != chip_serial(other.nik)


def test_efs_need_the_application_df_selected_first(host: HostRelay) -> None:
    assert host.select(CARD.files["photo"].fid) == 0x6A82
    assert host.select(CARD.application.df) == OK
    assert host.select(CARD.files["photo"].fid) == OK
    assert host.select(bytes.fromhex("6FF9")) == 0x6A82


def test_card_control_carries_serial_key_version_and_layout(host: HostRelay) -> None:
    host.select(CARD.application.df)
    cc = host.read_file("card_control")
    assert len(cc) == 0x33
    assert cc[:8] == chip_serial(BUDI.nik)
    assert cc[8] == KEY_VERSION
    assert cc[9] == 0x02
    assert cc[10:14] == bytes.fromhex("20120801")  # tanggal terbit, BCD
    assert cc[14:17] == bytes.fromhex(BUDI.nik[:6])


def test_short_card_control_layout_is_29_bytes() -> None:
    card = VirtualKtpCard.for_person("budi", variant=CardVariant(card_control_length=0x1D))
    host = HostRelay(card.process, _sam_unused)
    host.select(CARD.application.df)
    cc = host.read_file("card_control")
    assert (len(cc), cc[9]) == (0x1D, 0x01)


def test_plain_files_read_in_chunks(host: HostRelay) -> None:
    host.select(CARD.application.df)
    assert host.read_file("photo") == BUDI.photo_bytes()
    assert host.read_file("signature_image").startswith(b"SYNTHETIC KTP-EL SIGNATURE IMAGE")


def test_secure_messaging_files_refuse_plain_reads(host: HostRelay) -> None:
    host.select(CARD.application.df)
    for name in ("biodata", "minutiae_1", "minutiae_2"):
        assert host.select(CARD.files[name].fid) == OK
        assert host.read_binary(0, 8) == (b"", 0x6982)


def test_read_binary_edges(card: VirtualKtpCard, host: HostRelay) -> None:
    assert host.read_binary(0, 8)[1] == 0x6986  # no current EF
    host.select(CARD.application.df)
    host.select(CARD.files["photo"].fid)
    size = 2 + len(BUDI.photo_bytes())
    data, sw = host.read_binary(0, 256)  # Le 00 means 256
    assert (len(data), sw) == (256, OK)
    assert host.read_binary(size, 8) == (b"", 0x6B00)
    tail, sw = host.read_binary(size - 4, 8)
    assert (len(tail), sw) == (4, 0x6282)  # end of file before Le bytes
    assert _send(card, "00B0000000AA")[1] == 0x6700
    assert _send(card, "00B00000")[1] == 0x6700
    assert _send(card, "00B0810008")[1] == 0x6A86  # short file identifiers unsupported


def test_signature_covers_the_signed_file_bodies_in_spec_order(host: HostRelay) -> None:
    host.select(CARD.application.df)
    signature = host.read_file("digital_signature")
    card = VirtualKtpCard.for_person("budi")
    bodies = [card.image.files[name][2:] for name in CARD.signed_files]
    digest = hashlib.sha256(b"".join(bodies)).digest()
    assert verify_digest(issuer_public_key(), signature, digest)


def test_biodata_is_the_card_record_in_spec_order(card: VirtualKtpCard) -> None:
    text = card.image.files["biodata"][2:].decode("ascii")
    fields = text.split(CARD.biodata.delimiter)
    by_name = {name: fields[index] for index, name in CARD.biodata.fields.items()}
    record = BUDI.card_record()
    assert by_name["nik"] == record.nik
    assert by_name["nama"] == record.nama_lgkp
    assert by_name["tanggal_lahir"] == "15-05-1980"
    assert by_name["rt"] == "001"
    assert by_name["kelurahan"] == record.address.kel_name
    assert by_name["kewarganegaraan"] == "WNI"


def test_card_view_overrides_reach_the_chip() -> None:
    card = VirtualKtpCard.for_person("dewi")
    assert b"DEWI SAMPEL LESTARY" in card.image.files["biodata"]


def test_person_without_a_card_has_no_virtual_card() -> None:
    with pytest.raises(LookupError):
        VirtualKtpCard.for_person("andi")


def test_get_challenge_gives_8_fresh_bytes(card: VirtualKtpCard) -> None:
    first, sw = _send(card, "0084000008")
    second, _ = _send(card, "0084000008")
    assert (len(first), sw) == (8, OK)
    assert first != second
    assert _send(card, "0084000010")[1] == 0x6700


def test_external_authenticate_without_challenge_is_refused(card: VirtualKtpCard) -> None:
    assert split(card.process(apdu(0, 0x82, 0, 0, bytes(40), 0x28)))[1] == 0x6985


def test_external_authenticate_with_garbage_fails_and_forgets_the_challenge(
    card: VirtualKtpCard,
) -> None:
    _send(card, "0084000008")
    assert split(card.process(apdu(0, 0x82, 0, 0, bytes(40), 0x28)))[1] == 0x6300
    assert split(card.process(apdu(0, 0x82, 0, 0, bytes(40), 0x28)))[1] == 0x6985
    assert split(card.process(apdu(0, 0x82, 0, 0, bytes(39), 0x28)))[1] == 0x6700


def test_secure_messaging_without_a_session_is_refused(card: VirtualKtpCard) -> None:
    assert _send(card, "0CB000000D970108" + "8E08" + "00" * 8 + "00")[1] == 0x6988


@pytest.mark.parametrize(
    ("raw", "sw"),
    [
        ("80A40000027F0A", 0x6E00),
        ("00CA000000", 0x6D00),
        ("00", 0x6700),
        ("00A4040002AABB", 0x6A86),
    ],
)
def test_unknown_commands_get_iso_status_words(card: VirtualKtpCard, raw: str, sw: int) -> None:
    assert _send(card, raw)[1] == sw


def test_power_cycle_forgets_selection_and_session(card: VirtualKtpCard) -> None:
    _send(card, "00A40000027F0A")
    card.reset()
    assert _send(card, "00A40000026FF2")[1] == 0x6A82


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_raises(raw: bytes) -> None:
    card = VirtualKtpCard.for_person("budi")
    answer = card.process(raw)
    assert len(answer) >= 2


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=250))
def test_garbage_in_secure_messaging_never_raises(payload: bytes) -> None:
    card = VirtualKtpCard.for_person("budi")
    answer = card.process(bytes((0x0C, 0xB0, 0, 0, len(payload))) + payload + b"\x00")
    assert len(answer) >= 2

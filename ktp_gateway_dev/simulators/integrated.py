"""An integrated KTP-el reader on a pseudo-terminal: the device side of the vendor protocol.

It answers the profile's commands (firmware_specs/readers/*.yaml, kind integrated_reader) for a
synthetic person's card placed on it, matches a scripted finger, and plays faults: mute, garbage,
a half frame then silence, an oversized frame, a vendor error code, an unplug. The gateway's side
opens `path` with the real pyserial, as it would a USB virtual COM port.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import threading
import time
import tty
from pathlib import Path
from typing import Literal

from ktp_gateway.specs.integrated import IntegratedReaderProfile
from ktp_gateway_dev.simulators.population import Person, load_population

Finger = Literal["match", "no_match", "none"]
Fault = Literal["mute", "garbage", "half_frame", "oversize", "vendor_error", "slow"]
CARD_FINGERS = (2, 7)  # right and left index: what the synthetic cards hold
INFO = ("HW-UJICOBA-01", "SN-UJICOBA-0001", "FW-0.0-UJICOBA")


class IntegratedReaderEmulator:
    """The device: a thread answering on the master side of a pty; `path` is the port."""

    def __init__(
        self,
        profile: IntegratedReaderProfile,
        *,
        serial: str = INFO[1],
        link: Path | None = None,
    ) -> None:
        """`link`: a symlink to the port, as udev gives a USB device a stable name; it goes away
        on `unplug` and comes back (to a new pty) on `replug`, like /dev/ttyACM0 does."""
        self.profile = profile
        self.info = (INFO[0], serial, INFO[2])
        self.link = link
        self.person: Person | None = None
        self.finger: Finger = "match"
        self.fault: Fault | None = None
        self.slow_seconds = 0.0  # with fault "slow": each answer this late
        self.card_fingers = tuple(str(code) for code in CARD_FINGERS)  # what put answers
        self.opened = False
        self.commands: list[str] = []  # names received, in order (never arguments: officer ids)
        self.busy_seconds = 0.0  # the device's own time, command received to answer written
        self._master = self._slave = -1
        self._plug()

    def _plug(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            self.link.unlink(missing_ok=True)
            self.link.symlink_to(self.path)
            self.path = str(self.link)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="integrated-emu")
        self._thread.start()

    # -- the test's hands
    def place(self, person: str | Person, *, finger: Finger = "match") -> None:
        self.person = load_population().by_key(person) if isinstance(person, str) else person
        self.finger = finger

    def remove(self) -> None:
        self.person = None

    def unplug(self) -> None:
        """The USB cable pulled: the device side of the port goes away (and its link)."""
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._master)
        self._master = -1
        if self.link is not None:
            self.link.unlink(missing_ok=True)

    def replug(self) -> None:
        """Plugged back in: a fresh port (the same link, if it has one); the card stays off."""
        if self._master >= 0:
            self.unplug()
        os.close(self._slave)
        self.opened, self.person = False, None
        self._plug()

    def close(self) -> None:
        if self._master >= 0:
            self.unplug()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1

    # -- the device
    def _send(self, text: str | bytes) -> None:
        data = text.encode(self.profile.framing.encoding) if isinstance(text, str) else text
        os.write(self._master, data)

    def _answer(self, header: str, *fields: str) -> None:
        framing = self.profile.framing
        sep = framing.separator
        self._send(framing.answer_start + sep.join([header, *fields]) + sep + framing.answer_end)

    def _serve(self) -> None:
        framing = self.profile.framing
        end = (framing.command_end + framing.command_trailer).encode(framing.encoding)
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except OSError:
                return
            while end in buffer:
                raw, buffer = buffer.split(end, 1)
                self._handle(raw.decode(framing.encoding, "replace"))

    def _handle(self, text: str) -> None:
        parts = text.split(self.profile.framing.separator)
        if parts and parts[-1] == "":
            parts.pop()
        name, args = parts[0], parts[1:]
        self.commands.append(name)
        commands = self.profile.commands
        by_wire = {getattr(commands, key).name: key for key in type(commands).model_fields}
        key = by_wire.get(name)
        if key is None:
            return  # a command this device does not know: real devices stay silent too
        command = getattr(commands, key)
        header = command.header or command.name
        started = time.perf_counter()
        try:
            if not self._faulted(header):
                getattr(self, f"_do_{key}")(header, args)
        finally:
            self.busy_seconds += time.perf_counter() - started

    def _faulted(self, header: str) -> bool:
        fault = self.fault
        if fault is None:
            return False
        if fault == "slow":
            time.sleep(self.slow_seconds)
            return False
        if fault == "garbage":
            self._send(b"$" + bytes(range(0x80, 0xA0)) + b";")
        elif fault == "half_frame":
            self._send(f"${header}#3171")
        elif fault == "oversize":
            self._send("$" + header + "#" + "A" * (self.profile.framing.max_answer_bytes + 100))
        elif fault == "vendor_error":
            code = next(
                c for c, kind in self.profile.error_codes.items() if kind == "device_not_open"
            )
            self._answer(header, str(code))
        return True  # mute: nothing at all

    def _wait_card(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.person is None and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.02)
        return self.person is not None

    # each command (header, args): args as the wire carried them
    def _do_ack(self, header: str, args: list[str]) -> None:
        self._answer(header, self.profile.models[0])

    def _do_open(self, header: str, args: list[str]) -> None:
        self.opened = True
        self._answer(header, self.profile.commands.open.ok or "0")

    def _do_close(self, header: str, args: list[str]) -> None:
        self.opened = False
        self._answer(header, self.profile.commands.close.ok or "0")

    def _do_info(self, header: str, args: list[str]) -> None:
        self._answer(header, *self.info)

    def _do_poll(self, header: str, args: list[str]) -> None:
        poll = self.profile.poll
        codes = ["1", "0", "0", "0"]
        codes[poll.card_index] = poll.card_present if self.person else "0"
        self._answer(header, poll.separator.join(codes))

    def _do_display(self, header: str, args: list[str]) -> None:
        self._answer(header, "0")

    def _do_log(self, header: str, args: list[str]) -> None:
        self._answer(header, "kosong")

    def _do_put(self, header: str, args: list[str]) -> None:
        seconds = float(args[0]) if args else 0.0
        placed = self._wait_card(seconds)
        if self._stop.is_set():
            return  # unplugged while waiting: nothing more comes down the cable
        if placed:
            self._answer(header, *self.card_fingers)
        else:
            self._answer(header, "-1")

    def _do_finger(self, header: str, args: list[str]) -> None:
        if self.finger == "none":
            return  # no finger on the sensor: the device says nothing within the timeout
        self._answer(header, self.profile.match if self.finger == "match" else "N")

    def _do_demography(self, header: str, args: list[str]) -> None:
        if self.person is None:
            self._answer(header, "-1")
            return
        self._answer(header, self._demography(self.person))

    def _demography(self, person: Person) -> str:
        record = person.card_record()
        address = record.address
        born = dt.date.fromisoformat(record.tgl_lhr).strftime(self.profile.demography.date_format)
        values = {
            "nik": record.nik, "nama": record.nama_lgkp, "tempat_lahir": record.tmpt_lhr,
            "tgl_lahir": born, "jenis_kelamin": record.jenis_klmin, "gol_darah": record.gol_darah,
            "alamat": address.alamat, "rt": address.no_rt, "rw": address.no_rw,
            "kel_desa": address.kel_name, "kecamatan": address.kec_name,
            "kab_kota": address.kab_name, "provinsi": address.prop_name, "agama": record.agama,
            "status_kawin": record.status_kawin, "pekerjaan": record.jenis_pkrjn,
            "kewarganegaraan": record.kewarganegaraan,
            "tempat_terbit": person.card.tempat_terbit if person.card else "",
        }  # fmt: skip
        separator = self.profile.demography.separator
        return separator.join(values.get(name, "") for name in self.profile.demography.fields)

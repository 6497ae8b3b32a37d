"""Run pcscd with the project's virtual reader for tests and the demo, or reuse one that serves it.

Only one pcscd can run on a machine (its socket path is fixed), so `PcscdService` first looks for
a running one: if it already offers the virtual readers it is reused and left alone; otherwise
it writes the reader definitions (`render_reader_conf`), starts `pcscd -f -c <that folder>` in the
foreground and, on exit, stops exactly that process, by pid. No udev or systemd is needed: vpcd
readers come from the config folder, and pcscd only exits on its own with `--auto-exit`, which is
not used.

Two virtual reader units (each a card slot and a SAM slot) let tests use readers in parallel. The
vpcd driver keeps one table of connections per loaded library, indexed by slot only, so two
entries sharing one library overwrite each other's slots; each further unit therefore loads its
own copy of the driver (pcscd loads a library once per path).

CLI: `python -m ktp_gateway_dev.stack.pcscd start|stop|status`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from ktp_gateway.reader.smartcard.pcscd_host import (
    PCSCD_BINARY,
    alive,
    pcscd_pids,
    socket_answers,
)
from ktp_gateway_dev.simulators.vpcd import CARD_PORT
from ktp_gateway_dev.stack.processes import terminate

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")  # Debian's vsmartcard-vpcd
RUNTIME_DIR = Path(tempfile.gettempdir()) / f"ktp-gateway-pcscd-{os.getuid()}"
READER_CONF_DIR = RUNTIME_DIR / "reader.conf.d"
PID_FILE = Path(tempfile.gettempdir()) / "ktp-gateway-pcscd.pid"
LOCK_FILE = Path(tempfile.gettempdir()) / "ktp-gateway-virtual-readers.lock"
LOCK_HELD_ENV = "KTP_GATEWAY_VIRTUAL_READERS_HELD"
TCP_LISTEN = "0A"  # socket state in /proc/net/tcp
POLL_SECONDS = 0.05
STOP_GRACE_SECONDS = 5.0


class PcscdError(RuntimeError):
    """pcscd could not be started, reused or stopped as asked."""


@dataclass(frozen=True, slots=True)
class VirtualUnit:
    """One vpcd entry: a card slot on `port` and a SAM slot on `port + 1`, like one reader."""

    friendly_name: str
    port: int

    @property
    def card_reader(self) -> str:
        return f"{self.friendly_name} 00 00"  # pcscd's "<name> <reader> <slot>"

    @property
    def sam_reader(self) -> str:
        return f"{self.friendly_name} 00 01"

    @property
    def ports(self) -> tuple[int, int]:
        return (self.port, self.port + 1)


VIRTUAL_UNITS = (
    VirtualUnit("Virtual PCD", CARD_PORT),  # 0x8C7B and 0x8C7C (SAM_PORT), as Debian's vpcd entry
    VirtualUnit("Virtual PCD 2", 0x8C7D),
)
VIRTUAL_READERS = tuple(r for u in VIRTUAL_UNITS for r in (u.card_reader, u.sam_reader))
VPCD_PORTS = tuple(p for u in VIRTUAL_UNITS for p in u.ports)


def _private_dir(path: Path) -> Path:
    """A folder only we can write: pcscd (root) loads a driver from it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PcscdError(f"{path} is not a private folder of this user; remove it")
    return path


def _driver_copy(index: int, runtime_dir: Path) -> Path:
    """Unit `index`'s own copy of the vpcd driver (unit 0 uses the packaged one)."""
    if index == 0:
        return VPCD_DRIVER
    copy = _private_dir(runtime_dir / "drivers") / f"libifdvpcd-unit{index + 1}.so"
    if not copy.exists() or copy.read_bytes() != VPCD_DRIVER.read_bytes():
        shutil.copyfile(VPCD_DRIVER, copy)
    return copy


def render_reader_conf(
    units: Sequence[VirtualUnit] = VIRTUAL_UNITS, runtime_dir: Path = RUNTIME_DIR
) -> Path:
    """Write pcscd's reader definitions for the virtual units; returns the folder for `-c`."""
    if not VPCD_DRIVER.exists():
        raise PcscdError(f"{VPCD_DRIVER} not found: install Debian's vsmartcard-vpcd")
    conf_dir = _private_dir(_private_dir(runtime_dir) / "reader.conf.d")
    for stale in conf_dir.iterdir():
        stale.unlink()
    for index, unit in enumerate(units):
        (conf_dir / f"vpcd-unit{index + 1}").write_text(
            f"# ktp-gateway virtual reader unit {index + 1} "
            "(written by ktp_gateway_dev.stack.pcscd).\n"
            f'# Readers "{unit.card_reader}" (card, TCP {unit.ports[0]}) and '
            f'"{unit.sam_reader}" (SAM, TCP {unit.ports[1]}).\n'
            "# DEVICENAME /dev/null:<port> makes vpcd listen for emulators on every interface.\n"
            f'FRIENDLYNAME "{unit.friendly_name}"\n'
            f"DEVICENAME   /dev/null:0x{unit.port:04X}\n"
            f"LIBPATH      {_driver_copy(index, runtime_dir)}\n"
            f"CHANNELID    0x{unit.port:04X}\n"
        )
    return conf_dir


@dataclass(frozen=True, slots=True)
class PcscdStatus:
    """What is running now: pcscd processes, its socket, vpcd's ports and the reader names."""

    pids: tuple[int, ...]
    socket_answers: bool
    listening_ports: tuple[int, ...]
    readers: tuple[str, ...]

    @property
    def running(self) -> bool:
        return self.socket_answers or bool(self.pids)

    def serves(self, readers: Sequence[str], ports: Sequence[int]) -> bool:
        """True when the virtual readers are listed and vpcd listens for their emulators."""
        return (
            self.socket_answers
            and set(readers) <= set(self.readers)
            and set(ports) <= set(self.listening_ports)
        )


def listening_ports() -> tuple[int, ...]:
    """TCP ports something listens on, read from /proc/net/tcp{,6}.

    Probing vpcd's ports by connecting would insert a phantom card, so they are only looked up.
    """
    ports: set[int] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[3] == TCP_LISTEN:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return tuple(sorted(ports))


def list_readers() -> tuple[str, ...]:
    """PC/SC reader names, through the gateway's one pyscard module; empty if pcscd is absent."""
    from ktp_gateway.errors import ReaderError
    from ktp_gateway.reader.smartcard.pcsc import PcscContext

    try:
        with PcscContext() as context:
            return tuple(context.list_readers())
    except ReaderError:
        return ()


def current_status() -> PcscdStatus:
    """A snapshot of pcscd on this machine."""
    answers = socket_answers()
    return PcscdStatus(
        pids=pcscd_pids(),
        socket_answers=answers,
        listening_ports=listening_ports(),
        readers=list_readers() if answers else (),
    )


class PcscdService:
    """pcscd serving the virtual readers for as long as the context lasts."""

    def __init__(
        self,
        *,
        config_dir: Path | None = None,
        binary: Path = PCSCD_BINARY,
        readers: Sequence[str] = VIRTUAL_READERS,
        ports: Sequence[int] = VPCD_PORTS,
        start_timeout: float = 15.0,
        log_path: Path | None = None,
    ) -> None:
        self.config_dir = config_dir  # None: the virtual units, written at start
        self.binary = binary
        self.readers = tuple(readers)
        self.ports = tuple(ports)
        self.start_timeout = start_timeout
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock: IO[str] | None = None

    def __enter__(self) -> PcscdService:
        self._acquire()
        try:
            self.start()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self._release()

    def _acquire(self) -> None:
        """One user of the virtual readers at a time on this machine; others wait their turn.

        The vpcd ports take one emulator each, and whoever started pcscd stops it on exit. The
        holder's own nested uses and child processes (the demo under a test) inherit the turn.
        """
        if os.environ.get(LOCK_HELD_ENV):
            return
        self._lock = LOCK_FILE.open("a")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        os.environ[LOCK_HELD_ENV] = str(os.getpid())

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.environ.pop(LOCK_HELD_ENV, None)
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    @property
    def started_here(self) -> bool:
        """True when this object started pcscd (and will stop it)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """Pid of the pcscd this object started; None when it reuses another one."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Reuse a pcscd that serves the virtual readers, or start one; wait until it is ready."""
        if self._process is not None:
            return
        status = current_status()
        if status.serves(self.readers, self.ports):
            return
        if status.running:
            if self._wait_ready(None):
                return  # another pcscd was still starting up
            raise PcscdError(
                f"a pcscd (pids {list(status.pids)}) runs without the virtual readers "
                f"{list(self.readers)}; only one pcscd can run, so stop it first"
            )
        self._spawn()
        if not self._wait_ready(self._process):
            log_tail = self._log_tail()
            self.stop()
            raise PcscdError(f"pcscd did not offer the virtual readers in time\n{log_tail}")

    def stop(self) -> None:
        """Stop the pcscd this object started (by pid); a reused pcscd is left running."""
        process, self._process = self._process, None
        if process is not None:
            terminate(process)
        if self._log is not None:
            self._log.close()
            self._log = None

    def detach(self) -> int | None:
        """Leave the started pcscd running beyond this object (for the CLI); returns its pid."""
        pid = self.pid
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return pid

    def _spawn(self) -> None:
        if not self.binary.exists():
            raise PcscdError(f"{self.binary} not found: install Debian's pcscd")
        if self.config_dir is None:
            self.config_dir = render_reader_conf()
        if not any(self.config_dir.iterdir()):
            raise PcscdError(f"no reader definitions in {self.config_dir}")
        path = self.log_path or Path(tempfile.gettempdir()) / "ktp-gateway-pcscd.log"
        self.log_path = path
        self._log = path.open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments not from users
            [str(self.binary), "--foreground", "--config", str(self.config_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it in order
        )

    def _wait_ready(self, process: subprocess.Popen[bytes] | None) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            if current_status().serves(self.readers, self.ports):
                return True
            time.sleep(POLL_SECONDS)
        return False

    def _log_tail(self) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        return ""


# CLI -------------------------------------------------------------------------------------


def _started_pid() -> int | None:
    """The pid recorded by `start`, if that process is still the pcscd it started."""
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    ours = str(READER_CONF_DIR).encode() in cmdline and cmdline[0].endswith(b"pcscd")
    return pid if ours and alive(pid) else None


def _cli_start() -> int:
    service = PcscdService()
    service.start()
    pid = service.detach()
    if pid is None:
        print("pcscd already serves the virtual readers; reusing it (not started here)")
        return 0
    PID_FILE.write_text(f"{pid}\n")
    print(f"pcscd started, pid {pid}, log {service.log_path}")
    return 0


def _cli_stop() -> int:
    pid = _started_pid()
    if pid is None:
        print("no pcscd started by `ktp_gateway_dev.stack.pcscd start` is running; nothing stopped")
        PID_FILE.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    print(f"pcscd {pid} stopped")
    return 0


def _cli_status() -> int:
    status = current_status()
    print(f"pcscd pids:       {list(status.pids) or 'none'}")
    print(f"socket answers:   {status.socket_answers}")
    print(f"readers:          {list(status.readers) or 'none'}")
    vpcd = [p for p in VPCD_PORTS if p in status.listening_ports]
    print(f"vpcd ports:       {vpcd or 'not listening'}")
    print(f"started by us:    {_started_pid() or 'no'}")
    print(f"virtual readers:  {'ready' if status.serves(VIRTUAL_READERS, VPCD_PORTS) else 'no'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ktp_gateway_dev.stack.pcscd start|stop|status`."""
    parser = argparse.ArgumentParser(prog="python -m ktp_gateway_dev.stack.pcscd")
    parser.add_argument("command", choices=("start", "stop", "status"))
    command = parser.parse_args(argv).command
    try:
        return {"start": _cli_start, "stop": _cli_stop, "status": _cli_status}[command]()
    except PcscdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Child processes of the demo and the tests (Dukcapil simulator, gateway) that always get stopped.

Each is a real process on a loopback port; `ManagedProcess` starts it, waits until it answers,
and on exit terminates it (then kills it if it lingers), so nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

STOP_GRACE_SECONDS = 5.0


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on right now, and not one this process handed out before.

    Two ports asked for before either is bound (a simulator's and a gateway's) could otherwise be
    the same one, and a request meant for one process reach the other.
    """
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop a child we started: SIGTERM, then SIGKILL after a grace period; no-op if it exited."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ProcessFailedError(RuntimeError):
    """A child process exited or never became ready; carries the tail of its output."""


class ManagedProcess:
    """A child process that is ready once `ready_url` answers (or `ready()` holds), and is
    stopped on exit. `ready_context` checks an HTTPS `ready_url` against a test CA."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready_url: str | None = None,
        ready: Callable[[], bool] | None = None,
        ready_context: ssl.SSLContext | None = None,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        log_path: Path | None = None,
        start_timeout: float = 20.0,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = list(argv)
        self.ready_url = ready_url
        self.ready, self.ready_context = ready, ready_context
        # inherit_env=False: exactly `env` (a desk must not see the access point's settings)
        self.env = {**(os.environ if inherit_env else {}), **(env or {})}
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: int | None = None

    @classmethod
    def python_module(cls, name: str, module: str, *args: str, **kwargs: object) -> ManagedProcess:
        """Run `python -m module args` with this interpreter."""
        return cls(name, [sys.executable, "-m", module, *args], **kwargs)  # type: ignore[arg-type]

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self.log_path is not None:
            self._log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        output = self._log if self._log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by the project, not a shell
            self.argv,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.cwd,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None  # noqa: S101
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            returncode = self.process.poll()
            if returncode is not None:
                self.stop()  # clears self.process: keep the code for the message
                raise ProcessFailedError(f"{self.name} exited with {returncode} at start")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise ProcessFailedError(f"{self.name} did not become ready in {self.start_timeout:.0f} s")

    def _answers(self) -> bool:
        if self.ready is not None:
            return self.ready()
        assert self.ready_url is not None  # noqa: S101
        try:
            with urllib.request.urlopen(  # noqa: S310 - loopback URL we built
                self.ready_url, timeout=1, context=self.ready_context
            ):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, even if not with 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Terminate, then kill after a grace period; idempotent."""
        process, self.process = self.process, None
        if process is not None:
            terminate(process)
        if self._log is not None:
            with contextlib.suppress(OSError):
                os.close(self._log)
            self._log = None

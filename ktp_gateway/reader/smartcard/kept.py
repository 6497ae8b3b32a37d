"""A PC/SC context per thread, kept between uses.

pcsc-lite contexts belong to one thread, and establishing and releasing one are two round trips
to pcscd (about 0.2 ms together on the 2-core machine): a tap used to pay that twice. Threads that
serve taps keep their own context instead. A kept context can go stale (pcscd restarted): a query
that can be asked again is asked once more on a new context; a tap that failed on it leaves a new
context for the next tap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from ktp_gateway.errors import ErrorCode, ReaderError
from ktp_gateway.reader.smartcard.pcsc import PcscContext

T = TypeVar("T")


class KeptContexts:
    """Each calling thread's own context; released when it is dropped or the thread ends."""

    def __init__(self, factory: Callable[[], PcscContext] = PcscContext) -> None:
        self._factory = factory
        self._local = threading.local()

    def _get(self) -> tuple[PcscContext, bool]:
        """This thread's context, and whether it was kept from before (False: just made)."""
        context: PcscContext | None = getattr(self._local, "context", None)
        if context is not None:
            return context, True
        context = self._factory()
        self._local.context = context
        return context, False

    def drop(self) -> None:
        """Release this thread's context; the next use establishes a new one."""
        context: PcscContext | None = getattr(self._local, "context", None)
        self._local.context = None
        if context is not None:
            context.release()

    def query(self, job: Callable[[PcscContext], T]) -> T:
        """Run a job that can be asked again (a status, a wait): a kept context pcscd no longer
        serves is replaced and the job run once more."""
        context, kept = self._get()
        try:
            return job(context)
        except ReaderError as exc:
            if exc.code is not ErrorCode.READER_UNAVAILABLE:
                raise
            self.drop()
            if not kept:
                raise
        return job(self._get()[0])

    def use(self, job: Callable[[PcscContext], T]) -> T:
        """Run a job that must not run twice (a tap); a failed context is dropped for the next."""
        context, _ = self._get()
        try:
            return job(context)
        except ReaderError as exc:
            if exc.code is ErrorCode.READER_UNAVAILABLE:
                self.drop()
            raise

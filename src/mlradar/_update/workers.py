"""The parse workers of one update run: a process pool that survives its workers and
dies with its parent.

Three mechanisms, each for one way a run used to go wrong:

* **a dead worker costs one source, not the run.**  When a worker dies (an out-of-memory
  kill, a native crash, a SIGKILL), :class:`~concurrent.futures.ProcessPoolExecutor`
  fails *every* job in flight with ``BrokenProcessPool`` and refuses new ones.  The pool
  is then replaced, and each job that was in the broken pool runs again alone, in a
  one-worker pool of its own: the jobs that were merely beside the crash succeed there,
  and the one that crashes again is known for certain to be the culprit and fails as
  :class:`ParserCrashedError` ("the parser crashed").
* **workers die with their parent.**  On Linux each worker asks the kernel for SIGKILL
  when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so a SIGKILL of ``mlradar update``
  leaves no orphan; once the workers are gone, multiprocessing's ``resource_tracker``
  sees its pipe close and exits too.
* **SIGTERM shuts the pool down** before the process goes (the handler kills the
  workers, then hands the signal on), for systems without a death signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import Any, TypeVar

from mlradar.exceptions import RadarError

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


class ParserCrashedError(RadarError):
    """The worker process parsing one source died (killed, out of memory, native crash)."""


def _die_with_parent(parent: int) -> None:
    """Pool initializer: SIGKILL this worker when its parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the SIGTERM handler still applies
            pass
    # The parent may have died before prctl took effect: the kernel then never signals.
    if os.getppid() != parent:
        os._exit(1)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: forking a process that runs an event loop and threads can deadlock.
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # The executor keeps its processes in a private mapping (stable since Python 3.2);
    # shutdown() alone would wait for jobs in flight.
    processes: dict[int, Any] = dict(getattr(pool, "_processes", None) or {})
    for process in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


class ParsePool:
    """A process pool for one run's CPU work, made on first use.

    ``workers`` 0 runs the work inline (small runs: start-up costs more than it saves).
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._alone: asyncio.Semaphore | None = None
        self._previous_sigterm: Any = None
        self._sigterm_installed = False
        #: Pools replaced after a worker died (for the run's tests and reports).
        self.rebuilds = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; raises ParserCrashedError when the job kills its worker."""
        if not self._workers:
            return fn(*args)
        pool = self._current()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool:
            self._replace(pool)
        # Every job of the broken pool gets here; alone, each one either succeeds or is
        # the one that crashes.
        if self._alone is None:
            self._alone = asyncio.Semaphore(self._workers)
        async with self._alone:
            single = _new_pool(1)
            try:
                return await loop.run_in_executor(single, fn, *args)
            except BrokenProcessPool:
                raise ParserCrashedError(
                    "the parser crashed (its worker process died: killed, out of memory "
                    "or a native crash)"
                ) from None
            finally:
                _kill_workers(single)

    def _current(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _new_pool(self._workers)
            self._install_sigterm()
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        # Many jobs see the same breakage; only the first replaces the pool.
        if self._pool is broken:
            _kill_workers(broken)
            self._pool = None
            self.rebuilds += 1

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread; the death signal remains
        try:
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        except (ValueError, OSError):
            return
        self._sigterm_installed = True

    def _restore_sigterm(self) -> None:
        if self._sigterm_installed:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._sigterm_installed = False

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._pool is not None:
            _kill_workers(self._pool)
            self._pool = None
        previous = self._previous_sigterm
        self._restore_sigterm()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            # The default action: terminate, as the process would have without us.
            os.kill(os.getpid(), signal.SIGTERM)

    def close(self) -> None:
        """Stop the workers (a finished run: they are idle) and restore SIGTERM."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._restore_sigterm()

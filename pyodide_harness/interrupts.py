"""How a harness run stops: the host's Ctrl-C and SIGTERM, and the suite's own interrupts.

The host's signals (``HostInterrupts``): the first SIGINT or SIGTERM tells the
controller at once that the run is shutting down (a runtime that ends from then on
is neither restarted nor a crash) and becomes pytest's KeyboardInterrupt, so the run
ends as pytest's do: exit status 2, reports written, every runtime closed. SIGTERM
is handled the same way because CI systems stop jobs with it. Once the run is
ending, another signal ends the process at once with status 2: the journal is on
disk already, and a user who presses Ctrl-C twice wants no more waiting.

The suite's own (``stop_like_the_runtime``): a test that raises KeyboardInterrupt
or calls ``pytest.exit`` ends its in-runtime session as in plain pytest; the host
ends its run the same way, showing the same location.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from .items import host_path
from .journal import JOURNAL_FILENAME
from .protocol import Interrupted

STOPPED_AGAIN = ("pyodide-harness: interrupted while the run was ending: stopped at once, "
                 "without waiting for the runtimes and the reports. {kept}\n")
JOURNAL_KEPT = ("What finished is in {journal}; `pyodide-harness report {report_dir}` "
                "writes the reports from it.")
SUITE_INTERRUPTED = ("{instance}: {what} from {where}: the run stops there, as pytest's "
                     "does")

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class HostInterrupts:
    """The host's SIGINT and SIGTERM while a harness run is installed (main thread only)."""

    def __init__(self, on_first: Callable[[], None], note: str,
                 cleanup: Callable[[], None] = lambda: None) -> None:
        self._on_first = on_first  # called from the signal handler: it must not block
        self._note = note  # said when a second signal ends the process
        self._cleanup = cleanup  # what must not be left behind even then (scratch files)
        self._ending = False
        self._previous: dict[int, Any] = {}

    # -- as a pytest plugin (registered beside the session) --
    def pytest_sessionstart(self) -> None:
        self.install()

    def pytest_keyboard_interrupt(self) -> None:
        self.ending()
        self._on_first()  # pytest's own Ctrl-C handling (not ours) also stops the runtimes

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self) -> Generator[None]:
        self.ending()  # before the reports are written: Ctrl-C now stops at once
        return (yield)

    def pytest_unconfigure(self) -> None:
        self.restore()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread; pytest's own apply there
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def ending(self) -> None:
        """The run is ending (interrupted, or finishing): a signal now stops the process."""
        self._ending = True

    def _handle(self, signum: int, frame: Any) -> None:
        if self._ending:
            self._stop_now()
        self._ending = True
        self._on_first()
        if signum == getattr(signal, "SIGTERM", None):
            raise KeyboardInterrupt("SIGTERM")
        raise KeyboardInterrupt

    def _stop_now(self) -> NoReturn:
        """Exit 2 without unwinding: no hook, no lock, no stream is waited for.

        Runtimes do not outlive this: Node gets SIGKILL from the kernel when the host
        ends (PR_SET_PDEATHSIG, see ``runners/node.py``) and Playwright's driver closes
        its browsers and exits when its pipe from the host closes.
        """
        try:
            with contextlib.suppress(OSError):
                os.write(2, STOPPED_AGAIN.format(kept=self._note).encode("utf-8", "replace"))
            with contextlib.suppress(Exception):
                self._cleanup()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
        finally:
            os._exit(pytest.ExitCode.INTERRUPTED)


def journal_note(report_dir: Path | None) -> str:
    """What a second interrupt leaves for the user to pick up."""
    if report_dir is None:
        return ""
    return JOURNAL_KEPT.format(journal=report_dir / JOURNAL_FILENAME, report_dir=report_dir)


def describe(event: Interrupted, instance: str, rootpath: Path) -> str:
    """The line the host says about a suite's own interrupt (its location names no runtime)."""
    what = "pytest.exit()" if event.exit else event.message.partition(":")[0]
    where = event.nodeid or f"{host_path(event.path, rootpath)}:{event.lineno}"
    return SUITE_INTERRUPTED.format(instance=instance, what=what, where=where)


def stop_like_the_runtime(event: Interrupted, rootpath: Path) -> NoReturn:
    """End the host's session the way the suite ended the runtime's.

    ``pytest.exit`` is called again with its reason and status. A KeyboardInterrupt is
    raised from a frame at the suite's file and line, the same file on the host: pytest's
    summary then shows the place it was raised, as in a plain run
    (``path:line: KeyboardInterrupt``), for which it reads the last frame of the
    traceback.
    """
    if event.exit:
        pytest.exit(event.message, returncode=event.returncode)
    exc = _keyboard_interrupt(event.message)
    path = host_path(event.path, rootpath) if event.path else "<runtime>"
    code = compile("\n" * (max(event.lineno, 1) - 1) + "raise exc", path, "exec")
    exec(code, {"exc": exc})
    raise exc  # not reached: the line above raised it


def _keyboard_interrupt(message: str) -> KeyboardInterrupt:
    """The exception pytest's one-line ``message`` ("KeyboardInterrupt: why") describes; a
    subclass of the suite's is recreated by name, so the summary shows the same line."""
    name, _, text = message.partition(": ")
    args = (text,) if text else ()
    if name in ("KeyboardInterrupt", ""):
        return KeyboardInterrupt(*args)
    module, _, qualname = name.rpartition(".")
    cls: type[KeyboardInterrupt] = type(qualname, (KeyboardInterrupt,), {
        "__module__": module or "builtins", "__qualname__": qualname})
    return cls(*args)

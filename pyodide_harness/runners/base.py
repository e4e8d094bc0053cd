"""The one interface every runtime implements, and what the host hands it.

A runtime module (``node.py``, ``chromium.py``, ...) provides a class with a
``name`` and an async ``run(job, emit)`` that boots Pyodide, runs one in-runtime
session and emits protocol events until ``Done``, or a ``Crashed`` event when
the runtime died first. Adding WebKit or Deno is one new module registered in
``runners/__init__.py``.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ..protocol import Event

if TYPE_CHECKING:
    from ..inner.pyodide_harness_inner import InnerOptions

Emit = Callable[[Event], None]
Sandbox = Literal["on", "network", "off"]
SANDBOX_MODES: tuple[Sandbox, ...] = ("on", "network", "off")


@dataclass(frozen=True)
class RuntimeJob:
    """Everything one runtime needs for one in-runtime session."""

    distribution: Path  # directory holding pyodide.mjs, pyodide.asm.wasm, ...
    wheels: tuple[Path, ...]  # dependencies first, then the wheels under test
    archive: Path  # the test tree as a zip
    inner: Path  # pyodide_harness_inner.py
    options: InnerOptions  # the in-runtime session's command line (runtime name filled in)
    workdir: Path  # scratch directory of this runtime
    env: Mapping[str, str] = field(default_factory=dict)
    instance: str = ""  # "node#2" when several instances of a runtime run (--pyodide-workers)


@dataclass(frozen=True)
class RuntimeConfig:
    """Host-side choices for launching runtimes (paths, flags)."""

    node: Path | None = None
    browser_paths: Mapping[str, Path] = field(default_factory=dict)
    sockfs: bool = True
    # What code under test may reach (--pyodide-sandbox): "on" confines Node with its
    # permission model and a short environment, and the browser page to the harness's
    # server; "network" also lets the page reach any origin; "off" confines nothing.
    sandbox: Sandbox = "on"


class Runtime(Protocol):
    """One runtime: Node, Chromium, Firefox."""

    name: str

    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        """Run one session to its end, emitting every event; never raise for a dead runtime."""
        ...

    async def interrupt(self) -> bool:
        """Ask the running test to stop (SIGINT through Pyodide's interrupt buffer).

        Returns False when this runtime cannot be interrupted; the watchdog then
        goes straight to ``close``.
        """
        ...

    async def send(self, command: str) -> bool:
        """Hand the in-runtime session one command line (the tests to run, see
        ``scheduling.py``); False when the runtime is gone. Calls come in order,
        one at a time."""
        ...

    async def close(self) -> None:
        """Release everything (processes, browsers); safe to call twice.

        Closing a running runtime makes ``run`` return (with a ``Crashed`` event).
        """
        ...


RuntimeFactory = Callable[[RuntimeConfig], Runtime]


class OutputTail:
    """The last lines a runtime printed, kept to explain a crash.

    Output arrives as written (pieces of lines) or as whole lines; both end up
    as lines here.
    """

    def __init__(self, lines: int = 200) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._partial = ""

    def write(self, text: str) -> None:
        """Output as written: may end mid-line."""
        *complete, self._partial = (self._partial + text).split("\n")
        self._lines.extend(complete)

    def line(self, text: str) -> None:
        """One whole line of its own (a note from the host side, a log line)."""
        if self._partial:
            self._lines.append(self._partial)
            self._partial = ""
        self._lines.append(text)

    def text(self) -> str:
        return "\n".join([*self._lines, self._partial] if self._partial else self._lines)

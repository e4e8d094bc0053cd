"""The harness's terminal output, as an observer of its hooks (``newhooks.py``).

What a pytest user expects to see:

* before the tests, one line per preparation step (distribution, dependencies,
  test tree); while the runtimes boot, a status line (on a TTY, rewritten in
  place; in CI, a line every ``CI_EVERY`` seconds); once all collected, one line
  per runtime in a fixed order (versions, JSPI, boot and install times);
* during the run, pytest's own rows of dots, never broken: with several runtime
  instances the file names are left out (as pytest-xdist does), since tests of
  different runtimes arrive in turn; with ``-v``, pytest's line per test, whose
  node id names the runtime. Progress per runtime appears only between rows: on a
  TTY as a status line written straight to the terminal and erased before pytest
  writes again, in CI as a line at most every ``CI_EVERY`` seconds;
* at the end, the gate's verdict and a table: runtime, versions, outcomes, boot
  and total time; then, per runtime with failures, what they come from:
  ``node: 20 failed: 17 sockets, 2 recursion, 1 threads`` (``causes.py``).

Counts come from ``pytest_report_teststatus``, the same categories pytest's
summary line counts, so what the status says and what the summary says agree.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

import pytest

from . import causes
from .availability import missing_module_message, wheel_availability
from .gate import Gate
from .items import crash_message, host_nodeid, split_host_nodeid
from .settings import Settings

CI_EVERY = 30.0  # seconds between progress lines when the output is not a terminal
RESTARTING = "{runtime}: restarting ({attempt}/{cap}) after: {reason}"
PREFIX = "pyodide-harness: "
COLUMNS = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")  # pytest's categories
CAUSES_LINE = "{runtime}: {counts}: {causes}"


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """A table's rows as lines, each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]


class HarnessTerminal:
    """Registered by ``plugin.py`` beside the session; writes nothing without a terminal."""

    def __init__(self, config: pytest.Config, settings: Settings, gate: Gate) -> None:
        self.config = config
        self.settings = settings
        self.gate = gate
        self.phase: dict[str, str] = {}  # instance -> what it is doing
        self.runtime_of: dict[str, str] = {}  # instance -> runtime
        self.ready: dict[str, str] = {}  # runtime -> its line for the header block
        self.environment: dict[str, dict[str, str]] = {}
        self.boot: dict[str, float] = {}
        self.total: dict[str, int] = {}  # runtime -> tests selected
        self.done: dict[str, set[str]] = {}  # runtime -> host node ids finished
        self.counts: dict[str, Counter[str]] = {}  # runtime -> category -> reports
        self.seconds: dict[str, float] = {}  # runtime -> wall time of its slowest instance
        self.restarts: Counter[str] = Counter()
        self.missing: dict[str, tuple[str, list[str]]] = {}  # module -> importer, runtimes
        self.failing: dict[str, dict[str, tuple[str, str | None]]] = {}  # runtime -> test -> (kind, cause)
        self.stopped: set[str] = set()  # runtimes that stopped for good after a crash
        self._started = time.monotonic()
        self._last_line = time.monotonic()
        self._status_shown = False
        self._collecting = True

    # -- where output goes --------------------------------------------------------------
    @property
    def tr(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    @property
    def isatty(self) -> bool:
        tr = self.tr
        if tr is None:
            return False
        value = tr.isatty
        return bool(value() if callable(value) else value)

    def say(self, text: str) -> None:
        """One line of its own, prefixed, between pytest's output."""
        tr = self.tr
        if tr is None:
            return
        self._clear_status()
        if tr._tw.width_of_current_line:  # an event worth its own line, even mid-row
            tr._tw.line()
        tr.write_line(PREFIX + text)
        self._last_line = time.monotonic()

    def _stream(self) -> TextIO:
        # The status line is written around pytest's TerminalWriter, which would count
        # its characters into the row of dots and wrap the row too early.
        stream: TextIO = getattr(self.tr._tw, "_file", sys.stdout)
        return stream

    def _show_status(self) -> None:
        tr = self.tr
        if tr is None:
            return
        if self.isatty and self._collecting:  # pytest's own "collecting" line, ours now
            tr.rewrite(self.status(), erase=True)
            self._status_shown = True
            return
        if tr._tw.width_of_current_line:
            return  # only between rows of dots
        if self.isatty:
            stream = self._stream()
            stream.write("\r" + self.status()[: max(0, tr._tw.fullwidth - 1)] + "\x1b[K")
            stream.flush()
            self._status_shown = True
        elif time.monotonic() - self._last_line >= CI_EVERY:
            self.say(self.status())

    def _clear_status(self) -> None:
        if not self._status_shown:
            return
        self._status_shown = False
        if self._collecting:
            self.tr.rewrite("", erase=True)
            self.tr.write("\r")
        else:
            stream = self._stream()
            stream.write("\r\x1b[K")
            stream.flush()

    def status(self) -> str:
        """``node 120/161 (1 failed) | chromium booting 12s | firefox installing``."""
        parts = []
        for runtime in dict.fromkeys(self.runtime_of.values()):
            instances = [i for i, r in self.runtime_of.items() if r == runtime]
            if runtime in self.total and not self._collecting:
                counts = self.counts.get(runtime, Counter())
                bad = ", ".join(f"{counts[c]} {c}" for c in ("failed", "error") if counts[c])
                done = len(self.done.get(runtime, ()))
                parts.append(f"{runtime} {done}/{self.total[runtime]}" + (f" ({bad})" if bad else ""))
            else:
                phases = ", ".join(dict.fromkeys(self.phase[i] for i in instances))
                parts.append(f"{runtime} {phases}")
        elapsed = time.monotonic() - self._started
        return f"{PREFIX}{' | '.join(parts)} [{elapsed:.0f}s]"

    # -- pytest's hooks --------------------------------------------------------------------
    def pytest_report_header(self) -> str:
        return (f"pyodide-harness: runtimes {', '.join(self.settings.runtimes)}; "
                f"Pyodide {self.settings.pyodide_version}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._clear_status()
        self._collecting = False
        for module, (importer, runtimes) in self.missing.items():  # with the fix: ask the index
            self.say(missing_module_message(module, importer, wheel_availability(module))
                     + f" [{', '.join(runtimes)}]")
        for runtime in dict.fromkeys(self.runtime_of.values()):
            if runtime in self.ready:
                self.say(self.ready[runtime])
            env = self.environment.get(runtime, {})
            for key, origin in sorted(env.items()):
                if key.startswith("imported_from:"):
                    self.say(f"{runtime}: {key.partition(':')[2]} imported from {origin}")
        tr = self.tr
        if tr is not None and len(self.runtime_of) > 1:
            tr.showfspath = False  # rows of dots from several runtimes, as pytest-xdist does

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._clear_status()  # before pytest writes its letter
        runtime = getattr(report, "pyodide_runtime", None)
        if runtime is None:
            return
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if category:
            self.counts.setdefault(runtime, Counter())[category] += 1
        if report.failed:
            self._failing(runtime, report)

    def _failing(self, runtime: str, report: pytest.TestReport) -> None:
        """Note a test's first failing report, and its cause (from the same structured
        message and text that results.json keeps)."""
        tests = self.failing.setdefault(runtime, {})
        nodeid = str(getattr(report, "pyodide_nodeid", report.nodeid))
        if nodeid in tests:
            return
        if getattr(report, "pyodide_not_run", False):
            tests[nodeid] = ("not run", causes.CRASH if runtime in self.stopped else None)
        else:
            cause = causes.cause_of(crash_message(report), report.longreprtext, report.when)
            tests[nodeid] = ("failed" if report.when == "call" else "error", cause)

    def causes_line(self, runtime: str) -> str | None:
        """``node: 19 failed, 1 error: 12 sockets, 5 threads, 3 unknown``, or None."""
        tests = self.failing.get(runtime)
        if not tests:
            return None
        kinds = Counter(kind for kind, _ in tests.values())
        named = Counter(causes.cause_name(cause) for _, cause in tests.values())
        order = sorted(named, key=lambda name: (name == causes.UNKNOWN, -named[name], name))
        return CAUSES_LINE.format(
            runtime=runtime,
            counts=", ".join(f"{kinds[kind]} {kind}" for kind in ("failed", "error", "not run")
                             if kinds[kind]),
            causes=", ".join(f"{named[name]} {name}" for name in order))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        found = split_host_nodeid(nodeid, tuple(self.total))
        if found is not None:
            self.done.setdefault(found[1], set()).add(nodeid)
        self._show_status()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self._clear_status()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if self.gate.active:
            tr.write_sep("=", "pyodide-harness gate")
            tr.write_line(f"{len(self.gate.held)} known failures still failing (not counted), "
                          f"{len(self.gate.fixed)} fixed")
            for runtime, nodeid in self.gate.fixed:
                tr.write_line(f"FIXED {host_nodeid(nodeid, runtime)}")
        if not self.runtime_of:
            return
        tr.write_sep("=", "pyodide-harness runtimes")
        rows: list[tuple[str, ...]] = [("runtime", "version", "Pyodide", *COLUMNS, "boot", "total")]
        for runtime in dict.fromkeys(self.runtime_of.values()):
            env = self.environment.get(runtime, {})
            counts = self.counts.get(runtime, Counter())
            restarts = f", {self.restarts[runtime]} restarts" if self.restarts[runtime] else ""
            rows.append((
                runtime, env.get("runtime_version", "-"), env.get("pyodide_version", "-"),
                *(str(counts[column]) for column in COLUMNS),
                f"{self.boot[runtime]:.1f}s" if runtime in self.boot else "-",
                f"{self.seconds.get(runtime, 0.0):.1f}s{restarts}",
            ))
        for row in aligned(rows):
            tr.write_line(row)
        for runtime in dict.fromkeys(self.runtime_of.values()):
            line = self.causes_line(runtime)
            if line is not None:
                tr.write_line(line)

    # -- the harness's hooks -----------------------------------------------------------------
    def pytest_pyodide_runtime_started(self, runtime: str, instance: str) -> None:
        self.runtime_of[instance] = runtime
        self.phase[instance] = "booting"

    def pytest_pyodide_runtime_ready(self, runtime: str, instance: str,
                                     environment: dict[str, str], boot: float,
                                     install: float) -> None:
        self.phase[instance] = "collecting"
        if instance != runtime:
            return  # the header names each runtime once
        self.environment[runtime] = dict(environment)
        self.boot[runtime] = boot
        jspi = "JSPI on" if environment.get("jspi") == "true" else "JSPI off"
        self.ready[runtime] = (f"{runtime}: {environment.get('runtime_version', '?')}, Pyodide "
                               f"{environment.get('pyodide_version', '?')}, {jspi} "
                               f"(boot {boot:.1f}s, install {install:.1f}s)")
        if not self.isatty:
            self._show_status()

    def pytest_pyodide_runtime_collected(self, runtime: str, instance: str, nodeids: list[str],
                                         environment: dict[str, str]) -> None:
        self.phase[instance] = "collected"
        self.environment.setdefault(runtime, {}).update(environment)
        self.total[runtime] = max(self.total.get(runtime, 0), len(nodeids))

    def pytest_pyodide_module_missing(self, runtime: str, module: str, importer: str) -> None:
        runtimes = self.missing.setdefault(module, (importer, []))[1]
        if runtime not in runtimes:
            runtimes.append(runtime)

    def pytest_pyodide_runtime_error(self, instance: str, text: str) -> None:
        if not self._collecting:
            self.say(f"{instance}: runtime error: {text.strip()}")

    def pytest_pyodide_runtime_crashed(self, runtime: str, instance: str, reason: str,
                                       will_restart: bool, attempt: int) -> None:
        if not will_restart and not self._collecting:
            self.stopped.add(runtime)
        if will_restart:
            self.restarts[runtime] += 1
            self.say(RESTARTING.format(runtime=instance, attempt=attempt,
                                       cap=self.settings.max_restarts, reason=reason))
        elif self._collecting:
            self.phase[instance] = "failed"

    def pytest_pyodide_runtime_finished(self, runtime: str, instance: str,
                                        seconds: float) -> None:
        self.phase[instance] = "done"
        self.seconds[runtime] = max(self.seconds.get(runtime, 0.0), seconds)

    def pytest_pyodide_idle(self) -> None:
        self._show_status()

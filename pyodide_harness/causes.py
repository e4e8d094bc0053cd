"""Why a test failed in Pyodide: the cause vocabulary and the one table of rules.

A failing test's report says what went wrong in three places: the exception's type and
message (pytest's ``reprcrash.message``, kept as ``TestResult.message``), the traceback's
frames and statements (in the report's text), and, for a runtime that died or outran its
timeout, the text the host wrote in the test's place. Each rule of ``RULES`` is a name, a
cause of ``CAUSES`` and a predicate over that evidence, and each was written from a real
failure in Pyodide 314 (tests/test_causes.py keeps every rule's example). The first rule
that matches decides. A failure no rule matches has no cause (reports show ``unknown``):
nothing is guessed from a test's name, its file, or what usually goes wrong.

The same function serves the live run (``ResultsBuilder`` fills ``TestResult.cause``) and
the re-rendering of an older results.json (the reports fill causes that were not stored),
so it works from the stored strings alone and imports nothing from pytest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

THREADS = "threads"
SUBPROCESS = "subprocess"
SIGNALS = "signals"
SOCKETS = "sockets"
TIMEZONE = "timezone"
RECURSION = "recursion"
MEMORY = "memory"
FILESYSTEM = "filesystem"
MISSING_MODULE = "missing-module"
JSPI = "jspi"
TIMEOUT = "timeout"
CRASH = "crash"

CAUSES: dict[str, str] = {
    THREADS: "Pyodide has no threads: starting one raises RuntimeError",
    SUBPROCESS: "no processes: subprocess, os.fork/exec, multiprocessing",
    SIGNALS: "no signal.alarm, setitimer or pthread_kill; signals cannot be waited for",
    SOCKETS: "no listening, accepting or datagram sockets, no raw sockets, IPv6 disabled",
    TIMEZONE: "no time.tzset and no system time-zone data (TZ changes have no effect)",
    RECURSION: "RecursionError, or the JavaScript engine's stack overflowed first",
    MEMORY: "wasm32: 32-bit sizes and at most 4 GiB of memory",
    FILESYSTEM: "Emscripten's file system: no /proc, no hard links or fifos, flock does not lock",
    MISSING_MODULE: "a standard-library or C module that Pyodide does not ship",
    JSPI: "stack switching (run_sync, synchronous waits on JavaScript) is not possible here",
    TIMEOUT: "the test outran its timeout and was interrupted, or its runtime was stopped",
    CRASH: "the runtime died while running the test (a wasm trap, an abort, an exit)",
}
"""The cause vocabulary: each name and what it means, in the order reports explain them.

``missing-module`` names the module: the stored cause is ``missing-module: curses``."""

UNKNOWN = "unknown"
"""What reports show for a failure no rule explains (never stored: re-rendering with
newer rules may explain it)."""

FAILING = frozenset({"failed", "error", "not-run"})
"""The outcomes that get a cause: ``results.BAD_OUTCOMES`` (not imported from there,
since results.py calls this module)."""

NOT_RUN = "not-run"

#: Standard-library modules Pyodide 314 does not ship, found by asking the runtime
#: (``importlib.util.find_spec`` over ``sys.stdlib_module_names`` in Node), less the ones
#: CPython on Linux lacks as well (Windows, macOS, iOS, Android and AIX modules): a test
#: importing those fails natively too. ``_multiprocessing`` has its own rule (subprocess).
PYODIDE_MISSING_STDLIB = frozenset({
    "_curses", "_curses_panel", "_dbm", "_gdbm", "_hashlib", "_interpchannels",
    "_interpqueues", "_interpreters", "_multiprocessing", "_posixshmem", "_pydecimal",
    "_tkinter", "_uuid", "curses", "dbm", "ensurepip", "grp", "idlelib", "pwd",
    "pydoc_data", "readline", "resource", "syslog", "tkinter", "turtle", "turtledemo",
    "venv",
})

#: ``os`` functions Pyodide 314 lacks (``hasattr(os, name)`` in the runtime), by cause.
_OS_FILESYSTEM = ("link", "mkfifo", "mknod", "lchown", "getxattr", "sendfile")
_OS_PROCESSES = ("forkpty", "posix_spawn")

#: OSError and its subclasses a socket call raises (``socket.timeout`` is TimeoutError).
_OS_ERRORS = frozenset({"OSError", "IOError", "BlockingIOError", "ConnectionError",
                        "BrokenPipeError", "ConnectionAbortedError", "ConnectionResetError",
                        "InterruptedError", "PermissionError", "TimeoutError", "gaierror",
                        "herror", "timeout"})


class Failing(Protocol):
    """What a cause is decided from, and where it goes (``results.TestResult``)."""

    outcome: str
    phase: str
    message: str
    longrepr: str
    cause: str | None


class _Restart(Protocol):
    @property
    def attempt(self) -> int: ...


class FailingRun(Protocol):
    """A runtime's run (``results.RuntimeRun``): its tests and its restarts."""

    @property
    def tests(self) -> Sequence[Failing]: ...

    @property
    def restarts(self) -> Sequence[_Restart]: ...


@dataclass(frozen=True)
class Frame:
    """One location line of a traceback: ``path:line: in name`` (``name`` is the raised
    exception's type on the frame that raised it, in pytest's long format)."""

    path: str
    line: int
    name: str


@dataclass(frozen=True)
class Evidence:
    """A failing test's report, taken apart once for the rules."""

    message: str  # the first line of pytest's crash message, "OSError: [Errno 138] ..."
    exception: str  # its type without the module, "OSError"; "" when it names none
    raised: tuple[str, ...]  # the message and every "E" line (chained exceptions too)
    statements: tuple[str, ...]  # the ">" lines: what each frame was running
    frames: tuple[Frame, ...]
    crash: str  # the host's text for a runtime that died or timed out, else ""
    text: str  # the whole report text
    phase: str

    def says(self, *needles: str) -> bool:
        """Whether the message or an "E" line (a chained exception's too) holds a needle."""
        return any(needle in line for line in self.raised for needle in needles)

    def raised_in(self, filename: str) -> bool:
        """Whether the exception was raised in a frame of *filename* (``socket.py``)."""
        return bool(self.frames) and _basename(self.frames[-1].path) == filename

    def runs(self, pattern: re.Pattern[str]) -> bool:
        """Whether a ``>`` statement of the traceback matches *pattern*."""
        return any(pattern.search(statement) for statement in self.statements)


Predicate = Callable[[Evidence], bool]


@dataclass(frozen=True)
class Rule:
    """One way to recognise a cause; ``detail`` adds what the cause names (a module)."""

    name: str
    cause: str
    why: str
    predicate: Predicate
    detail: Callable[[Evidence], str] | None = None

    def cause_for(self, evidence: Evidence) -> str:
        """The stored cause: the vocabulary name, with its detail when it has one."""
        detail = self.detail(evidence) if self.detail else ""
        return f"{self.cause}: {detail}" if detail else self.cause


# --- taking a report apart --------------------------------------------------------------

_EXCEPTION = re.compile(r"([A-Za-z_][\w.]*)(?::(?:\s.*)?)?$")
_LOCATION = re.compile(r"^(?!E )(\S.*?):(\d+):(?: (?:in )?(\S*))?\s*$")
_NATIVE_LOCATION = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')
_TIMED_OUT = re.compile(r"^(?:PyodideTimeout: )?Timeout \(>[\d.]+s\) in ")
_DIED = " while running "  # synthesis.RUNTIME_DIED: "{reason} while running {nodeid}"


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" if none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def exception_of(message: str) -> str:
    """The exception type a crash message starts with, without its module; "" if none.

    ``"zoneinfo._common.ZoneInfoNotFoundError: ..."`` -> ``"ZoneInfoNotFoundError"``;
    ``"assert 0 == 19"`` and host texts (``"node failed fatally (...)"``) name none.
    """
    match = _EXCEPTION.match(first_line(message))
    return match.group(1).rsplit(".", 1)[-1] if match else ""


def evidence(message: str, longrepr: str, phase: str = "call") -> Evidence:
    """Everything the rules read, from a result's stored strings."""
    first = first_line(message) or first_line(longrepr)
    exception = exception_of(first)
    lines = longrepr.splitlines()
    raised = [first, *(line[1:].strip() for line in lines if line.startswith("E "))]
    statements = tuple(line[1:].strip() for line in lines if line.startswith(">"))
    frames = []
    for line in lines:
        match = _LOCATION.match(line) or _NATIVE_LOCATION.match(line)
        if match:
            frames.append(Frame(match.group(1), int(match.group(2)), match.group(3) or ""))
    host_text = not exception and (_DIED in first or _TIMED_OUT.match(first) is not None)
    return Evidence(
        message=first, exception=exception, raised=tuple(line for line in raised if line),
        statements=statements, frames=tuple(frames),
        crash=(longrepr or message) if host_text else "", text=longrepr, phase=phase,
    )


def crash_evidence(reason: str) -> Evidence:
    """The evidence of a restart's reason (``node failed fatally (...)``): a crash text."""
    first = first_line(reason)
    return Evidence(first, "", (first,), (), (), reason, reason, "call")


# --- the rules ----------------------------------------------------------------------------

_FORK_EXEC = re.compile(r"\bos\.(fork|forkpty|exec\w*|spawn\w*|posix_spawn\w*|wait\w*)\(")
_SOCKET_CALL = re.compile(r"\.(bind|listen|accept|connect|connect_ex|sendto|recvfrom)\(|"
                          r"\bsocket(pair)?\(")
_SOCKET_UNSUPPORTED = ("[Errno 138] Not supported", "[Errno 28] Invalid argument")
_MISSING = re.compile(r"No module named '([\w.]+)'")
_TZSTR = re.compile(r"\btzstr\('[A-Za-z]{3,}[+-]?\d")
_LOCK_CALL = re.compile(r"\b(flock|lockf)\(")


def _missing_stdlib(e: Evidence) -> str:
    """The standard-library module Pyodide lacks that a ModuleNotFoundError names, or ""."""
    for line in e.raised:
        for match in _MISSING.finditer(line):
            top = match.group(1).split(".", 1)[0]
            if top in PYODIDE_MISSING_STDLIB:
                return top
    return ""


def _crash_says(*needles: str) -> Predicate:
    return lambda e: bool(e.crash) and any(needle in e.crash for needle in needles)


def _says(*needles: str) -> Predicate:
    return lambda e: e.says(*needles)


def _missing_attribute(module: str, names: Iterable[str]) -> Predicate:
    needles = tuple(f"module '{module}' has no attribute '{name}'" for name in names)
    return lambda e: e.exception == "AttributeError" and e.says(*needles)


RULES: tuple[Rule, ...] = (
    # -- the host's texts for a runtime that timed out or died: what it died of first
    Rule("watchdog-timeout", TIMEOUT,
         "the harness's timeout interrupted the test (PyodideTimeout), or stopped the "
         "runtime when the interrupt did not land",
         lambda e: e.exception == "PyodideTimeout" or (
             bool(e.crash) and _TIMED_OUT.match(e.crash) is not None)),
    Rule("hypothesis-deadline", TIMEOUT,
         "a hypothesis example took longer than its deadline (200 ms by default): WebAssembly "
         "runs slower than native code, and a first call (compiling, warming up) more so",
         _says("DeadlineExceeded", "exceeds the deadline of", "exceeded the deadline of")),
    Rule("js-stack-overflow", RECURSION,
         "the JavaScript engine's stack overflowed before Python's recursion limit: V8 "
         "says 'Maximum call stack size exceeded', SpiderMonkey 'too much recursion'",
         _crash_says("RangeError: Maximum call stack size exceeded",
                     "InternalError: too much recursion")),
    Rule("node-child-process-refused", SUBPROCESS,
         "Node's permission model (the harness's sandbox) refused the child process "
         "Pyodide's os.system tries to start",
         _crash_says("Use --allow-child-process")),
    Rule("runtime-died", CRASH,
         "the runtime died in the test: a wasm trap ('unreachable' is an abort(), "
         "'memory access out of bounds' a bad pointer in C), an exit or a crashed page",
         lambda e: bool(e.crash) and _TIMED_OUT.match(e.crash) is None),
    # -- exceptions Python raised
    Rule("recursion-error", RECURSION, "Python's recursion limit was reached",
         lambda e: e.exception == "RecursionError"),
    Rule("no-threads", THREADS, "threading.Thread.start, _thread and thread pools",
         _says("can't start new thread")),
    Rule("no-processes", SUBPROCESS, "subprocess.Popen refuses: Emscripten has no fork/exec",
         _says("does not support processes")),
    Rule("no-multiprocessing", SUBPROCESS,
         "multiprocessing needs its C module _multiprocessing, which Pyodide leaves out",
         _says("No module named '_multiprocessing'")),
    Rule("fork-exec-not-implemented", SUBPROCESS,
         "os.fork, exec*, spawn* and wait* raise ENOSYS",
         lambda e: e.says("[Errno 52] Function not implemented") and e.runs(_FORK_EXEC)),
    Rule("os-process-function-missing", SUBPROCESS,
         "os has no forkpty or posix_spawn in Pyodide",
         _missing_attribute("os", _OS_PROCESSES)),
    Rule("signal-function-missing", SIGNALS,
         "signal has no alarm, setitimer or pthread_kill in Pyodide",
         _missing_attribute("signal", ("alarm", "setitimer", "pthread_kill"))),
    Rule("signal-call-failed", SIGNALS, "an OSError from signal.py (sigwait cannot wait)",
         lambda e: e.exception in _OS_ERRORS and e.raised_in("signal.py")),
    Rule("ipv6-disabled", SOCKETS,
         "Pyodide is built without IPv6: AF_INET6 sockets and inet_pton(AF_INET6) fail",
         _says("IPv6 is disabled", "Address family not supported by protocol")),
    Rule("socket-not-supported", SOCKETS,
         "bind, listen, socketpair, datagram and raw sockets fail with ENOTSUP or EINVAL",
         lambda e: e.exception in _OS_ERRORS and e.says(*_SOCKET_UNSUPPORTED)
         and (e.raised_in("socket.py") or e.runs(_SOCKET_CALL))),
    Rule("socket-attribute-missing", SOCKETS,
         "socket has no AF_UNIX, SO_REUSEPORT or sethostname in Pyodide",
         lambda e: e.exception == "AttributeError" and e.says("module 'socket' has no attribute")),
    Rule("event-loop-no-server", SOCKETS,
         "Pyodide's event loop cannot create servers or Unix-socket connections",
         lambda e: e.exception == "NotImplementedError"
         and e.says("not available in browser environments") and e.says("socket")),
    Rule("no-tzset", TIMEZONE, "time.tzset does not exist in Pyodide",
         _missing_attribute("time", ("tzset",))),
    Rule("no-tz-data", TIMEZONE,
         "no system zoneinfo (and tzdata not installed): zones cannot be found by key",
         lambda e: e.exception == "ZoneInfoNotFoundError" or e.says("No time zone found with key")),
    Rule("tz-variable-left-set", TIMEZONE,
         "the local zone is a POSIX TZ string (dateutil's tzstr('JST-9')): a test set TZ, "
         "its time.tzset() failed, and TZ was never put back",
         lambda e: e.exception == "AssertionError" and any(_TZSTR.search(x) for x in e.raised)),
    Rule("memory-error", MEMORY, "an allocation did not fit in wasm32's memory",
         lambda e: e.exception == "MemoryError"),
    Rule("size-past-32-bit", MEMORY,
         "a size past 2**31 does not fit wasm32's 32-bit Py_ssize_t",
         _says("cannot fit 'int' into an index-sized integer")),
    Rule("no-proc", FILESYSTEM, "Emscripten's file system has no /proc",
         lambda e: e.exception in _OS_ERRORS | {"FileNotFoundError"} and e.says("'/proc/")),
    Rule("os-filesystem-function-missing", FILESYSTEM,
         "os has no link, mkfifo, mknod, lchown, getxattr or sendfile in Pyodide",
         _missing_attribute("os", _OS_FILESYSTEM)),
    Rule("flock-does-not-lock", FILESYSTEM,
         "flock/lockf succeed without locking, so a conflicting lock is not refused",
         lambda e: e.says("DID NOT RAISE <class 'BlockingIOError'>")
         and _LOCK_CALL.search(e.text) is not None),
    Rule("missing-stdlib-module", MISSING_MODULE,
         "a module of PYODIDE_MISSING_STDLIB was imported", lambda e: bool(_missing_stdlib(e)),
         detail=_missing_stdlib),
    Rule("jspi-unavailable", JSPI,
         "the JavaScript runtime has no WebAssembly stack switching (JSPI)",
         _says("WebAssembly stack switching not supported in this JavaScript runtime")),
    Rule("jspi-sync-entrypoint", JSPI,
         "run_sync was reached through a synchronous JavaScript call, which cannot suspend",
         _says("Cannot stack switch because the Python entrypoint was a synchronous function")),
)
"""Every rule, in the order they are tried: the first that matches decides."""


# --- deciding -----------------------------------------------------------------------------


def _first_rule(found: Evidence) -> Rule | None:
    """The first rule that matches *found*, or None."""
    return next((rule for rule in RULES if rule.predicate(found)), None)


def explain(message: str, longrepr: str, phase: str = "call") -> Rule | None:
    """The rule that explains a failure, or None when none does."""
    return _first_rule(evidence(message, longrepr, phase))


def cause_of(message: str, longrepr: str, phase: str = "call") -> str | None:
    """The cause of a failed or errored test, from its crash message, report text and
    phase; None when no rule explains it."""
    found = evidence(message, longrepr, phase)
    rule = _first_rule(found)
    return rule.cause_for(found) if rule is not None else None


def restart_cause(reason: str) -> str:
    """The cause of a runtime restart from its reason: ``crash`` unless a crash rule
    says more (``recursion`` for a JavaScript stack overflow, ``timeout``)."""
    found = crash_evidence(reason)
    rule = _first_rule(found)
    return rule.cause_for(found) if rule is not None else CRASH


def cause_name(cause: str | None) -> str:
    """The vocabulary name of a stored cause (``missing-module: curses`` ->
    ``missing-module``); ``unknown`` for None."""
    return cause.split(":", 1)[0] if cause else UNKNOWN


def fill(tests: Iterable[Failing], stopped: bool) -> None:
    """Give every failing test without a cause the one its report shows.

    A ``not-run`` test has no report: it was not run because its runtime stopped for good
    after a crash when *stopped* (the runtime's last restart was not followed by another),
    which makes its cause ``crash``; otherwise it stays unknown.
    """
    for test in tests:
        if test.cause is not None or test.outcome not in FAILING:
            continue
        if test.outcome == NOT_RUN and not test.longrepr:
            test.cause = CRASH if stopped else None
        else:
            test.cause = cause_of(test.message, test.longrepr, test.phase)


def fill_run(run: FailingRun) -> None:
    """``fill`` for a runtime's tests: stopped for good when a restart was not followed by
    another (``Restart.attempt`` 0)."""
    fill(run.tests, stopped=any(restart.attempt == 0 for restart in run.restarts))

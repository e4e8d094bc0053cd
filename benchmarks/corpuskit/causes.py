"""Why a test's outcome in a runtime is not the native one: a small table of rules.

Each rule names a Pyodide limitation and a pattern searched in the evidence: the
runtime's report (its exception, skip or xfail reason) unless the runtime did
better than native, when the native report says what went wrong there. The
first rule that matches names the cause; a difference no rule matches is
``UNEXPLAINED``, for a human to look at. Each rule says how it is recognised,
so a wrong attribution is a one-line fix here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .outcomes import Difference, Test

UNEXPLAINED = "UNEXPLAINED"
#: The outcome of the stand-in report of a test one side never collected: its node id.
NOT_COLLECTED = "not collected"
EVIDENCE_WIDTH = 160


@dataclass(frozen=True)
class Rule:
    """A named limitation and the evidence that shows it."""

    name: str  # may use the pattern's named groups: "missing stdlib module {module}"
    pattern: str  # a regular expression, searched in each line of the evidence
    side: str = "runtime"  # whose report it reads: "runtime", or "native" when the runtime did better
    outcomes: frozenset[str] | None = None  # only reports with one of these outcomes (None: any)

    def reads(self, outcome: str) -> bool:
        """Whether this rule reads a report with *outcome*; the node id of a test collected on
        one side only (NOT_COLLECTED) only when the rule asks for it."""
        if self.outcomes is None:
            return outcome != NOT_COLLECTED
        return outcome in self.outcomes

    def match(self, text: str) -> re.Match[str] | None:
        return re.search(self.pattern, text, re.MULTILINE)


#: Modules of CPython's standard library that Pyodide 314 leaves out or cannot import.
_MISSING_STDLIB = ("_multiprocessing|_posixsubprocess|_ctypes|ctypes|_curses|curses|readline|"
                   "tkinter|_tkinter|_testcapi|_testinternalcapi|_testmultiphase|_ssl|ssl|"
                   "sqlite3|_sqlite3|lzma|_lzma|_hashlib|_dbm|dbm|_gdbm|ensurepip|venv|"
                   "resource|_crypt|crypt|nis|spwd|termios|pty|tty|fcntl|grp|pwd|mmap|"
                   "_uuid|_queue|_interpreters|test|idlelib|turtle|pydoc_data")

_SKIPS = frozenset({"skipped", "xfailed"})
_OLDER_NATIVE = "Python version (the native Python is older than 3.14)"

RULES: tuple[Rule, ...] = (
    # A missing module import names itself; only standard-library ones are Pyodide's doing.
    Rule("missing stdlib module {module}",
         rf"No module named '(?P<module>{_MISSING_STDLIB})(\.[\w.]+)?'"
         r"|\brequires (?P<module2>tkinter|ndbm|gdbm)\b"),
    # Pyodide has no processes: fork/exec fail, subprocess and multiprocessing with them.
    Rule("multiprocessing", r"multiprocessing|ProcessPoolExecutor|concurrent\.futures\.process"),
    Rule("os.fork", r"os\.fork\b|\bfork\(\)|os\.register_at_fork"),
    Rule("subprocess", r"does not support processes|subprocess|_posixsubprocess"
                       r"|os\.(spawn|exec|popen|posix_spawn|system)\w*"),
    # Pyodide is built without thread support (Emscripten without pthreads).
    Rule("threads", r"can't start new thread|can't create new thread|threads? (are|is) not supported"
                    r"|_thread\.start_new|start_joinable_thread|threading\.\w+\.start\b"),
    # Sockets: no network stack to bind/listen/accept on; IPv6 is disabled.
    Rule("IPv6", r"AF_INET6|IPv6|has_ipv6"),
    Rule("sockets (listen/accept/connect)",
         r"socket\.\w+\(|socketpair|\.(listen|accept|bind|connect)\(|ConnectionRefused"
         r"|\[Errno \d+\] (Address|Connection|Network)"),
    # Signals cannot interrupt wasm code: no alarm, setitimer, pthread_kill, real handlers.
    Rule("signals", r"signal\.(alarm|setitimer|pthread_kill|SIGALRM|SIGUSR|siginterrupt)|\bSIGALRM\b"),
    # File locking is a no-op or an error on Emscripten's file systems.
    Rule("file locking", r"fcntl\.(flock|lockf)|\bflock\b|msvcrt\.locking"),
    # No system zoneinfo (TZPATH is empty) and no time.tzset: TZ changes have no effect.
    Rule("time zones (no zoneinfo data, no tzset)",
         r"ZoneInfoNotFoundError|No time zone (found|data)|time zone data|has no attribute 'tzset'"
         r"|\btzset\b|TZPATH|/usr/share/zoneinfo|(?i:local (time )?zone has no)"),
    # A test that sets TZ restores it after time.tzset(), which Pyodide lacks: TZ stays set, and
    # later tests see the local zone as that POSIX TZ string.
    Rule("time zones (TZ left set by an earlier test, no tzset)", r"tzstr\('[A-Z]{3,}[-+]?\d"),
    # Pyodide's CPython is built without subinterpreters (no _interpreters module).
    Rule("subinterpreters", r"(?i)subinterpreter|_interpreters|concurrent\.interpreters"),
    # The wasm stack is small; deep recursion and large allocations fail earlier than natively.
    # A JS stack overflow reads "Maximum call stack size exceeded" in V8 (Node, Chromium) and
    # "InternalError: too much recursion" in Firefox.
    Rule("memory and recursion limits",
         r"MemoryError|RecursionError|maximum recursion depth|Maximum call stack size exceeded"
         r"|too much recursion"
         r"|memory access out of bounds|Cannot enlarge memory|Out of memory"),
    # WebAssembly runs slower than native code, and slower still on a loaded machine: a
    # hypothesis example can exceed its deadline (200 ms by default) in a runtime only.
    Rule("slower than native (hypothesis deadline)", r"DeadlineExceeded|exceeds the deadline of",
         outcomes=frozenset({"failed", "error"})),
    # The suite itself skips or expects failure on Emscripten / WebAssembly (bitarray: "Emcripten").
    Rule("skipped by the suite on Emscripten", r"(?i)\bems?cripten|wasm|webassembly|pyodide",
         outcomes=_SKIPS),
    # wasm32 is a 32-bit platform: tests for 64-bit skip there, tests for 32-bit only run there.
    Rule("32-bit platform (wasm32)", r"(?i)\b(32|64).?bit\b", outcomes=_SKIPS),
    Rule("32-bit platform (wasm32)", r"(?i)\b(32|64).?bit\b", side="native", outcomes=_SKIPS),
    # A test only for Pythons older than the runtime's 3.14 skips there.
    Rule(_OLDER_NATIVE, r"(?i)python ?<=? ?3\.\d+", outcomes=_SKIPS),
    # The runtime's Python 3.14 dropped what an older native Python still has: pickling of
    # itertools objects, urllib.request.URLopener/FancyURLopener (suites parametrized over what
    # exists collect fewer tests). Read from the runtime's error, or from the node id of a test
    # only the native run collected.
    Rule("Python 3.14 removed it (the native Python is older)",
         r"cannot pickle 'itertools\.\w+' object|\b(Fancy)?URLopener\b",
         outcomes=frozenset({"failed", "error", NOT_COLLECTED})),
    # The native venv's Python is older than the runtime's 3.14: version-gated tests skip there.
    # (A path such as .../python3.11/site-packages/... in the skip's location is not a reason.)
    Rule(_OLDER_NATIVE, r"(?i)(?<![/\w.])python ?3\.1\d|version_info|free-threading not supported",
         side="native", outcomes=_SKIPS),
    # Natively the suite runs as this machine's user; as root, chmod cannot make a file unreadable.
    Rule("native run as root (permissions not enforced)",
         r"(?i)cannot make a file unreadable|running as root|as root", side="native"),
)


@dataclass(frozen=True)
class Explanation:
    cause: str
    evidence: str  # the line of the evidence the rule matched, or what a human should read

    @property
    def explained(self) -> bool:
        return self.cause != UNEXPLAINED


#: A traceback's location line: ``socket.py:621: OSError`` or ``tests/test_x.py:12: in f``.
_LOCATION = re.compile(r"^\S[^:\n]*:\d+: ")


def evidence_tiers(test: Test) -> tuple[str, str, str]:
    """What a test's report says, from the most to the least telling: what was raised (the
    message and ``E`` lines), what was running (``>`` statements and frame locations), then
    the captured output. A rule matching an earlier tier wins, so a ``>`` statement that
    merely mentions ``AF_INET6`` cannot outvote the exception. Other source lines of the
    traceback are never read: they say what the code could do, not what it did."""
    lines = test.longrepr.splitlines()
    raised = [test.message, *(line[1:].strip() for line in lines if line.startswith("E "))]
    if not any(line.startswith(("E ", ">")) for line in lines):  # a skip reason, a crash text
        raised.append(test.longrepr)
    running = [*(line[1:].strip() for line in lines if line.startswith(">")),
               *(line for line in lines if _LOCATION.match(line))]
    return "\n".join(x for x in raised if x), "\n".join(running), test.output


def _line_of(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start:end if end >= 0 else len(text)].strip()
    return line if len(line) <= EVIDENCE_WIDTH else line[:EVIDENCE_WIDTH - 3] + "..."


def _first_line(test: Test | None) -> str:
    if test is None:
        return ""
    if test.message:
        return test.message[:EVIDENCE_WIDTH]
    lines = test.longrepr.strip().splitlines()
    return lines[-1][:EVIDENCE_WIDTH] if lines else ""


def evidence_side(diff: Difference) -> str:
    """Whose report says why the outcomes differ: the runtime's (its failure, or the reason it
    skipped), unless it did better than native; then the native report says what went wrong."""
    if diff.result is not None and diff.native is not None and diff.result.outcome in ("passed", "xpassed"):
        return "native"
    return "runtime"


def explain(diff: Difference, collectors: Mapping[str, Test] | None = None,
            rules: tuple[Rule, ...] = RULES) -> Explanation:
    """The cause of one difference; *collectors* (node id -> runtime's collection error) stand in
    for a test the runtime never collected because its module or class failed to."""
    side = evidence_side(diff)
    evidence = diff.result if side == "runtime" else diff.native
    if evidence is None and collectors:
        evidence = next((t for prefix, t in collectors.items()
                         if diff.nodeid.startswith(prefix + "::") or diff.nodeid.startswith(prefix + "/")),
                        None)
    if evidence is None:  # collected on one side only, and no collection error says why:
        evidence = Test(diff.nodeid, NOT_COLLECTED, message=diff.nodeid)  # the id may tell
    for tier, text in enumerate(evidence_tiers(evidence)):
        for rule in rules:
            if rule.side != side or not rule.reads(evidence.outcome):
                continue
            found = rule.match(text)
            if found is not None:
                line = _line_of(text, found)
                if tier and evidence.message and evidence.message not in line:  # say what was raised too
                    line = f"{evidence.message[:EVIDENCE_WIDTH]} at `{line}`"
                groups = {k.rstrip("0123456789"): v for k, v in found.groupdict().items() if v}
                return Explanation(rule.name.format(**groups), line)
    if evidence.outcome == NOT_COLLECTED:
        return Explanation(UNEXPLAINED, "not collected in the runtime" if diff.result is None
                           else "not collected natively")
    return Explanation(UNEXPLAINED, _first_line(evidence))

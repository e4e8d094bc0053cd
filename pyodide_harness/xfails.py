"""``pyodide_xfail`` lines for a run's failures: one step from a red run to a green gate.

Each failing test becomes ``RUNTIME PATTERN CAUSE`` (what ``gate.XfailRule.parse``
reads), grouped by cause, with the cause as the reason pytest shows for the expected
failure. A test failing in every runtime of a run with several runtimes gets ``*``; in a
one-runtime run the lines name that runtime, since nothing is known of the others. The
pattern is the suite's node id with fnmatch's ``[ ] * ?`` escaped as one-character
classes (``[[]``), so it matches that test only, and whitespace (which would end the
pattern where the line is split) as ``?``, which matches it and any other one character.

What ``pyodide_xfail`` cannot turn into an expected failure is left out and named in
notes: tests the runtime never ran (it stopped for good), collection errors, and a
runtime's own errors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pyodide_harness.causes import CAUSES, UNKNOWN, cause_name, first_line
from pyodide_harness.results import ERROR, FAILED, NOT_RUN, Results

UNKNOWN_NOTE = "no rule explains these: read their tracebacks before accepting them"
HEADER = (
    "# pyodide-harness xfails: {count} failing test{s} of {packages} ({runtimes}).\n"
    "# Paste under [tool.pytest.ini_options] in pyproject.toml: the next run counts them\n"
    "# as expected failures (XFAIL), with their cause as the reason."
)
NOTHING = "# pyodide-harness xfails: no failing tests in {packages}; nothing to add."
NOT_RUN_NOTE = (
    "{runtime}: {count} test{s} of {package} never ran ({first}{more}): the runtime stopped "
    "for good after a crash, and pyodide_xfail covers only tests that ran. Fix or deselect "
    "the crashing tests, or raise --pyodide-max-restarts"
)
COLLECT_NOTE = (
    "{runtime}: {nodeid} could not be collected ({headline}); pyodide_xfail covers only tests "
    "that ran: deselect it with --deselect or --ignore"
)
RUNTIME_ERROR_NOTE = (
    "{runtime}: the runtime reported an error of its own ({headline}); no pyodide_xfail line "
    "covers it"
)
UNREPRESENTABLE_NOTE = (
    "{nodeid!r} holds a character TOML cannot write (a lone surrogate); no line written for it"
)


@dataclass(frozen=True)
class XfailEntry:
    """One ``pyodide_xfail`` line: a runtime (or ``*``), a test of the suite, its cause."""

    runtime: str
    nodeid: str
    cause: str  # the stored cause, or "unknown"

    def line(self) -> str:
        return f"{self.runtime} {escape_pattern(self.nodeid)} {self.cause}"


def escape_pattern(nodeid: str) -> str:
    """*nodeid* as an fnmatch pattern for it alone, with no whitespace in it (a space in
    a parameter becomes ``?``)."""
    return "".join("?" if char.isspace() else f"[{char}]" if char in "[]*?" else char
                   for char in nodeid)


_CAUSE_ORDER = {name: index for index, name in enumerate(CAUSES)}


def _order(cause: str) -> tuple[int, str]:
    return (_CAUSE_ORDER.get(cause_name(cause), len(_CAUSE_ORDER)), cause)


def xfail_entries(results: Results) -> tuple[list[XfailEntry], list[str]]:
    """The lines for every failed or errored test, by cause; notes on what they cannot
    cover. Causes must have been decided (``reports.fill_causes``)."""
    entries: list[XfailEntry] = []
    notes: list[str] = []
    for package in results.packages:
        runtimes = [run.runtime for run in package.runtimes]
        failing: dict[str, dict[str, str]] = {}  # nodeid -> runtime -> cause
        for run in package.runtimes:
            not_run = [test.nodeid for test in run.tests if test.outcome == NOT_RUN]
            if not_run:
                more = f" and {len(not_run) - 1} more" if len(not_run) > 1 else ""
                notes.append(NOT_RUN_NOTE.format(
                    runtime=run.runtime, count=len(not_run), s="s" if len(not_run) > 1 else "",
                    package=package.name, first=not_run[0], more=more))
            for error in run.errors:
                notes.append(RUNTIME_ERROR_NOTE.format(runtime=run.runtime,
                                                       headline=_first(error)))
            for test in run.tests:
                if test.outcome not in (FAILED, ERROR):
                    continue
                if test.phase == "collect":
                    notes.append(COLLECT_NOTE.format(runtime=run.runtime, nodeid=test.nodeid,
                                                     headline=_first(test.message)))
                    continue
                failing.setdefault(test.nodeid, {})[run.runtime] = test.cause or UNKNOWN
        for nodeid, by_runtime in failing.items():
            causes = set(by_runtime.values())
            if len(runtimes) > 1 and len(by_runtime) == len(runtimes) and len(causes) == 1:
                entries.append(XfailEntry("*", nodeid, causes.pop()))
            else:
                entries.extend(XfailEntry(runtime, nodeid, cause)
                               for runtime, cause in by_runtime.items())
    entries.sort(key=lambda entry: _order(entry.cause))  # stable: suite order within a cause
    return entries, notes


def _first(text: str) -> str:
    return (first_line(text) or "no text")[:200]


def toml_string(text: str) -> str:
    """*text* as a TOML basic string; ValueError when TOML cannot hold it."""
    out = ['"']
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(UNREPRESENTABLE_NOTE.format(nodeid=text))
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def render_toml(results: Results, entries: Iterable[XfailEntry], notes: list[str]) -> str:
    """The ``pyodide_xfail = [...]`` block to paste, commented by cause.

    Entries TOML cannot hold are left out, with a note added to *notes*.
    """
    entries = list(entries)
    packages = ", ".join(f"{p.name} {p.version}" for p in results.packages) or "these results"
    if not entries:
        return NOTHING.format(packages=packages) + "\n"
    tests = len({entry.nodeid for entry in entries})
    per_cause = Counter(entry.cause for entry in entries)
    lines = [HEADER.format(count=tests, s="s" if tests != 1 else "", packages=packages,
                           runtimes=", ".join(results.runtime_names())),
             "pyodide_xfail = ["]
    current = None
    for entry in entries:
        if entry.cause != current:
            current = entry.cause
            name = cause_name(current)
            lines.append(f"    # {current} ({per_cause[current]}): {CAUSES.get(name, UNKNOWN_NOTE)}")
        try:
            lines.append(f"    {toml_string(entry.line())},")
        except ValueError as exc:
            notes.append(str(exc))
    lines.append("]")
    return "\n".join(lines) + "\n"

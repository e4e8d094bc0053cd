"""Per-test outcomes from both sides, and where they differ.

Native outcomes come from pytest's JUnit XML, the harness's from its
``results.json``; neither side's progress text is ever parsed. JUnit mangles node
ids into a dotted classname, so the native run loads ``corpus_nodeids`` (in
``nativeplugin/``), which records each test's node id as a JUnit property.

JUnit cannot tell an unexpected pass from a pass, so ``xpassed`` counts as
``passed`` on both sides; ``xfailed`` counts as skipped in the table (as JUnit
does) but is compared as itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyodide_harness.reportdir import load_results

#: The JUnit property ``nativeplugin/corpus_nodeids.py`` writes.
NODEID_PROPERTY = "corpus.nodeid"
#: The table's columns, and which outcomes each counts.
COLUMNS = ("passed", "failed", "skipped", "error")
_COLUMN_OF = {"passed": "passed", "xpassed": "passed", "failed": "failed", "skipped": "skipped",
              "xfailed": "skipped", "error": "error", "not-run": "error"}
_SITE_PACKAGES = "site-packages/"


@dataclass(frozen=True)
class Test:
    """One test's outcome on one side, with the text the causes read."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str  # passed failed skipped xfailed xpassed error not-run
    message: str = ""  # one line: the exception or the skip reason
    longrepr: str = ""  # traceback, or the skip's location and reason
    output: str = ""  # captured output sections
    collector: bool = False  # a module or class that failed to collect, not a test

    @property
    def ran(self) -> bool:
        return not self.collector


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    error: int = 0

    @classmethod
    def of(cls, tests: Iterable[Test]) -> Counts:
        seen = dict.fromkeys(COLUMNS, 0)
        for test in tests:
            seen[_COLUMN_OF.get(test.outcome, "error")] += 1
        return cls(**seen)

    def cell(self) -> str:
        """``499/20/0/0``: passed/failed/skipped/error."""
        return f"{self.passed}/{self.failed}/{self.skipped}/{self.error}"


@dataclass(frozen=True)
class RuntimeOutcome:
    """One runtime of a harness run: its tests and the problems not tied to a test."""

    runtime: str
    tests: Mapping[str, Test]
    errors: tuple[str, ...]
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Difference:
    """A test whose outcome in *runtime* is not the native one (None: not collected there)."""

    nodeid: str
    runtime: str
    native: Test | None
    result: Test | None


def normalize_nodeid(nodeid: str) -> str:
    """A node id comparable across sides: tests run from an installed wheel (``--pyargs``)
    get ids through the host's or the runtime's site-packages; keep what follows it."""
    index = nodeid.rfind(_SITE_PACKAGES, 0, nodeid.find("::") if "::" in nodeid else None)
    return nodeid[index + len(_SITE_PACKAGES):] if index >= 0 else nodeid


def _compared(outcome: str) -> str:
    return "passed" if outcome == "xpassed" else outcome


def _nodeid_from_junit(case: ET.Element) -> str:
    """Best effort for testcases without the property (collection errors: no item)."""
    classname, name = case.get("classname", ""), case.get("name", "")
    if not classname:  # a module that failed to collect: name is its dotted path
        return name.replace(".", "/") + ".py"
    return f"{classname}::{name}"


def read_junit(path: Path) -> dict[str, Test]:
    """The native run's tests by node id, from its ``--junitxml`` file."""
    tests: dict[str, Test] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
        nodeid = normalize_nodeid(props.get(NODEID_PROPERTY) or _nodeid_from_junit(case))
        outcome, detail = "passed", None
        for tag in ("failure", "error", "skipped"):
            detail = case.find(tag)
            if detail is not None:
                outcome = {"failure": "failed", "error": "error"}.get(tag, tag)
                if tag == "skipped" and detail.get("type") == "pytest.xfail":
                    outcome = "xfailed"
                break
        message = (detail.get("message") or "") if detail is not None else ""
        text = (detail.text or "") if detail is not None else ""
        output = "\n".join(e.text or "" for e in case if e.tag in ("system-out", "system-err"))
        tests[nodeid] = Test(nodeid, outcome, message.strip().splitlines()[0] if message.strip() else "",
                             text, output, collector=message == "collection failure")
    return tests


def read_harness(report_dir: Path) -> list[RuntimeOutcome]:
    """Each runtime of a harness run, from ``results.json`` (or the journal of a run that died)."""
    results = load_results(report_dir)
    runtimes: list[RuntimeOutcome] = []
    for package in results.packages:
        for run in package.runtimes:
            tests: dict[str, Test] = {}
            for t in run.tests:
                nodeid = normalize_nodeid(t.nodeid)
                output = "\n".join(f"{title}\n{text}" for title, text in t.sections)
                tests[nodeid] = Test(nodeid, t.outcome, t.message, t.longrepr, output,
                                     collector=t.phase == "collect")
            runtimes.append(RuntimeOutcome(run.runtime, tests, tuple(run.errors),
                                           dict(run.environment)))
    return runtimes


def differences(native: Mapping[str, Test], runtime: RuntimeOutcome) -> list[Difference]:
    """Every test collected on either side whose outcome is not the same on both."""
    diffs = []
    for nodeid in sorted(native.keys() | runtime.tests.keys()):
        ours, theirs = native.get(nodeid), runtime.tests.get(nodeid)
        if ours is None or theirs is None or _compared(ours.outcome) != _compared(theirs.outcome):
            diffs.append(Difference(nodeid, runtime.runtime, ours, theirs))
    return diffs

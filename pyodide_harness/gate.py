"""The CI gate: known failures per runtime, from a baseline file and from config.

A known failure is turned into an expected failure (pytest's xfail), so it is
shown and counted but does not fail the run; a known failure that now passes
is reported as fixed. Everything else fails as usual.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError

BASELINE_SCHEMA = "pyodide-harness-baseline"
BAD_BASELINE = (
    "Baseline {path} is not a pyodide-harness baseline ({why}); write one with "
    "`pyodide-harness baseline RESULTS -o {path}`"
)
BAD_XFAIL_LINE = (
    "Invalid pyodide_xfail line {line!r}: use 'RUNTIME TEST-ID-PATTERN [reason]', e.g. "
    "'chromium tests/test_threads.py::* threads are not supported in the browser' "
    "(RUNTIME may be *)"
)


@dataclass(frozen=True)
class XfailRule:
    runtime: str  # a runtime name or "*"
    pattern: str  # fnmatch pattern over the suite's node id
    reason: str

    @classmethod
    def parse(cls, line: str) -> XfailRule:
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise HarnessError(BAD_XFAIL_LINE.format(line=line))
        reason = parts[2] if len(parts) > 2 else "expected to fail in this runtime (pyodide_xfail)"
        return cls(parts[0], parts[1], reason)

    def matches(self, runtime: str, nodeid: str) -> bool:
        return self.runtime in ("*", runtime) and fnmatch.fnmatchcase(nodeid, self.pattern)


@dataclass
class Gate:
    known: dict[str, set[str]] = field(default_factory=dict)  # runtime -> suite node ids
    rules: list[XfailRule] = field(default_factory=list)
    source: str = ""
    fixed: list[tuple[str, str]] = field(default_factory=list)  # (runtime, nodeid)
    held: list[tuple[str, str]] = field(default_factory=list)  # known failures that failed
    judged: set[tuple[str, str]] = field(default_factory=set)  # (runtime, nodeid) it turned

    @classmethod
    def load(cls, baseline: Path | None, xfail_lines: list[str]) -> Gate:
        gate = cls(rules=[XfailRule.parse(line) for line in xfail_lines if line.strip()])
        if baseline is not None:
            gate.source = str(baseline)
            try:
                data = json.loads(baseline.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise HarnessError(BAD_BASELINE.format(path=baseline, why="no such file")) from None
            except (OSError, ValueError) as exc:
                raise HarnessError(BAD_BASELINE.format(path=baseline, why=exc)) from None
            if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
                raise HarnessError(BAD_BASELINE.format(path=baseline, why="wrong schema"))
            failures = data.get("failures", {})
            gate.known = {str(rt): {str(n) for n in ids} for rt, ids in failures.items()}
        return gate

    def expected_failure(self, runtime: str, nodeid: str) -> str | None:
        """Why this test may fail in this runtime, or None if it may not."""
        if nodeid in self.known.get(runtime, ()):
            return f"known failure (baseline {self.source})"
        for rule in self.rules:
            if rule.matches(runtime, nodeid):
                return rule.reason
        return None

    def is_baseline(self, runtime: str, nodeid: str) -> bool:
        return nodeid in self.known.get(runtime, ())

    @property
    def active(self) -> bool:
        return bool(self.source or self.rules)

    def judge(self, runtime: str, nodeid: str, report: Any) -> None:
        """Turn a known failure's failing report into an expected failure, in place.

        ``report`` is a pytest report of any phase, made by the runtime or by the host
        (a test that crashed its runtime is a failure like any other). An ini rule that
        passes becomes XPASS, as pytest says it.
        """
        reason = self.expected_failure(runtime, nodeid)
        if reason is None:
            return
        key = (runtime, nodeid)
        if report.failed:
            report.outcome, report.wasxfail = "skipped", reason
            if self.is_baseline(runtime, nodeid) and key not in self.judged:
                self.held.append(key)
            self.judged.add(key)
        elif report.passed and report.when == "call" and not self.is_baseline(runtime, nodeid):
            report.wasxfail = reason
            self.judged.add(key)

    def finished(self, runtime: str, nodeid: str) -> None:
        """A test ended: a baseline failure that did not fail this time is fixed."""
        if self.is_baseline(runtime, nodeid) and (runtime, nodeid) not in self.judged:
            self.fixed.append((runtime, nodeid))

"""Run inside Pyodide by the bare runners: ONE pytest.main over the suite, nothing else.

The only addition to a plain ``pytest.main`` is a plugin that reports, as JSON
marks through ``bench_bridge`` (registered by the JS side), when collection is
over and each test's outcome folded over its phases the way the harness's
``results.json`` folds them, so the benchmark reads data, not pytest's text, and
compares the two runners outcome by outcome.
"""

from __future__ import annotations

import json
import os
from typing import Any

import bench_bridge  # type: ignore[import-not-found]
import pytest

# How bad an outcome is; a test keeps the worst of its phases (as results.json does).
SEVERITY = {"passed": 0, "xfailed": 1, "skipped": 2, "xpassed": 3, "failed": 5, "error": 6}
PROBLEMS_KEPT = 3


def mark(**data: Any) -> None:
    bench_bridge.mark(json.dumps(data))


def outcome(report: pytest.TestReport) -> str:
    xfail = hasattr(report, "wasxfail")
    if report.when != "call" and report.failed:
        return "error"
    if report.skipped:
        return "xfailed" if xfail else "skipped"
    if report.failed:
        return "failed"
    return "xpassed" if xfail else "passed"


class _Marks:
    def __init__(self) -> None:
        self.tests: dict[str, str] = {}
        self.problems: list[str] = []

    def _keep(self, nodeid: str, found: str, report: Any) -> None:
        if nodeid not in self.tests or SEVERITY[found] > SEVERITY[self.tests[nodeid]]:
            self.tests[nodeid] = found
        if found in ("failed", "error") and len(self.problems) < PROBLEMS_KEPT:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr).strip()
            self.problems.append(f"{nodeid}: {message.splitlines()[0] if message else ''}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._keep(report.nodeid, "error", report)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        mark(mark="collected", tests=len(session.items))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._keep(report.nodeid, outcome(report), report)

    def pytest_sessionfinish(self) -> None:
        counts: dict[str, int] = {}
        for found in self.tests.values():
            counts[found] = counts.get(found, 0) + 1
        mark(mark="outcomes", counts=counts, problems=self.problems)


def main(job_json: str) -> int:
    job = json.loads(job_json)
    os.chdir(job["root"])
    args = ["-q", "-p", "no:cacheprovider", f"--rootdir={job['root']}", *job["paths"]]
    return int(pytest.main(args, plugins=[_Marks()]))

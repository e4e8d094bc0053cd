"""The report directory as an observer of the run (``--pyodide-report-dir``).

Every hook of interest becomes a typed record (``results.py``) for the
``Recorder``: the wheel, each runtime's environment, its selection, every phase
report pytest logs (after the gate judged it), problems, restarts and timings.
At the end of the session the reports are written from the folded records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .items import crash_message
from .preparation import Plan
from .recorder import Recorder
from .results import (
    EnvironmentSeen,
    PackageStarted,
    PhaseRecorded,
    Restart,
    RuntimeProblem,
    RuntimeRestarted,
    RuntimeStarted,
    RuntimeTimed,
    TestsCollected,
    TestStarted,
)


def _text(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2])
    return "" if longrepr is None else report.longreprtext


def _suite_nodeid(report: Any) -> str:
    """The suite's own id (results.json keeps those; the runtime is the runtime entry)."""
    return str(getattr(report, "pyodide_nodeid", report.nodeid))


class Recording:
    """Registered by ``plugin.py`` when a report directory is asked for."""

    def __init__(self, report_dir: Path, say: Any) -> None:
        self.recorder = Recorder(report_dir)
        self.say = say
        self.package = ""
        self.runtimes: set[str] = set()
        self.dependencies = ""

    def pytest_pyodide_prepared(self, plan: Plan) -> None:
        main = plan.main
        self.package = main.name
        self.recorder.record(PackageStarted(main.name, main.version, main.path.name, main.sha256, {
            "tags": ", ".join(sorted(main.tags)),
            "requires_dist": "; ".join(main.requires_dist),
            "other_wheels": ", ".join(w.path.name for w in plan.wheels[1:]),
            "dependencies": ", ".join(p.name for p in plan.dependencies),
        }))
        # Which numpy was tested: name, version and source (lock, index, file) of each.
        self.dependencies = ", ".join(f"{p.name} {p.version} ({p.source})" for p in plan.packages)

    def pytest_pyodide_runtime_started(self, runtime: str) -> None:
        if runtime not in self.runtimes:
            self.runtimes.add(runtime)
            self.recorder.record(RuntimeStarted(self.package, runtime))
            if self.dependencies:
                self.recorder.record(EnvironmentSeen(self.package, runtime,
                                                     {"dependencies": self.dependencies}))

    def pytest_pyodide_runtime_ready(self, runtime: str, instance: str,
                                     environment: dict[str, str]) -> None:
        if instance == runtime:
            self.recorder.record(EnvironmentSeen(self.package, runtime, dict(environment)))

    def pytest_pyodide_runtime_collected(self, runtime: str, instance: str, nodeids: list[str],
                                         environment: dict[str, str]) -> None:
        if instance == runtime:
            self.recorder.record(EnvironmentSeen(self.package, runtime, dict(environment)))
        self.recorder.record(TestsCollected(self.package, runtime, tuple(nodeids)))

    def pytest_pyodide_test_started(self, runtime: str, nodeid: str) -> None:
        self.recorder.record(TestStarted(self.package, runtime, nodeid))

    def pytest_pyodide_runtime_error(self, runtime: str, text: str) -> None:
        self.recorder.record(RuntimeProblem(self.package, runtime, text))

    def pytest_pyodide_runtime_crashed(self, runtime: str, instance: str, reason: str,
                                       nodeid: str | None, attempt: int) -> None:
        self.recorder.record(RuntimeRestarted(self.package, runtime,
                                              Restart(instance, reason, nodeid, attempt)))

    def pytest_pyodide_runtime_finished(self, runtime: str, instance: str,
                                        timings: dict[str, float], seconds: float,
                                        ran: int) -> None:
        self.recorder.record(RuntimeTimed(self.package, runtime, timings, seconds, instance, ran))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        runtime = getattr(report, "pyodide_runtime", None)
        if runtime is None or getattr(report, "pyodide_not_run", False):
            return  # not run: the test stays "not-run" in the results
        wasxfail = getattr(report, "wasxfail", None)
        self.recorder.record(PhaseRecorded(
            self.package, runtime, _suite_nodeid(report), report.when or "call",
            report.outcome, float(report.duration or 0.0), _text(report),
            tuple((str(t), str(x)) for t, x in report.sections),
            wasxfail, "" if wasxfail is not None else crash_message(report)))  # xfail: its reason

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        runtime = getattr(report, "pyodide_runtime", None)
        if runtime is None or report.passed or runtime not in self.runtimes:
            return
        nodeid = _suite_nodeid(report)
        if nodeid.startswith("<"):  # the runtime itself, not a file of the suite
            self.recorder.record(RuntimeProblem(self.package, runtime, _text(report)))
            return
        self.recorder.record(PhaseRecorded(
            self.package, runtime, nodeid, "collect", report.outcome, 0.0, _text(report),
            tuple((str(t), str(x)) for t, x in report.sections), None, crash_message(report)))

    def pytest_sessionfinish(self) -> None:
        written = self.recorder.finish()
        self.say(f"wrote {len(written)} report files to {self.recorder.report_dir}")

    def pytest_unconfigure(self) -> None:
        self.recorder.close()

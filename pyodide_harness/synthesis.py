"""Reports the host writes itself, for what no runtime could report.

A runtime that dies in a test cannot report that test's end: the host fails it
in the phase it died in, naming the runtime and the cause (as pytest-xdist's
"worker crashed while running" report does). Tests a runtime never reached are
"not run". A runtime that fails before collecting, or whose package is not
imported from the wheel under test, is one collection error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from .items import PyodideItem, When
from .wheels import WheelInfo

RUNTIME_DIED = "{reason} while running {nodeid}"
NOT_RUN = "not run: {runtime} stopped before this test ({why})"
PACKAGE_SHADOWED = (
    "{runtime}: {name} was imported from {file}, which is not inside the installed wheel "
    "{wheel}. A source copy of the package in the test tree shadows the wheel under test; "
    "move the source under src/ or make sure nothing puts the project root on sys.path."
)
PACKAGE_MISSING = (
    "{runtime}: {name} (from {wheel}) cannot be imported in the runtime after installation; "
    "check the wheel's contents and `pyodide.loadPackage` messages above."
)


def _report(item: PyodideItem, when: When, text: str) -> pytest.TestReport:
    rep = pytest.TestReport(nodeid=item.nodeid, location=item.location,
                            keywords=dict.fromkeys(item.extra_keyword_matches, 1),
                            outcome="failed", longrepr=text, when=when)
    rep.pyodide_runtime = item.runtime  # type: ignore[attr-defined]
    rep.pyodide_nodeid = item.suite_nodeid  # type: ignore[attr-defined]
    return rep


def crash_report(item: PyodideItem, reported: Sequence[pytest.TestReport], reason: str,
                 output: str) -> pytest.TestReport:
    """The test a runtime died in, failed in the phase it had reached."""
    phases = {r.when for r in reported}
    when: When = "setup" if "setup" not in phases else (
        "call" if "call" not in phases else "teardown")
    if reason.startswith("Timeout"):
        text = f"{reason}, while running {item.suite_nodeid}"
    else:
        text = RUNTIME_DIED.format(reason=reason, nodeid=item.suite_nodeid)
    return _report(item, when, f"{text}\n{output}".rstrip())


def not_run_report(item: PyodideItem, instance: str, why: str) -> pytest.TestReport:
    """A selected test its runtime never ran (it stopped for good first)."""
    rep = _report(item, "setup", NOT_RUN.format(runtime=instance, why=why))
    rep.pyodide_not_run = True  # type: ignore[attr-defined]
    return rep


def runtime_failure(instance: str, runtime: str, text: str) -> pytest.CollectReport:
    """A runtime that failed before collecting: one collection error naming it."""
    rep = pytest.CollectReport(nodeid=f"<{instance}>", outcome="failed",
                               longrepr=f"{instance}: {text}", result=[])
    rep.pyodide_runtime = runtime  # type: ignore[attr-defined]
    rep.pyodide_nodeid = rep.nodeid  # type: ignore[attr-defined]
    return rep


def origin_problems(instance: str, origins: Mapping[str, Mapping[str, Any]],
                    wheels: Sequence[WheelInfo]) -> list[str]:
    """What is wrong with where the runtime imported the package under test from."""
    by_name = {n: w for w in wheels for n in w.top_level}
    problems = []
    for name, origin in origins.items():
        wheel = by_name.get(name)
        wheel_name = wheel.path.name if wheel else "?"
        if origin.get("file") is None:
            problems.append(PACKAGE_MISSING.format(runtime=instance, name=name, wheel=wheel_name))
        elif not origin.get("in_wheel"):
            problems.append(PACKAGE_SHADOWED.format(runtime=instance, name=name,
                                                    file=origin["file"], wheel=wheel_name))
    return problems


def origins(instance: str, runtime: str, found: Mapping[str, Mapping[str, Any]],
            wheels: Sequence[WheelInfo], environment: dict[str, str]) -> list[pytest.CollectReport]:
    """Where the runtime imported the package from, into its environment; a problem with
    it (not from the wheel, not importable) as a collection error."""
    for name, origin in found.items():
        environment[f"imported_from:{name}"] = str(origin.get("file"))
        environment.setdefault("imported_from", str(origin.get("file")))
    environment["wheel"] = ", ".join(w.path.name for w in wheels)
    reports = []
    for text in origin_problems(instance, found, wheels):
        rep = runtime_failure(instance, runtime, text)
        rep.longrepr = text  # the text names the runtime already
        reports.append(rep)
    return reports

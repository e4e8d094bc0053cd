"""A test's reports on their way from a runtime to pytest's reporting.

Phase reports are rebuilt for the host's item and judged by the gate as they come,
held while the test runs, and passed to pytest's hooks together when it ends
(``pytest_runtest_logstart``, each ``logreport``, ``logfinish``), so the output of
several runtimes never interleaves within a test. A test whose runtime died in it
ends with the host's crash report; tests a runtime never reached with "not run".
"""

from __future__ import annotations

from typing import Any

import pytest

from .gate import Gate
from .group import Instance, RuntimeGroup
from .items import rebuild
from .synthesis import crash_report, not_run_report


class TestFlow:
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, config: pytest.Config, gate: Gate) -> None:
        self.config = config
        self.gate = gate
        self.session: pytest.Session | None = None

    def started(self, instance: Instance, nodeid: str) -> None:
        instance.current, instance.pending = nodeid, []

    def report(self, instance: Instance, data: dict[str, Any]) -> None:
        nodeid = str(data["nodeid"])
        rep = rebuild(self.config, data, instance.group.items.get(nodeid), instance.runtime,
                      instance.name)
        assert isinstance(rep, pytest.TestReport)
        self.gate.judge(instance.runtime, nodeid, rep)
        instance.pending.append(rep)

    def finished(self, instance: Instance, nodeid: str) -> None:
        reports, instance.pending, instance.current = instance.pending, [], None
        instance.ran += 1
        self.gate.finished(instance.runtime, nodeid)
        self.flush(instance.group, nodeid, reports)

    def flush(self, group: RuntimeGroup, nodeid: str, reports: list[pytest.TestReport]) -> None:
        """One test's start, phase reports and end, together."""
        group.reported.add(nodeid)
        item = group.items.get(nodeid)
        if item is None:
            return
        hook = item.ihook
        hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for rep in reports:
            hook.pytest_runtest_logreport(report=rep)
        hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def stopped(self, instance: Instance) -> None:
        """The suite stopped its session: a test stopped in its teardown had its call
        logged already, as pytest shows it."""
        if instance.current is not None and any(r.when == "call" for r in instance.pending):
            reports, instance.pending = instance.pending, []
            self.flush(instance.group, instance.current, reports)

    def crashed(self, instance: Instance, reason: str, output: str) -> str | None:
        """The runtime died in its current test (if any): that test fails in its phase;
        returns its suite node id."""
        group, nodeid = instance.group, instance.current
        item = group.items.get(nodeid) if nodeid is not None else None
        if nodeid is not None and item is not None:
            rep = crash_report(item, instance.pending, reason, output)
            self.gate.judge(instance.runtime, nodeid, rep)  # a known crash is known, too
            reports, instance.pending, instance.current = [*instance.pending, rep], [], None
            self.flush(group, nodeid, reports)
        return nodeid

    def not_run(self, group: RuntimeGroup, instance: str, why: str) -> None:
        """Selected tests the runtime never reached, reported as not run."""
        if self.config.option.collectonly or self.session is None:
            return
        in_session = set(self.session.items)
        for nodeid in group.left:
            item = group.items[nodeid]
            if item in in_session:
                rep = not_run_report(item, instance, why)
                self.gate.judge(group.runtime, nodeid, rep)  # a known failure may be not run
                self.flush(group, nodeid, [rep])

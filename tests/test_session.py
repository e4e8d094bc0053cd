"""The host session end to end with scripted fake runtimes: nothing boots, nothing downloads.

pytest runs in-process (``pytester.runpytest``) with ``--pyodide-wheel``; the
inputs check, the preparation and the runtime factory are replaced by fakes, so
what is tested is the host side as a user meets it: collection from events,
rebuilt reports with pytest's own output and exit status, a crash in a test and
the restart that resumes after it, tests a runtime never ran, the gate, and the
report directory that the same events produce.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_controller import FakeRuntime, Step

from pyodide_harness import inputs, protocol, recording, session, terminal
from pyodide_harness.distribution import Distribution
from pyodide_harness.inner.pyodide_harness_inner import InnerOptions
from pyodide_harness.preparation import Plan, PlannedInstance
from pyodide_harness.reportdir import load_results
from pyodide_harness.runners import RuntimeConfig, RuntimeJob
from pyodide_harness.settings import Settings
from pyodide_harness.synthesis import NOT_RUN
from pyodide_harness.terminal import RESTARTING
from pyodide_harness.testtree import TestTree
from pyodide_harness.wheels import WheelInfo, WheelIntake

# The plugin imports these when a run starts: imported here first, they are the ones it
# uses, whatever pytester restores of sys.modules after each in-process run.
PRELOADED = (inputs, recording, terminal)
ORIGINAL_CHECK_INPUTS = inputs.check_inputs
A, B, C, D = (f"tests/test_s.py::test_{n}" for n in "abcd")
ENV = {"runtime_version": "Node v24.0.0", "pyodide_version": "314.0.7", "jspi": "true"}


def report(nodeid: str, when: str, outcome: str = "passed", longrepr: Any = None) -> protocol.TestReport:
    return protocol.TestReport({
        "$report_type": "TestReport", "nodeid": nodeid, "when": when, "outcome": outcome,
        "longrepr": longrepr, "location": [nodeid.split("::")[0], 1, nodeid.split("::")[1]],
        "keywords": {}, "sections": [], "user_properties": [], "duration": 0.01,
        "start": 0.0, "stop": 0.01,
    })


def passing(nodeid: str) -> list[Step]:
    return [protocol.TestStarted(nodeid), report(nodeid, "setup"), report(nodeid, "call"),
            report(nodeid, "teardown"), protocol.TestFinished(nodeid)]


def collected(*nodeids: str) -> protocol.Collected:
    items = [protocol.CollectedItem(n, (n.split("::")[0], 1, n.split("::")[1]), []) for n in nodeids]
    return protocol.Collected(items, [], {"demo": {"file": "/lib/python3.14/site-packages/demo/__init__.py",
                                                   "in_wheel": True}})


BOOT: list[Step] = [protocol.RuntimeReady(ENV, 1.0, 0.5),
                    protocol.SessionStarted("9.0.3", "3.14.2", "emscripten")]
END: list[Step] = [protocol.SessionFinished(0), protocol.Done(0, 1.0)]
CRASH_IN_B: list[Step] = [*BOOT, collected(A, B, C, D), *passing(A), protocol.TestStarted(B),
                          report(B, "setup"),
                          protocol.Crashed("node exited unexpectedly (code=7)", "killed")]


@pytest.fixture
def fake_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, FakeRuntime]:
    """Every runtime is a FakeRuntime from this dict (filled in by each test)."""
    runtimes: dict[str, FakeRuntime] = {}
    wheel = WheelInfo(path=tmp_path / "demo-1.0-py3-none-any.whl", name="demo", version="1.0",
                      tags=frozenset({"py3-none-any"}), extras=(), requires_dist=(),
                      top_level=("demo",), sha256="0" * 64, is_pure=True)

    def check_inputs(config: pytest.Config, settings: Settings) -> WheelIntake:
        return WheelIntake(wheels=(wheel,), skipped=())

    def prepare(config: pytest.Config, settings: Settings, intake: WheelIntake, say: Any) -> Plan:
        say("prepared by the test's fake")
        instances = tuple(
            PlannedInstance(name, name, RuntimeJob(
                distribution=tmp_path, wheels=(), archive=tmp_path, inner=tmp_path,
                options=InnerOptions(runtime=name, rootdir="/"), workdir=tmp_path / name))
            for name in settings.runtimes)
        return Plan(wheels=intake.wheels, distribution=Distribution(tmp_path, "314.0.7", "test"),
                    dependencies=(), tree=TestTree(tmp_path / "t.zip", 1, 1, ()),
                    instances=instances, runtime_config=RuntimeConfig(), workdir=tmp_path / "work")

    monkeypatch.setattr(inputs, "check_inputs", check_inputs)
    monkeypatch.setattr(session, "prepare", prepare)
    monkeypatch.setattr(session, "create", lambda name, config: runtimes[name])
    return runtimes


def run(pytester: pytest.Pytester, *args: str, runtimes: Sequence[str] = ("node",)) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--pyodide-wheel=demo.whl",
                              *(f"--pyodide-runtime={r}" for r in runtimes), *args)


def test_collection_reports_and_exit_status(pytester: pytest.Pytester,
                                            fake_host: dict[str, FakeRuntime]) -> None:
    fake_host["node"] = FakeRuntime("node", [
        *BOOT, collected(A, B, C), *passing(A),
        protocol.TestStarted(B), report(B, "setup"),
        report(B, "call", "failed", "E   AssertionError: boom"), report(B, "teardown"),
        protocol.TestFinished(B),
        protocol.TestStarted(C), report(C, "setup", "skipped", [C.split("::")[0], 3, "Skipped: no"]),
        report(C, "teardown"), protocol.TestFinished(C), *END])
    result = run(pytester, "-v")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "pyodide-harness: prepared by the test's fake",
        "pyodide-harness: node: Node v24.0.0, Pyodide 314.0.7, JSPI on (boot 1.0s, install 0.5s)",
        "collected 3 items",
        "tests/test_s.py::test_a[[]node[]] PASSED*",
        "tests/test_s.py::test_b[[]node[]] FAILED*",
        "tests/test_s.py::test_c[[]node[]] SKIPPED*",
    ])


def test_two_runtimes_never_interleave_a_test_and_show_rows_of_dots(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime]
) -> None:
    """Events of the two runtimes alternate, yet each test is reported whole and the row of
    dots is not broken by file names (as pytest-xdist shows it)."""
    fake_host["node"] = FakeRuntime("node", [*BOOT, collected(A, B), *passing(A), 0.05,
                                             *passing(B), *END])
    fake_host["chromium"] = FakeRuntime("chromium", [*BOOT, collected(A, B), 0.02,
                                                     *passing(A), 0.05, *passing(B), *END])
    result = run(pytester, runtimes=("node", "chromium"))
    result.assert_outcomes(passed=4)
    assert "...." in result.stdout.str()
    assert "tests/test_s.py ." not in result.stdout.str()


def test_a_crash_fails_its_test_restarts_and_resumes(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime], tmp_path: Path
) -> None:
    fake_host["node"] = FakeRuntime("node", CRASH_IN_B,
                                    [*BOOT, collected(C, D), *passing(C), *passing(D), *END])
    result = run(pytester, "-rA", f"--pyodide-report-dir={tmp_path / 'report'}")
    result.assert_outcomes(passed=3, failed=1)  # B died after its setup: failed in its call
    result.stdout.fnmatch_lines([
        "pyodide-harness: " + RESTARTING.format(runtime="node", attempt=1, cap=5,
                                                reason="node exited unexpectedly (code=7)"),
    ])
    assert fake_host["node"].jobs[1].options.skip == (A, B)  # resumed after the crashed test
    (node,) = load_results(tmp_path / "report").packages[0].runtimes
    outcomes = {t.nodeid: t.outcome for t in node.tests}
    assert outcomes == {A: "passed", B: "failed", C: "passed", D: "passed"}
    assert [(r.nodeid, r.attempt) for r in node.restarts] == [(B, 1)]
    assert node.timings["boot"] == 1.0 and node.instances == {"node": 3}


def test_tests_a_runtime_never_reached_are_not_run(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime], tmp_path: Path
) -> None:
    fake_host["node"] = FakeRuntime("node", CRASH_IN_B)
    result = run(pytester, "-rA", "--pyodide-max-restarts=0",
                 f"--pyodide-report-dir={tmp_path / 'report'}")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    text = NOT_RUN.format(runtime="node", why="node exited unexpectedly (code=7)")
    result.stdout.fnmatch_lines(["*ERROR at setup of test_c[[]node[]]*", text,
                                 "ERROR tests/test_s.py::test_c[[]node[]] - not run: node*"])
    (node,) = load_results(tmp_path / "report").packages[0].runtimes
    assert {t.nodeid: t.outcome for t in node.tests}[D] == "not-run"


def test_a_baseline_lists_a_crash_as_known(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime], tmp_path: Path
) -> None:
    """Issue 12: a test that crashes its runtime, listed in the baseline, is a known failure."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema": "pyodide-harness-baseline", "schema_version": 1,
                                    "failures": {"node": [B]}}))
    fake_host["node"] = FakeRuntime("node", CRASH_IN_B,
                                    [*BOOT, collected(C, D), *passing(C), *passing(D), *END])
    result = run(pytester, f"--pyodide-baseline={baseline}")
    result.assert_outcomes(passed=3, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_a_runtime_that_dies_before_collecting_is_one_error(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime]
) -> None:
    fake_host["node"] = FakeRuntime("node", [protocol.RuntimeError_("Pyodide fatal error: boom")])
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error, as pytest says it
    result.stdout.fnmatch_lines(["*ERROR collecting <node>*", "*Pyodide fatal error: boom*"])
    assert len(fake_host["node"].jobs) == 1  # not restarted


def test_a_shell_expanded_glob_is_taken_like_the_quoted_one(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest --pyodide-wheel dist/*.whl`` reaches pytest as the option with the first file
    and the others as positional arguments: all are wheels under test, and the native
    build among them is skipped with a note, as for the quoted glob (issue 11)."""
    from wheelfactory import make_wheel

    native = make_wheel(pytester.path / "dist", "demo", tag="cp311-cp311-manylinux_2_17_x86_64")
    pure = make_wheel(pytester.path / "dist", "demo", tag="py3-none-any")
    seen: list[WheelIntake] = []
    monkeypatch.setattr(inputs, "check_inputs", ORIGINAL_CHECK_INPUTS)
    fake_prepare: Callable[..., Plan] = session.__dict__["prepare"]  # the fixture's fake

    def prepare(config: pytest.Config, settings: Settings, intake: WheelIntake, say: Any) -> Plan:
        seen.append(intake)
        return fake_prepare(config, settings, intake, say)

    monkeypatch.setattr(session, "prepare", prepare)
    fake_host["node"] = FakeRuntime("node", [*BOOT, collected(A), *passing(A), *END])
    result = pytester.runpytest("-p", "no:cacheprovider", "--pyodide-runtime=node",
                                "--pyodide-wheel", "dist/" + native.name, "dist/" + pure.name)
    result.assert_outcomes(passed=1)
    (intake,) = seen
    assert [w.path.name for w in intake.wheels] == [pure.name]
    assert [p.name for p, _ in intake.skipped] == [native.name]


def test_the_runs_counts_agree_with_pytests_summary(
    pytester: pytest.Pytester, fake_host: dict[str, FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: the progress shown during a run and the summary at the end disagreed (18 vs
    20 failures on boltons). The status line and the runtime table count with pytest's own
    categories: after the run they equal pytest's summary, errors in teardown included."""
    seen: dict[str, str] = {}

    class Observer:
        @pytest.hookimpl(trylast=True)
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            harness = terminalreporter.config.pluginmanager.get_plugin("pyodide_harness_terminal")
            seen["status"] = harness.status()
            seen.update({key: str(len(terminalreporter.stats.get(key, [])))
                         for key in ("passed", "failed", "error")})

    failing_teardown: list[protocol.Event] = [protocol.TestStarted(C), report(C, "setup"),
                        report(C, "call", "failed", "E   boom"),
                        report(C, "teardown", "failed", "E   and in teardown"),
                        protocol.TestFinished(C)]
    fake_host["node"] = FakeRuntime("node", [
        *BOOT, collected(A, B, C, D), *passing(A),
        protocol.TestStarted(B), report(B, "setup", "failed", "E   no fixture"),
        report(B, "teardown"), protocol.TestFinished(B),
        *failing_teardown, *passing(D), *END])
    result = pytester.runpytest("-p", "no:cacheprovider", "--pyodide-wheel=demo.whl",
                                "--pyodide-runtime=node", plugins=[Observer()])
    result.assert_outcomes(passed=2, failed=1, errors=2)
    assert (seen["passed"], seen["failed"], seen["error"]) == ("2", "1", "2")
    assert seen["status"].startswith("pyodide-harness: node 4/4 (1 failed, 2 error)"), seen

"""The in-runtime plugin on plain CPython: events, reports, selection, timeouts, origins.

``pyodide_harness_inner.py`` is loaded from its file, as the runtime loads it, and
``run()`` is called in-process on tiny suites written by ``pytester`` (which
restores the working directory and ``sys.modules`` afterwards). Entry-point
plugins are switched off so the inner session sees only pytest, as in Pyodide.
"""

from __future__ import annotations

import copy
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pyodide_harness
from pyodide_harness.protocol import TestReport as TestReportEvent
from pyodide_harness.protocol import decode

INNER_PATH = Path(pyodide_harness.__file__).parent / "inner" / "pyodide_harness_inner.py"
Event = dict[str, Any]




@dataclass
class Run:
    status: int
    events: list[Event]

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["event"] == kind]

    def one(self, kind: str) -> Event:
        [event] = self.of(kind)
        return event

    @property
    def collected(self) -> list[str]:
        return [i["nodeid"] for i in self.one("collected")["items"]]

    @property
    def deselected(self) -> list[str]:
        return list(self.one("collected")["deselected"])

    def reports(self, name: str) -> dict[str, dict[str, Any]]:
        """The serialized phase reports of the test whose nodeid ends with ``::name``, by phase."""
        found = [e["report"] for e in self.of("test_report") if e["report"]["nodeid"].endswith(f"::{name}")]
        by_when = {r["when"]: r for r in found}
        assert len(by_when) == len(found), f"a phase reported twice: {found}"
        return by_when

    def started(self, name: str) -> Event:
        [event] = [e for e in self.of("test_started") if e["nodeid"].endswith(f"::{name}")]
        return event


@pytest.fixture
def run_inner(pytester: pytest.Pytester, inner: ModuleType) -> Any:
    def run(*extra: str, take_async_errors: Any = None, receive: Any = None, **options: Any) -> Run:
        events: list[Event] = []
        opts: dict[str, Any] = {
            "runtime": "node", "rootdir": str(pytester.path), "paths": ["tests"],
            "args": ["-q", "--capture=sys", *extra], "package": "", "top_level": [], "timeout": 0,
            "version": inner.PROTOCOL_VERSION,
        }
        opts.update(options)
        # Every event must survive the JSON bridge unchanged (main() adds default=str only
        # as a safety net); the options are read as main() reads the host's JSON.
        status = inner.run(inner.InnerOptions.from_json(json.loads(json.dumps(opts))),
                           lambda e: events.append(json.loads(json.dumps(e))), take_async_errors,
                           receive)
        return Run(status, events)

    return run


def suite(pytester: pytest.Pytester, **files: str) -> None:
    pytester.makepyfile(**{f"tests/{name}": source for name, source in files.items()})


# -- the event stream ---------------------------------------------------------------------------
def test_one_passing_test(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_one="def test_ok():\n    assert True\n")

    result = run_inner()

    assert result.kinds() == ["session_started", "collected", "test_started", "test_report", "test_report",
                              "test_report", "test_finished", "session_finished", "done"]
    started = result.one("session_started")
    assert started["pytest_version"] == pytest.__version__
    assert started["python_version"] == sys.version.split()[0]
    assert started["platform"] == sys.platform
    assert Path(started["rootdir"]) == pytester.path
    [item] = result.one("collected")["items"]
    assert item["nodeid"] == "tests/test_one.py::test_ok"
    assert item["location"] == ["tests/test_one.py", 0, "test_ok"]
    assert {"node", "test_ok", "test_one.py"} <= set(item["keywords"])
    # Only what the host does not know from `collected`: no location, no timeout when none.
    assert result.one("test_started") == {"event": "test_started", "nodeid": "tests/test_one.py::test_ok"}
    assert [r["report"]["when"] for r in result.of("test_report")] == ["setup", "call", "teardown"]
    # A plain pass takes the short form: none of the fields the host fills in again.
    assert [sorted(r["report"]) for r in result.of("test_report")] == [
        ["$report_type", "duration", "nodeid", "outcome", "start", "stop", "when"]] * 3
    assert {r["report"]["outcome"] for r in result.of("test_report")} == {"passed"}
    assert result.one("test_finished") == {"event": "test_finished", "nodeid": "tests/test_one.py::test_ok"}
    assert result.one("session_finished")["exitstatus"] == 0
    done = result.one("done")
    assert done["exitstatus"] == result.status == 0
    assert done["seconds"] > 0


OUTCOMES_SUITE = """
import pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_passed():
    print("hello from the test")

def test_failed():
    assert 1 == 2, "values differ"

def test_skipped():
    pytest.skip("not on wasm")

@pytest.mark.skipif(True, reason="marker skip")
def test_skip_marker():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="fixed?")
def test_xpass():
    pass

@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass

def test_setup_error(broken_setup):
    pass

def test_teardown_error(broken_teardown):
    pass
"""

# test -> ({phase: outcome}, text the host's rebuilt report shows, wasxfail or None)
OUTCOMES: dict[str, tuple[dict[str, str], str, str | None]] = {
    "test_passed": ({"setup": "passed", "call": "passed", "teardown": "passed"}, "", None),
    "test_failed": ({"setup": "passed", "call": "failed", "teardown": "passed"}, "values differ", None),
    "test_skipped": ({"setup": "passed", "call": "skipped", "teardown": "passed"}, "not on wasm", None),
    "test_skip_marker": ({"setup": "skipped", "teardown": "passed"}, "marker skip", None),
    "test_xfail": ({"setup": "passed", "call": "skipped", "teardown": "passed"}, "", "known bug"),
    "test_xpass": ({"setup": "passed", "call": "passed", "teardown": "passed"}, "", "fixed?"),
    "test_xpass_strict": ({"setup": "passed", "call": "failed", "teardown": "passed"},
                          "[XPASS(strict)] must fail", None),
    "test_setup_error": ({"setup": "failed", "teardown": "passed"}, "setup broke", None),
    "test_teardown_error": ({"setup": "passed", "call": "passed", "teardown": "failed"},
                            "teardown broke", None),
}


def test_serialized_report_of_each_outcome(pytester: pytest.Pytester, run_inner: Any,
                                          pytestconfig: pytest.Config) -> None:
    """Every outcome survives serialization and rebuilds, with pytest's own hook, as the host does."""
    suite(pytester, test_outcomes=OUTCOMES_SUITE)

    result = run_inner()

    actual: dict[str, tuple[dict[str, str], str, str | None]] = {}
    for name, (_, text, _) in OUTCOMES.items():
        reports = result.reports(name)
        rebuilt = {}
        for when, data in reports.items():
            assert data["$report_type"] == "TestReport"
            assert data["nodeid"] == f"tests/test_outcomes.py::{name}"
            # decoded as the host decodes it (the defaults of omitted fields put back);
            # the hook turns longrepr into objects in place: give it a copy
            event = decode(json.dumps({"event": "test_report", "report": data}))
            assert isinstance(event, TestReportEvent)
            rep = pytestconfig.hook.pytest_report_from_serializable(config=pytestconfig,
                                                                    data=copy.deepcopy(event.report))
            assert isinstance(rep, pytest.TestReport)
            assert rep.when == when
            rebuilt[when] = rep
        shown = [r for r in rebuilt.values() if not r.passed or hasattr(r, "wasxfail")]
        assert len(shown) <= 1, f"{name}: more than one phase stands out"
        wasxfail = getattr(shown[0], "wasxfail", None) if shown else None
        longrepr = shown[0].longreprtext if shown else ""
        actual[name] = ({w: r.outcome for w, r in rebuilt.items()},
                        text if text in longrepr else f"{text!r} not in {longrepr!r}", wasxfail)
    assert actual == OUTCOMES
    sections = result.reports("test_passed")["call"]["sections"]
    assert ["Captured stdout call", "hello from the test\n"] in sections
    assert result.kinds().count("test_started") == len(OUTCOMES)
    assert result.status == 1


def test_collection_error(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_broken="import not_a_module_anywhere\n",
          test_nowasm="import pytest\npytest.skip('needs threads', allow_module_level=True)\n",
          test_fine="def test_fine(): pass\n")

    result = run_inner()

    by_nodeid = {e["report"]["nodeid"]: e["report"] for e in result.of("collect_report")}
    assert set(by_nodeid) == {"tests/test_broken.py", "tests/test_nowasm.py"}
    broken = by_nodeid["tests/test_broken.py"]
    assert broken["outcome"] == "failed"
    assert broken["$report_type"] == "CollectReport"
    assert "not_a_module_anywhere" in str(broken["longrepr"])
    assert by_nodeid["tests/test_nowasm.py"]["outcome"] == "skipped"
    assert "test_started" not in result.kinds(), "a collection error stops the session"
    assert result.kinds()[-2:] == ["session_finished", "done"]
    assert result.status == pytest.ExitCode.INTERRUPTED


def test_collect_only(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_a="def test_a(): pass\ndef test_b(): pass\n")

    result = run_inner(collect_only=True)

    assert result.collected == ["tests/test_a.py::test_a", "tests/test_a.py::test_b"]
    assert "test_started" not in result.kinds()
    assert result.status == 0


def test_internal_error(pytester: pytest.Pytester, run_inner: Any) -> None:
    pytester.makeconftest("raise SystemExit('conftest gave up')\n")
    suite(pytester, test_a="def test_a(): pass\n")

    result = run_inner()

    assert result.kinds() == ["internal_error", "done"]
    assert "SystemExit: conftest gave up" in result.one("internal_error")["text"]
    assert result.status == result.one("done")["exitstatus"] == 3


def test_usage_error_is_reported(pytester: pytest.Pytester, run_inner: Any) -> None:
    pytester.makeini("[pytest]\naddopts = --cov=mypkg\n")
    suite(pytester, test_a="def test_a(): pass\n")

    result = run_inner()

    assert result.status == pytest.ExitCode.USAGE_ERROR
    assert "--cov" in result.one("internal_error")["text"]


# -- selection ------------------------------------------------------------------------------------
SELECTION_SUITE = "def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass\n"
ALL = [f"tests/test_sel.py::test_{x}" for x in "abc"]


def test_k_with_the_runtime_name_selects_all(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_sel=SELECTION_SUITE)

    result = run_inner("-k", "node")

    assert result.collected == ALL
    assert result.deselected == []
    assert all("node" in item["keywords"] for item in result.one("collected")["items"])
    assert len(result.of("test_finished")) == 3


def test_k_combines_the_runtime_name_with_test_names(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_sel=SELECTION_SUITE)

    result = run_inner("-k", "node and not test_b", runtime="node")

    assert result.collected == [ALL[0], ALL[2]]
    assert result.deselected == [ALL[1]]


@pytest.mark.parametrize("other", ["chromium", "firefox"])
def test_k_with_another_runtime_name_deselects_all(pytester: pytest.Pytester, run_inner: Any,
                                                   other: str) -> None:
    suite(pytester, test_sel=SELECTION_SUITE)

    result = run_inner("-k", other)

    assert result.collected == []
    assert result.deselected == ALL
    assert "test_started" not in result.kinds()
    assert result.status == pytest.ExitCode.NO_TESTS_COLLECTED


SHARD_SUITE = """
import pytest

@pytest.mark.parametrize("n", range(12))
def test_param(n):
    pass

def test_one():
    pass

class TestGroup:
    def test_two(self):
        pass

    def test_three(self):
        pass
"""


def test_shards_partition_the_tests(pytester: pytest.Pytester, run_inner: Any, inner: ModuleType) -> None:
    suite(pytester, test_shard=SHARD_SUITE)
    everything = run_inner(collect_only=True).collected
    assert len(everything) == 15

    shards = {k: run_inner(shard=[k, 3]) for k in (1, 2, 3)}

    chosen = {k: r.collected for k, r in shards.items()}
    assert sorted(t for ts in chosen.values() for t in ts) == sorted(everything), "union is everything"
    for k, r in shards.items():
        assert len(set(chosen[k])) == len(chosen[k])
        assert set(r.deselected) == set(everything) - set(chosen[k])
        assert chosen[k] == [t for t in everything if t in chosen[k]], "run order is kept"
        assert chosen[k] == [t for t in everything if inner.shard_of(t, 3) == k]
        assert [e["nodeid"] for e in r.of("test_finished")] == chosen[k], "only the shard runs"
    again = {k: run_inner(shard=[k, 3], collect_only=True).collected for k in (3, 2, 1)}
    assert again == chosen, "stable across runs"


LOAD_CONFTEST = """
import pytest

@pytest.fixture(scope="module")
def per_module(request):
    with open("setups.txt", "a") as f:  # the session runs in the rootdir
        f.write(request.module.__name__ + "\\n")
    yield
"""


class Host:
    """Plays the host's side of load scheduling: hands out scripted commands, with
    empty waits between them, and records how long the session was willing to wait."""

    def __init__(self, *commands: dict[str, Any]) -> None:
        self.commands = [json.dumps(c) for c in commands]
        self.calls: list[int] = []

    def receive(self, wait_ms: int) -> str | None:
        self.calls.append(wait_ms)
        if wait_ms and len(self.calls) % 3:  # a wait that ends with nothing, now and then
            return None
        return self.commands.pop(0) if self.commands else None


def test_load_mode_runs_only_what_the_host_sends_and_keeps_fixtures_across_runs(
    pytester: pytest.Pytester, run_inner: Any
) -> None:
    pytester.makepyfile(**{"tests/conftest": LOAD_CONFTEST})
    suite(pytester,
          test_a="".join(f"def test_{i}(per_module):\n    pass\n\n" for i in range(6)),
          test_b="".join(f"def test_{i}(per_module):\n    pass\n\n" for i in range(4)))
    a = [f"tests/test_a.py::test_{i}" for i in range(6)]
    b = [f"tests/test_b.py::test_{i}" for i in range(4)]
    host = Host({"run": a[:3]}, {"run": a[3:] + b[:1]}, {"run": b[1:3]}, {"shutdown": True})

    result = run_inner(schedule="load", receive=host.receive)

    assert result.status == 0
    assert result.collected == a + b  # the whole suite: every instance collects it
    ran = [e["nodeid"] for e in result.of("test_finished")]
    assert ran == a + b[:3]  # what was sent, in order; b[3] never was
    # Each module's fixture was set up once, although test_a's tests came in two
    # runs: the last test of a run waited for the next run before its teardown.
    assert (pytester.path / "setups.txt").read_text().split() == ["test_a", "test_b"]
    assert host.commands == []
    assert 0 in host.calls  # after a command, whatever else is there is taken without waiting


def test_load_mode_fails_loudly_on_a_test_it_did_not_collect(
    pytester: pytest.Pytester, run_inner: Any
) -> None:
    suite(pytester, test_a="def test_0():\n    pass\n")
    host = Host({"run": ["tests/test_a.py::test_0", "tests/test_a.py::test_gone"]})

    result = run_inner(schedule="load", receive=host.receive)

    assert result.status == 3
    assert "the host sent 'tests/test_a.py::test_gone', which this session did not collect" \
        in result.one("internal_error")["text"]


def test_shard_of_is_pinned(inner: ModuleType) -> None:
    """The same test lands in the same shard on every machine, Python and hash seed."""
    assert [inner.shard_of(f"tests/test_x.py::test_{i}", 3) for i in range(8)] == SHARD_PIN
    assert inner.shard_of("tests/test_\udcff.py::t", 4) in range(1, 5)  # undecodable bytes are fine


SHARD_PIN = [2, 1, 1, 3, 1, 1, 3, 1]


def test_skip_list_drops_the_tests_already_done(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_sel=SELECTION_SUITE)

    result = run_inner(skip=[ALL[0], ALL[2], "tests/test_gone.py::test_removed"])

    assert result.collected == [ALL[1]]
    assert result.deselected == [ALL[0], ALL[2]]
    assert [e["nodeid"] for e in result.of("test_started")] == [ALL[1]]


def test_skip_list_and_shard_together(pytester: pytest.Pytester, run_inner: Any, inner: ModuleType) -> None:
    suite(pytester, test_shard=SHARD_SUITE)
    mine = run_inner(shard=[2, 3]).collected
    assert mine

    result = run_inner(shard=[2, 3], skip=mine[:1])

    assert result.collected == mine[1:]


# -- timeouts -------------------------------------------------------------------------------------------
TIMEOUT_SUITE = """
import pytest

@pytest.mark.timeout(3)
def test_marker_arg():
    pass

@pytest.mark.timeout(timeout=4.5)
def test_marker_kw():
    pass

@pytest.mark.timeout(0)
def test_marker_off():
    pass

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("ini", "option", "plain"),
    [(None, 0, None), (None, 11, 11.0), ("7", 11, 7.0), ("7", 0, 7.0), ("0", 11, None)],
    ids=["none", "option", "ini-over-option", "ini", "ini-zero-disables"],
)
def test_timeout_precedence(pytester: pytest.Pytester, run_inner: Any, ini: str | None, option: float,
                            plain: float | None) -> None:
    if ini is not None:
        pytester.makeini(f"[pytest]\ntimeout = {ini}\n")
    suite(pytester, test_timeouts=TIMEOUT_SUITE)

    result = run_inner("--strict-markers", timeout=option)  # the timeout marker is registered

    assert result.status == 0
    assert result.started("test_marker_arg")["timeout"] == 3
    assert result.started("test_marker_kw")["timeout"] == 4.5
    assert result.started("test_marker_off").get("timeout") is None
    assert result.started("test_plain").get("timeout") == plain


def test_sigint_during_a_test_with_a_timeout_fails_that_test(pytester: pytest.Pytester,
                                                              run_inner: Any) -> None:
    suite(pytester, test_hang="""
        import signal
        import pytest

        @pytest.mark.timeout(5)
        def test_hangs():
            signal.raise_signal(signal.SIGINT)  # what the watchdog does through the interrupt buffer
            raise AssertionError("the interrupt did not land")

        def test_after():
            pass
    """)

    result = run_inner()

    call = result.reports("test_hangs")["call"]
    assert call["outcome"] == "failed"
    text = json.dumps(call["longrepr"])
    assert "Timeout (>5s) in node" in text
    assert "PyodideTimeout" in text
    assert "did not land" not in text
    assert result.reports("test_after")["call"]["outcome"] == "passed", "the session goes on"
    assert result.status == 1


def test_sigint_without_a_timeout_interrupts_the_session(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_hang="""
        import signal

        def test_stop():
            signal.raise_signal(signal.SIGINT)

        def test_after():
            pass
    """)

    result = run_inner()

    assert result.reports("test_after") == {}
    assert result.kinds()[-2:] == ["session_finished", "done"]
    assert result.status == pytest.ExitCode.INTERRUPTED


# -- JavaScript errors and import origins ------------------------------------------------------------------
def test_async_error_during_a_test_fails_it(pytester: pytest.Pytester, run_inner: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bridge = types.ModuleType("fake_js_bridge")
    bridge.errors = []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_js_bridge", bridge)

    def take_async_errors() -> list[str]:
        errors: list[str] = bridge.errors
        taken = list(errors)
        errors.clear()
        return taken

    suite(pytester, test_js="""
        import fake_js_bridge

        def test_clean():
            pass

        def test_socket():
            fake_js_bridge.errors.append("Error: read ECONNRESET\\n    at TCP.onStreamRead")

        def test_after():
            pass
    """)

    result = run_inner(take_async_errors=take_async_errors)

    call = result.reports("test_socket")["call"]
    assert call["outcome"] == "failed"
    text = json.dumps(call["longrepr"])
    assert "uncaught JavaScript error in node during this test" in text
    assert "ECONNRESET" in text
    assert result.reports("test_clean")["call"]["outcome"] == "passed"
    assert result.reports("test_after")["call"]["outcome"] == "passed"


def test_import_origins_of_a_source_tree(pytester: pytest.Pytester, run_inner: Any) -> None:
    pytester.makeconftest("")  # puts the project root on sys.path, like a source checkout
    pkg = pytester.mkpydir("mypkg")
    pytester.makepyfile(**{"unimported/__init__": ""})
    suite(pytester, test_pkg="import mypkg\n\ndef test_pkg():\n    assert mypkg\n")

    result = run_inner(package="mypkg-not-installed", top_level=["mypkg", "unimported", "no_such_module"])

    origins = result.one("collected")["import_origins"]
    assert origins["mypkg"] == {"file": str(pkg / "__init__.py"), "in_wheel": False}
    assert origins["unimported"] == {"file": str(pytester.path / "unimported" / "__init__.py"),
                                     "in_wheel": False}
    assert origins["no_such_module"] == {"file": None, "in_wheel": False}


def test_import_origins_of_an_installed_distribution(pytester: pytest.Pytester, run_inner: Any) -> None:
    suite(pytester, test_a="def test_a(): pass\n")

    installed = run_inner(package="pytest", top_level=["pytest", "_pytest"])
    no_package = run_inner(package="", top_level=["pytest"])

    origins = installed.one("collected")["import_origins"]
    assert origins["pytest"] == {"file": pytest.__file__, "in_wheel": True}
    assert origins["_pytest"]["in_wheel"] is True
    assert no_package.one("collected")["import_origins"]["pytest"]["in_wheel"] is False


def test_a_report_a_plugin_cannot_serialize_still_arrives(pytester: pytest.Pytester,
                                                          run_inner: Any) -> None:
    """pytest's subtests copy their arguments to serialize a report; one that cannot be
    copied (itertools.count on Python 3.14: more-itertools' suite) must not fail the test
    in the runtime only: the report is sent in pytest's plain form."""
    pytest.importorskip("_pytest.subtests", reason="pytest before 9.0 has no subtests")
    suite(pytester, test_sub='''
class NoCopy:
    def __deepcopy__(self, memo):
        raise TypeError("cannot copy this")

def test_sub(subtests):
    with subtests.test(msg="one", value=NoCopy()):
        assert True
''')
    result = run_inner()
    assert result.status == pytest.ExitCode.OK
    reports = [e["report"] for e in result.events if e["event"] == "test_report"]
    assert reports and all(r["outcome"] == "passed" for r in reports)
    assert "cannot copy this" not in json.dumps(result.events)

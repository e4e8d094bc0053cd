"""Host plugins of a maintainer's environment, with the real plugins installed.

pytest-xdist, pytest-cov, pytest-run-parallel and pytest-asyncio are installed in
this project's test environment (its ``test`` extra), so every run here has them,
as a maintainer's dev environment does. The refusals stop before anything boots;
one run in Node shows the suite's results are unchanged with the plugins present
and their options in the project's addopts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness import hostplugins
from pyodide_harness.hostplugins import (
    COV,
    IGNORED_FROM_ADDOPTS,
    NOT_IN_RUNTIME,
    RUN_PARALLEL,
    XDIST,
)

Run = Callable[..., pytest.RunResult]

DEMO = {
    "tests/test_demo.py": """
        import warnings
        import pytest

        def test_pass():
            pass

        def test_fail():
            assert 1 == 2

        @pytest.mark.parametrize("n", [1, 2])
        def test_param(n):
            assert n

        def test_warns_inside():
            with pytest.warns(UserWarning):
                warnings.warn("seen by the suite's own filters", UserWarning)
    """,
}


# Whether each option takes a value, as the early hook reads it from the host's parser.
ARITIES = {"-n": True, "--numprocesses": True, "--cov": True, "--cov-report": True,
           "--cov-fail-under": True, "--parallel-threads": True, "--reruns": True,
           "--hypothesis-show-statistics": False, "--benchmark-disable": False,
           "-p": True, "-r": True, "--strict-markers": False}


class FakeConfig:
    """What ``runtime_addopts`` reads of a config: its ini addopts and the arities."""

    def __init__(self, addopts: list[str]) -> None:
        self.addopts = addopts
        self.stash = {hostplugins.ARITIES_KEY: ARITIES}

    def getini(self, name: str) -> list[str]:
        assert name == "addopts"
        return self.addopts


@pytest.mark.parametrize(("addopts", "dists", "kept", "left_out"), [
    (["-n", "auto", "-ra"], set(), ["-ra"], ["-n auto"]),
    (["-nauto", "--strict-markers"], set(), ["--strict-markers"], ["-nauto"]),
    (["--cov=pkg", "--cov-report", "term", "--cov-fail-under=90", "-q"], set(), ["-q"],
     ["--cov=pkg", "--cov-report term", "--cov-fail-under=90"]),
    (["--cov", "-q"], set(), ["-q"], ["--cov"]),  # its value is optional
    (["--benchmark-disable"], {"pytest-benchmark"}, None, []),
    (["--parallel-threads=4", "-q"], set(), ["-q"], ["--parallel-threads=4"]),
    (["--reruns", "2"], set(), [], ["--reruns 2"]),
    (["--reruns", "2"], {"pytest-rerunfailures"}, None, []),
    (["-p", "randomly", "-p", "no:cacheprovider"], set(), ["-p", "no:cacheprovider"],
     ["-p randomly"]),
    (["-p", "xdist"], {"pytest-xdist"}, [], ["-p xdist"]),  # never inside, even when there
    (["--hypothesis-show-statistics"], {"hypothesis"}, None, []),
    (["-ra", "--strict-config"], set(), None, []),
])
def test_runtime_addopts_drop_options_of_plugins_it_lacks(
    addopts: list[str], dists: set[str], kept: list[str] | None, left_out: list[str]
) -> None:
    got, notes = hostplugins.runtime_addopts(FakeConfig(addopts), dists)  # type: ignore[arg-type]
    assert got == kept
    assert [n.split("left out ", 1)[1].split(" (")[0] for n in notes] == left_out


def test_ini_keys_of_host_plugins_are_not_unknown_inside(
    pytester: pytest.Pytester, inner: Any
) -> None:
    """A host plugin's ini key in the project's config (pytest-asyncio's, say) does not
    fail a runtime that lacks the plugin, even with filterwarnings = error; pytest's own
    keys keep their meaning."""
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        asyncio_mode = "auto"
        testpaths = ["tests"]
        filterwarnings = ["error"]
    """)
    pytester.makepyfile(**{"tests/test_x": "def test_x():\n    pass\n"})
    events: list[dict[str, Any]] = []

    def session(ini_keys: tuple[str, ...]) -> int:
        events.clear()
        options = inner.InnerOptions(
            runtime="node", rootdir=str(pytester.path), args=("-q", "-p", "no:asyncio"),
            ini_keys=ini_keys)
        return int(inner.run(options, events.append))

    assert session(()) != 0  # asyncio_mode is unknown without pytest-asyncio
    assert session(("asyncio_mode", "testpaths")) == 0
    assert [e["nodeid"] for e in events if e["event"] == "test_finished"] == ["tests/test_x.py::test_x"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    from fixtureproject import build_suite

    project, wheel = build_suite(pytester.path, DEMO, 'filterwarnings = ["error"]\n')
    monkeypatch.chdir(project)
    return wheel


@pytest.mark.parametrize(("args", "message"), [
    (["-n", "2"], XDIST.format(option="-n")),  # named as typed
    (["-nauto"], XDIST.format(option="-n")),
    (["--dist=load"], XDIST.format(option="--dist")),
    (["--cov=harnessdemo"], COV.format(option="--cov")),
    (["--parallel-threads", "2"], RUN_PARALLEL.format(option="--parallel-threads")),
])
def test_options_that_make_no_sense_are_refused_before_anything_boots(
    pytester: pytest.Pytester, project: Path, args: list[str], message: str
) -> None:
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={project}", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in " ".join(result.stderr.str().split())
    assert "Pyodide 314.0.7" not in result.stdout.str()  # nothing was prepared


def test_host_plugin_warnings_are_not_the_suites_errors(pytester: pytest.Pytester, project: Path) -> None:
    """pytest-asyncio warns at configure time (its loop scope ini is unset); with the suite's
    filterwarnings = error that was an INTERNALERROR before anything booted."""
    pytest.importorskip("pytest_asyncio")
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={project}", "--pyodide-version=1.0.0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()  # the version, not a crash
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.node
def test_a_run_with_host_plugins_and_their_addopts_matches_a_plain_one(
    pytester: pytest.Pytester, project: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-xdist, pytest-cov, pytest-run-parallel and pytest-asyncio installed, -n and
    --cov (with a fail-under) in addopts: the same results as without them, no workers,
    no host coverage, and the options never reach the runtime."""
    pyproject = Path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + textwrap.dedent("""
        addopts = "-n 2 --cov=harnessdemo --cov-fail-under=90 --parallel-threads=2 -ra"
    """))
    result = run(f"--pyodide-wheel={project}")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=4, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in output and "created:" not in output  # no xdist workers
    assert "Coverage failure" not in output and not Path(".coverage").exists()
    for option in ("-n 2", "--cov=harnessdemo", "--parallel-threads=2"):
        assert IGNORED_FROM_ADDOPTS.split("{")[0] + option in output
    result.stdout.fnmatch_lines(["FAILED tests/test_demo.py::test_fail[[]node[]] - assert 1 == 2"])


@pytest.mark.network
def test_an_option_of_a_plugin_the_runtime_lacks_says_how_to_add_it(
    pytester: pytest.Pytester, project: Path, harness_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hypothesis is on the host (a test dependency of this project), not in the runtime."""
    pytest.importorskip("hypothesis")
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={project}", "--pyodide-runtime=node",
                                           "--hypothesis-show-statistics")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = NOT_IN_RUNTIME.format(option="--hypothesis-show-statistics", plugin="hypothesis")
    assert " ".join(expected.split()) in " ".join(result.stdout.str().split() + result.stderr.str().split())

"""All three runtimes at once (the default): same suites, results kept apart per runtime."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtureproject import EXPECTED, build_project

from pyodide_harness.inputs import BROWSER_NOT_FOUND
from pyodide_harness.items import split_host_nodeid

pytestmark = [pytest.mark.node, pytest.mark.browser]

RUNTIMES = ("chromium", "firefox", "node")


Harness = Callable[..., pytest.RunResult]


@pytest.fixture
def harness(pytester: pytest.Pytester, harness_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=900)

    return run


def test_fixture_suite_in_every_runtime(
    pytester: pytest.Pytester, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, wheel = build_project(pytester.path)
    (project / "tests" / "test_where.py").write_text(
        "import pytest\n"
        "def test_runtime_specific():\n"
        "    import js\n"
        "    if hasattr(js, 'process'):\n"
        "        pytest.skip('only meaningful in a browser worker')\n"
        "    assert hasattr(js, 'WorkerGlobalScope')\n"
    )
    monkeypatch.chdir(project)
    result = harness(f"--pyodide-wheel={wheel}", "-rA")
    tripled = {k: v * 3 for k, v in EXPECTED.items()}
    tripled["passed"] += 2  # test_runtime_specific passes in the two browsers
    tripled["skipped"] += 1  # ... and skips itself in Node
    result.assert_outcomes(**tripled)
    lines = result.stdout.lines
    for runtime in RUNTIMES:
        assert f"FAILED tests/test_demo.py::test_raises[{runtime}] - ValueError: boom" in lines
        assert any(f"XPASS tests/test_demo.py::test_xpass[{runtime}]" in line for line in lines)
    assert "PASSED tests/test_where.py::test_runtime_specific[chromium]" in lines
    assert "PASSED tests/test_where.py::test_runtime_specific[firefox]" in lines
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] tests/test_where.py:5: only meaningful in a browser worker",
    ])
    out = result.stdout.str()
    assert "chromium: Chromium 1" in out and "firefox: Firefox 1" in out and "node: Node v2" in out
    assert out.count("JSPI on") == 3


def test_msgpack_suite_in_all_three_runtimes(
    msgpack_sdist: tuple[Path, Path], harness: Harness, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    wheel, sdist = msgpack_sdist
    monkeypatch.chdir(sdist)
    junit = tmp_path / "junit.xml"
    result = harness(f"--pyodide-wheel={wheel}", "test/", "-v", f"--junitxml={junit}")
    assert result.ret == 0, result.stdout.str()[-3000:]
    by_runtime: dict[str, set[str]] = {r: set() for r in RUNTIMES}
    for case in ET.parse(junit).getroot().iter("testcase"):
        found = split_host_nodeid(f"{case.get('classname')}::{case.get('name', '')}", RUNTIMES)
        assert found is not None, case.get("name")
        suite_id, runtime = found
        by_runtime[runtime].add(suite_id)
    assert by_runtime["node"], "no node test cases in the JUnit file"
    assert by_runtime["node"] == by_runtime["chromium"] == by_runtime["firefox"]
    for runtime in RUNTIMES:
        result.stdout.fnmatch_lines([f"test/test_*.py::*[[]{runtime}[]] PASSED*"])


def test_missing_browser_is_a_clear_error(
    pytester: pytest.Pytester, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, wheel = build_project(pytester.path)
    monkeypatch.chdir(project)
    result = harness(f"--pyodide-wheel={wheel}", "--pyodide-runtime=chromium",
                     "--pyodide-browser-path=chromium=/nonexistent/chromium")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # before anything boots
    result.stderr.fnmatch_lines(["*" + BROWSER_NOT_FOUND.format(
        name="chromium", path="/nonexistent/chromium", why="no such file")[:60] + "*"])

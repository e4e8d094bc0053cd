"""``--pyodide-cov`` on real runtimes: data that coverage.py's own tools read.

* Node (what does not depend on the runtime): a crash keeps the data of the tests finished
  before it; workers add to their runtime's file; shards merged with ``pyodide-harness
  merge`` give the union;
* all three runtimes on msgpack's own suite: a data file per runtime that ``coverage
  report`` reads with the project's paths, the combined file the union of the three, lines
  only one runtime ran (its tests selected with ``-k`` and the runtime's name) in that
  runtime's data only, and a native run compared (msgpack natively runs its pure-Python
  fallback, the runtimes its compiled extension).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from coverage import CoverageData
from wheelfactory import make_wheel

from pyodide_harness import cli
from pyodide_harness.covdata import COMBINED, COMPILED, data_file
from pyodide_harness.reportdir import load_results

Harness = Callable[..., pytest.RunResult]
RUNTIMES = ("chromium", "firefox", "node")  # as the tables list them
NAMES = "abcdef"

PACKAGE = "def before_crash():\n    return 0\n" + "".join(
    f"\n\ndef f_{n}():\n    return {i}\n" for i, n in enumerate(NAMES))
TESTS = "import covsuite\n" + "".join(
    f"\n\ndef test_{n}():\n    assert covsuite.f_{n}() == {i}\n" for i, n in enumerate(NAMES))
CRASH = textwrap.dedent("""
    import os
    import covsuite

    def test_zz_crash():
        covsuite.before_crash()
        os._exit(3)
""")


@pytest.fixture
def harness(pytester: pytest.Pytester, harness_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=900)

    return run


def lines_of(path: Path) -> dict[str, set[int]]:
    data = CoverageData(basename=str(path))
    data.read()
    return {f: set(data.lines(f) or ()) for f in data.measured_files()}


def arcs_of(path: Path) -> dict[str, set[tuple[int, int]]]:
    data = CoverageData(basename=str(path))
    data.read()
    return {f: set(data.arcs(f) or ()) for f in data.measured_files()}


def report(data: Path, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "coverage", "report", "-m", f"--data-file={data}"],
                          cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def function_line(name: str) -> int:
    """The line of ``return`` in ``name`` of PACKAGE."""
    lines = PACKAGE.splitlines()
    return lines.index(f"def {name}():") + 2


@pytest.fixture
def covsuite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A src-layout project whose tests each run one function; its wheel."""
    project = pytester.path / "project"
    (project / "src" / "covsuite").mkdir(parents=True)
    (project / "src" / "covsuite" / "__init__.py").write_text(PACKAGE)
    (project / "tests").mkdir()
    (project / "tests" / "test_fns.py").write_text(TESTS)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "covsuite"\nversion = "1.0"\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    wheel = make_wheel(pytester.path / "dist", "covsuite", "1.0",
                       files={"covsuite/__init__.py": PACKAGE})
    monkeypatch.chdir(project)
    return project, wheel


@pytest.mark.node
def test_a_crash_keeps_what_the_finished_tests_ran(covsuite: tuple[Path, Path],
                                                    harness: Harness) -> None:
    project, wheel = covsuite
    (project / "tests" / "test_zz_crash.py").write_text(CRASH)
    result = harness(f"--pyodide-wheel={wheel}", "--pyodide-runtime=node", "--pyodide-cov",
                     "--pyodide-max-restarts=0")
    result.assert_outcomes(passed=len(NAMES), failed=1)
    source = str(project / "src" / "covsuite" / "__init__.py")
    ran = lines_of(data_file(project, "node"))[source]  # no report dir: where pytest ran
    assert {function_line(f"f_{n}") for n in NAMES} <= ran, "data of finished tests was lost"
    assert "src/covsuite/__init__.py" in report(data_file(project, "node"), project)


@pytest.mark.node
def test_workers_and_shards_merge_into_the_union(covsuite: tuple[Path, Path], harness: Harness,
                                                  tmp_path: Path) -> None:
    project, wheel = covsuite
    shards = [tmp_path / "shard1", tmp_path / "shard2"]
    for index, report_dir in enumerate(shards, start=1):
        result = harness(f"--pyodide-wheel={wheel}", "--pyodide-runtime=node", "--pyodide-cov",
                         f"--pyodide-shard={index}/2", "--pyodide-workers=2",
                         f"--pyodide-report-dir={report_dir}")
        assert result.ret == 0, result.stdout.str()[-3000:]
        result.stdout.fnmatch_lines(["*= pyodide-harness coverage =*", "node *", "combined *"])
        (run,) = load_results(report_dir).packages[0].runtimes
        assert set(run.instances) == {"node", "node#2"}
    source = str(project / "src" / "covsuite" / "__init__.py")
    parts = [lines_of(data_file(s / "coverage", "node"))[source] for s in shards]
    assert parts[0] != parts[1], "each shard runs its own tests"
    assert cli.main(["merge", str(tmp_path / "merged"), *map(str, shards)]) == 0
    merged = lines_of(data_file(tmp_path / "merged" / "coverage", "node"))[source]
    assert merged == parts[0] | parts[1]
    assert {function_line(f"f_{n}") for n in NAMES} <= merged  # every test, whichever instance
    assert (tmp_path / "merged" / "coverage.html").is_file()


@pytest.mark.node
@pytest.mark.browser
def test_msgpack_coverage_in_all_three_runtimes(
    msgpack_sdist: tuple[Path, Path], harness: Harness, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    wheel, sdist = msgpack_sdist
    native = tmp_path / ".coverage"  # outside the sdist, which other tests ship into runtimes
    subprocess.run([sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={native}",
                    "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", "test/"],
                   cwd=sdist, capture_output=True, check=False)
    assert native.is_file()
    monkeypatch.chdir(sdist)
    report_dir = tmp_path / "report"
    result = harness(f"--pyodide-wheel={wheel}", "test/", "--pyodide-cov=msgpack",
                     f"--pyodide-report-dir={report_dir}", f"--pyodide-cov-compare={native}",
                     "-k", "not (timestamp and (chromium or firefox))")
    assert result.ret == 0, result.stdout.str()[-3000:]
    out = report_dir / "coverage"
    for runtime in (*RUNTIMES, COMBINED):
        text = report(data_file(out, runtime), sdist)
        assert "msgpack/ext.py" in text and "msgpack/__init__.py" in text, text
        assert "site-packages" not in text
    arcs = {runtime: arcs_of(data_file(out, runtime)) for runtime in (*RUNTIMES, COMBINED)}
    for path in arcs[COMBINED]:
        assert arcs[COMBINED][path] == set().union(*(arcs[r].get(path, set()) for r in RUNTIMES))
    ext = str(sdist / "msgpack" / "ext.py")
    only_node = arcs["node"][ext] - arcs["chromium"][ext] - arcs["firefox"][ext]
    assert only_node, "the timestamp tests ran in node only: their branches are node's alone"
    assert arcs["chromium"] == arcs["firefox"], "the same tests ran the same code"
    result.stdout.fnmatch_lines([
        "*= pyodide-harness coverage =*",
        "data *stmts*miss*branch*brpart*cover*natively only",
        *(f"{runtime} *" for runtime in RUNTIMES),
        "combined *",
        f"msgpack/_cmsgpack.cpython-314-wasm32-emscripten.so: {COMPILED}",
        # Python 3.14: coverage.py's pure wheel measures through sys.monitoring
        "measured in chromium, firefox, node with coverage.py 7.*, SysMonitor core",
    ])
    page = (report_dir / "coverage.html").read_text()
    assert "msgpack/fallback.py" in page.split("Ran natively, not in the runtime")[1], (
        "natively msgpack runs its pure-Python fallback, the runtimes the compiled extension")

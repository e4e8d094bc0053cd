"""Coverage inside the runtimes (``--pyodide-cov``), without booting one.

* the inner plugin's ``RuntimeCoverage`` on this host's Python: what each test ran is sent
  before the test finishes, once, and everything again at the end;
* the project's coverage config and sources as the runtime gets them;
* runtime paths mapped to the project's files (``src/``, flat, module), files only the
  wheel has, compiled modules, a native run's installed paths;
* data files per runtime written as data arrives, read back by coverage.py's own command
  line with the project's paths, combined to the union, compared with a native run, merged
  from shards; and the whole host side through pytest with scripted fake runtimes.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from coverage import CoverageData
from test_controller import FakeRuntime, Step
from test_session import BOOT, END, collected, passing, report
from wheelfactory import make_wheel

import pyodide_harness
from pyodide_harness import cli, covdata, covrecording, inputs, protocol, recording, session, terminal
from pyodide_harness.covdata import (
    COMBINED,
    COMPILED,
    CoverageStore,
    PathMap,
    data_file,
    find_config,
    merge,
    runtime_options,
    source_roots,
    summarize,
)
from pyodide_harness.distribution import Distribution
from pyodide_harness.hostplugins import COV
from pyodide_harness.inner.pyodide_harness_inner import CoverageOptions, InnerOptions
from pyodide_harness.preparation import Plan, PlannedInstance
from pyodide_harness.protocol import decode
from pyodide_harness.results import Results, save_results
from pyodide_harness.runners import RuntimeConfig, RuntimeJob
from pyodide_harness.settings import Settings
from pyodide_harness.target import PROJECT_DIR, SITE_PACKAGES
from pyodide_harness.testtree import TestTree
from pyodide_harness.wheels import WheelInfo, WheelIntake

PRELOADED = (inputs, recording, terminal, covrecording)  # see tests/test_session.py
INNER = Path(pyodide_harness.__file__).parent / "inner" / "pyodide_harness_inner.py"

PACKAGE = '''\
import sys


def pick(flag):
    if flag:
        return "yes"
    return "no"


def only_c():
    return "c"


def never():
    return "never"
'''


def coverage_report(data: Path, cwd: Path, *args: str) -> str:
    """coverage.py's own command line, as a user runs it in the project."""
    done = subprocess.run([sys.executable, "-m", "coverage", "report", f"--data-file={data}", *args],
                          cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def arcs_of(path: Path) -> dict[str, set[tuple[int, int]]]:
    data = CoverageData(basename=str(path))
    data.read()
    return {f: set(data.arcs(f) or ()) for f in data.measured_files()}


# -- inside the runtime (the inner plugin, on this host's Python) --------------------------------
def test_each_tests_new_data_is_sent_before_it_finishes(
    pytester: pytest.Pytester, inner: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = pytester.path / "site"
    (site / "covinner").mkdir(parents=True)
    (site / "covinner" / "__init__.py").write_text(PACKAGE)
    (site / "covinner" / "unused.py").write_text("X = 1\n")
    pytester.makepyfile(**{"tests/test_c": """
        import covinner

        def test_1():
            assert covinner.pick(True) == "yes"

        def test_2():
            assert covinner.pick(False) == "no"

        def test_3():
            assert covinner.pick(True) == "yes"
    """})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "covinner", raising=False)
    options = InnerOptions(runtime="node", rootdir=str(pytester.path), paths=("tests",),
                           args=("-q",), coverage=CoverageOptions(source_pkgs=("covinner",)))
    options = InnerOptions.from_json(json.loads(json.dumps(options.to_json())))  # as sent
    messages: list[str] = []
    inner.run(options, lambda e: messages.append(json.dumps(e, default=str)))
    monkeypatch.delitem(sys.modules, "covinner", raising=False)
    events = [decode(m) for m in messages]
    covered = [e for e in events if isinstance(e, protocol.CoverageMeasured)]
    assert covered and all(e.branch and not e.error for e in covered)
    *during, final = covered
    assert final.final and not any(e.final for e in during)
    assert final.measured_by.startswith("coverage.py ") and final.measured_by.endswith(" core")
    order = [type(e).__name__ for e in events
             if isinstance(e, protocol.CoverageMeasured | protocol.TestFinished)]
    # test_1 ran the import and one branch, test_2 the other, test_3 nothing new
    assert order[:6] == ["CoverageMeasured", "TestFinished", "CoverageMeasured", "TestFinished",
                         "TestFinished", "CoverageMeasured"], order
    init = str(site / "covinner" / "__init__.py")
    first, second = during
    assert str(site / "covinner" / "unused.py") in first.arcs  # measured, never run
    assert (5, 6) in first.arcs[init] and (5, 7) not in first.arcs[init]
    assert (5, 7) in second.arcs[init]
    assert not set(first.arcs[init]) & set(second.arcs[init]), "sent twice"
    assert set(final.arcs[init]) == set(first.arcs[init]) | set(second.arcs[init])


def test_a_failing_start_is_reported_and_the_tests_still_run(
    pytester: pytest.Pytester, inner: ModuleType
) -> None:
    pytester.makepyfile(**{"tests/test_ok": "def test_ok():\n    pass\n"})
    options = InnerOptions(runtime="node", rootdir=str(pytester.path), paths=("tests",),
                           coverage=CoverageOptions(source_pkgs=("x",), config_name=".coveragerc",
                                                    config_text="[run]\nplugins = not_a_plugin\n"))
    messages: list[str] = []
    status = inner.run(options, lambda e: messages.append(json.dumps(e, default=str)))
    assert status == 0
    (event,) = [decode(m) for m in messages if json.loads(m)["event"] == "coverage"]
    assert isinstance(event, protocol.CoverageMeasured)
    assert "coverage.py could not start" in event.error and "not_a_plugin" in event.error


def test_coverage_is_imported_only_when_asked_for() -> None:
    """The inner plugin runs where coverage.py may not be installed."""
    tree = ast.parse(INNER.read_text())
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
           for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert "coverage" not in top
    assert "import coverage" in INNER.read_text()


# -- what the runtime measures -------------------------------------------------------------------
def test_the_projects_config_travels_with_its_sources_and_omit_as_installed(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    pyproject = textwrap.dedent('''
        [tool.coverage.run]
        branch = false
        omit = ["src/pkg/_vendor/*", "*/generated.py"]
        [tool.coverage.report]
        exclude_lines = ["pragma: no cover"]
    ''')
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = pkg\n")  # no coverage settings
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"
    options = runtime_options([], tmp_path, tmp_path, ["pkg"], ["src/pkg/"])
    assert options.source_pkgs == ("pkg",) and options.source == ()
    assert options.branch is False
    assert options.omit == ("src/pkg/_vendor/*", "*/generated.py", f"{SITE_PACKAGES}/pkg/_vendor/*")
    assert (options.config_name, options.config_text) == ("pyproject.toml", pyproject)
    given = runtime_options(["src/pkg", "tests", "six"], tmp_path, tmp_path, ["pkg"], ["src/pkg/"])
    assert (given.source_pkgs, given.source) == (("pkg", "six"), ("tests",))
    (tmp_path / ".coveragerc").write_text("[run]\nomit = x\n")  # coverage.py reads it first
    assert find_config(tmp_path) == tmp_path / ".coveragerc"
    assert runtime_options([], tmp_path, tmp_path, ["pkg"], ["src/pkg/"]).branch is True


def test_source_roots_from_what_the_test_tree_left_out() -> None:
    assert source_roots(["pkg", "flat", "other"], ["src/pkg/", "flat.py", "docs/src/pkg/",
                                                    "flat.cpython-314-wasm32-emscripten.so"]) == {
        "pkg": "src", "flat": ""}


# -- runtime paths -> the project's files -----------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A src-layout project and its wheel, which has a generated file and a compiled module."""
    root = tmp_path / "project"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text(PACKAGE)
    (root / "src" / "pkg" / "mod.py").write_text("A = 1\n")
    (root / "flat.py").write_text("B = 2\n")
    wheel = make_wheel(tmp_path / "dist", "pkg", "1.0", files={
        "pkg/__init__.py": PACKAGE, "pkg/mod.py": "A = 1  # changed by the build\n",
        "pkg/_version.py": "version = '1.0'\n", "flat.py": "B = 2\n",
        "pkg/_speedups.cpython-314-wasm32-emscripten.so": b"\0asm"})
    return root, wheel


def test_runtime_paths_become_the_projects_files(project: tuple[Path, Path], tmp_path: Path) -> None:
    root, wheel = project
    paths = PathMap(root, ["pkg", "flat"], ["src/pkg/", "flat.py"], [wheel], tmp_path / "copies")
    assert paths(f"{SITE_PACKAGES}/pkg/__init__.py") == str(root / "src" / "pkg" / "__init__.py")
    assert paths(f"{SITE_PACKAGES}/flat.py") == str(root / "flat.py")
    assert paths(f"{PROJECT_DIR}/tests/conftest.py") == str(root / "tests" / "conftest.py")
    copy = Path(paths(f"{SITE_PACKAGES}/pkg/_version.py"))
    assert copy.read_text() == "version = '1.0'\n" and copy.is_relative_to(tmp_path / "copies")
    assert paths.notes[str(copy)] == covdata.WHEEL_ONLY.format(wheel=wheel.name)
    mod = paths(f"{SITE_PACKAGES}/pkg/mod.py")
    assert paths.notes[mod] == covdata.DIFFERS.format(wheel=wheel.name)
    assert str(root / "src" / "pkg" / "__init__.py") not in paths.notes
    assert paths(f"{SITE_PACKAGES}/elsewhere/x.py") == f"{SITE_PACKAGES}/elsewhere/x.py"
    assert paths.notes[f"{SITE_PACKAGES}/elsewhere/x.py"] == covdata.NOT_ON_HOST
    assert paths.compiled(["pkg"]) == ["pkg/_speedups.cpython-314-wasm32-emscripten.so"]
    # a native run of the installed package, and one of the checkout
    assert paths.native("/venv/lib/python3.11/site-packages/pkg/__init__.py") == str(
        root / "src" / "pkg" / "__init__.py")
    assert paths.native("src/pkg/mod.py") == str(root / "src" / "pkg" / "mod.py")


# -- data files ---------------------------------------------------------------------------------
IMPORT = [(-1, 1), (1, 4), (4, 10), (10, 14), (14, -1)]  # the module body of PACKAGE
PICK_YES = [(-4, 5), (5, 6), (6, -4)]
PICK_NO = [(-4, 5), (5, 7), (7, -4)]
ONLY_C = [(-10, 11), (11, -10)]


def test_data_files_per_runtime_read_by_coverage_with_the_projects_paths(
    project: tuple[Path, Path], tmp_path: Path
) -> None:
    root, wheel = project
    (root / "pyproject.toml").write_text('[tool.coverage.report]\nexclude_lines = ["def never"]\n')
    out = tmp_path / "report" / "coverage"
    paths = PathMap(root, ["pkg"], ["src/pkg/"], [wheel], out / "wheel")
    store = CoverageStore(out, paths)
    init = f"{SITE_PACKAGES}/pkg/__init__.py"
    store.add("node", True, {init: IMPORT + PICK_YES, f"{SITE_PACKAGES}/pkg/_version.py": []})
    store.add("node", True, {init: PICK_NO})  # node#2, or after a restart: the same file
    store.add("chromium", True, {init: IMPORT + PICK_YES + ONLY_C})
    files = store.close(find_config(root))
    assert files == [data_file(out, "chromium"), data_file(out, "node"), data_file(out, COMBINED)]
    report = coverage_report(files[1], root, "-m")
    assert "src/pkg/__init__.py" in report and "_version.py" in report
    assert "11" in report.split("src/pkg/__init__.py")[1].splitlines()[0]  # only_c: missing here
    chromium, node, combined = (arcs_of(f) for f in files)
    here = str(root / "src" / "pkg" / "__init__.py")
    assert set(ONLY_C) <= chromium[here] and not set(ONLY_C) & node[here]
    assert combined[here] == node[here] | chromium[here]
    summary = summarize("node", files[1], find_config(root), root, paths.notes)
    by_path = {f.path: f for f in summary.files}
    assert by_path["src/pkg/__init__.py"].missing == "11"  # "def never" excluded by the config
    assert summary.branches == 2 and summary.partial == 0
    # a native run that ran only_c: the lines it ran that node did not
    native = tmp_path / ".coverage"
    data = CoverageData(basename=str(native))
    data.add_lines({"/venv/lib/python3.11/site-packages/pkg/__init__.py": [1, 4, 10, 11]})
    data.close()
    covdata.compare(summary, covdata.native_lines(native, paths))
    assert by_path["src/pkg/__init__.py"].native_only == "11" and summary.native_only == 1


def test_shards_merge_into_the_union(project: tuple[Path, Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root, wheel = project
    init = f"{SITE_PACKAGES}/pkg/__init__.py"
    shards = []
    for index, ran in enumerate((PICK_YES, PICK_NO + ONLY_C), start=1):
        report = tmp_path / f"shard{index}"
        out = report / "coverage"
        store = CoverageStore(out, PathMap(root, ["pkg"], ["src/pkg/"], [wheel], out / "wheel"))
        store.add("node", True, {init: IMPORT + ran, f"{SITE_PACKAGES}/pkg/_version.py": [(-1, 1)]})
        store.close(find_config(root))
        save_results(Results(), report / "results.json")
        shards.append(report)
    monkeypatch.chdir(root)
    assert cli.main(["merge", str(tmp_path / "merged"), *map(str, shards)]) == 0
    merged = tmp_path / "merged"
    node = arcs_of(data_file(merged / "coverage", "node"))
    parts = [arcs_of(data_file(s / "coverage", "node")) for s in shards]
    here = str(root / "src" / "pkg" / "__init__.py")
    assert node[here] == parts[0][here] | parts[1][here]
    (version,) = [f for f in node if f.endswith("_version.py")]
    assert version.startswith(str((merged / "coverage" / "wheel").resolve()))
    assert Path(version).is_file()
    assert (merged / "coverage.html").is_file()
    coverage_report(data_file(merged / "coverage", COMBINED), root)
    summaries, _ = merge(shards, tmp_path / "again", root)
    assert [s.name for s in summaries] == ["node", COMBINED]


# -- the host side through pytest, with scripted runtimes ----------------------------------------
def cov(*pairs: tuple[str, list[tuple[int, int]]], final: bool = False) -> protocol.CoverageMeasured:
    return protocol.CoverageMeasured(True, arcs={f"{SITE_PACKAGES}/demo/{name}": list(items)
                                                 for name, items in pairs}, final=final)


A, B, C = (f"tests/test_s.py::test_{n}" for n in "abc")


@pytest.fixture
def fake_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
                 ) -> dict[str, FakeRuntime]:
    """A src-layout project of ``demo`` and fake runtimes (filled in by each test)."""
    (pytester.path / "src" / "demo").mkdir(parents=True)
    (pytester.path / "src" / "demo" / "__init__.py").write_text(PACKAGE)
    wheel = make_wheel(pytester.path / "dist", "demo", "1.0", files={
        "demo/__init__.py": PACKAGE, "demo/_speedups.cpython-314-wasm32-emscripten.so": b"\0asm"})
    runtimes: dict[str, FakeRuntime] = {}
    info = WheelInfo(path=wheel, name="demo", version="1.0", tags=frozenset({"py3-none-any"}),
                     extras=(), requires_dist=(), top_level=("demo",), sha256="0" * 64, is_pure=True)

    def check_inputs(config: pytest.Config, settings: Settings) -> WheelIntake:
        return WheelIntake(wheels=(info,), skipped=())

    def prepare(config: pytest.Config, settings: Settings, intake: WheelIntake, say: Any) -> Plan:
        options = InnerOptions(runtime="", rootdir="/", coverage=CoverageOptions(source_pkgs=("demo",)))
        instances = tuple(
            PlannedInstance(name, name, RuntimeJob(
                distribution=pytester.path, wheels=(), archive=pytester.path, inner=pytester.path,
                options=options, workdir=pytester.path / name))
            for name in settings.runtimes)
        return Plan(wheels=intake.wheels, distribution=Distribution(pytester.path, "314.0.7", "test"),
                    dependencies=(), tree=TestTree(pytester.path / "t.zip", 1, 1, ("src/demo/",)),
                    instances=instances, runtime_config=RuntimeConfig(),
                    workdir=pytester.path / "work")

    monkeypatch.setattr(inputs, "check_inputs", check_inputs)
    monkeypatch.setattr(session, "prepare", prepare)
    monkeypatch.setattr(session, "create", lambda name, config: runtimes[name])
    return runtimes


def run_fake(pytester: pytest.Pytester, *args: str, runtimes: Sequence[str]) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--pyodide-wheel=demo.whl", "--pyodide-cov",
                              "--pyodide-report-dir=report",
                              *(f"--pyodide-runtime={r}" for r in runtimes), *args)


def test_each_runtimes_data_file_keeps_what_ran_before_a_crash(
    pytester: pytest.Pytester, fake_project: dict[str, FakeRuntime]
) -> None:
    """node crashes in test B after test A sent its data; the restarted session runs C (and
    never sends A's data again); chromium runs only_c alone."""
    crash: list[Step] = [*BOOT, collected(A, B, C), cov(("__init__.py", IMPORT + PICK_YES)),
                         *passing(A), protocol.TestStarted(B), report(B, "setup"),
                         protocol.Crashed("node exited unexpectedly (code=7)", "killed")]
    resumed: list[Step] = [*BOOT, collected(C), cov(("__init__.py", IMPORT + PICK_NO)), *passing(C),
                           cov(("__init__.py", IMPORT + PICK_NO), final=True), *END]
    fake_project["node"] = FakeRuntime("node", crash, resumed)
    fake_project["chromium"] = FakeRuntime("chromium", [
        *BOOT, collected(A, B, C), cov(("__init__.py", IMPORT + ONLY_C)), *passing(A), *passing(B),
        *passing(C), cov(("__init__.py", IMPORT + ONLY_C), final=True), *END])
    result = run_fake(pytester, runtimes=("node", "chromium"))
    result.assert_outcomes(passed=5, failed=1)
    out = pytester.path / "report" / "coverage"
    node, chromium, combined = (arcs_of(data_file(out, r)) for r in ("node", "chromium", COMBINED))
    here = str(pytester.path / "src" / "demo" / "__init__.py")
    assert set(PICK_YES) <= node[here], "what test A ran before the crash was lost"
    assert set(PICK_NO) <= node[here] and not set(ONLY_C) & node[here]
    assert set(ONLY_C) <= chromium[here] and not set(PICK_YES) & chromium[here]
    assert combined[here] == node[here] | chromium[here]
    result.stdout.fnmatch_lines([
        "*= pyodide-harness coverage =*",
        "data *stmts*miss*branch*brpart*cover",
        "chromium *",
        "node *",
        "combined *",
        f"demo/_speedups.cpython-314-wasm32-emscripten.so: {COMPILED}",
        "coverage data in report/coverage: .coverage.pyodide-chromium, .coverage.pyodide-node, "
        ".coverage.pyodide (read with: coverage report "
        "--data-file=report/coverage/.coverage.pyodide)",
    ])
    page = (pytester.path / "report" / "coverage.html").read_text()
    assert "src/demo/__init__.py" in page and "chromium" in page
    summary = json.loads((out / "coverage.json").read_text())
    assert [d["name"] for d in summary["data"]] == ["chromium", "node", COMBINED]


def test_cov_of_pytest_cov_names_the_harness_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--pyodide-wheel=demo.whl", "--cov=demo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--pyodide-cov" in COV
    result.stderr.fnmatch_lines(["*" + COV.format(option="--cov")[:70] + "*"])


def test_compare_needs_coverage(pytester: pytest.Pytester, fake_project: dict[str, FakeRuntime]) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--pyodide-wheel=demo.whl",
                                "--pyodide-cov-compare=.coverage")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*" + covdata.COMPARE_WITHOUT_COV.format(path="*.coverage")[:40] + "*"])


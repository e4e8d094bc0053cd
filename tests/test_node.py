"""End to end on real Node 24 + Pyodide 314: what a maintainer sees from `pytest --pyodide-wheel`."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtureproject import EXPECTED, PACKAGE, build_project
from wheelfactory import make_wheel

from pyodide_harness.availability import ADD_IT, BUILD_IT
from pyodide_harness.reportdir import load_results
from pyodide_harness.synthesis import PACKAGE_SHADOWED
from pyodide_harness.wheelargs import RERUN_NOTE

pytestmark = pytest.mark.node

Run = Callable[..., pytest.RunResult]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    project, wheel = build_project(pytester.path)
    monkeypatch.chdir(project)
    return project, wheel


def test_native_run_of_the_fixture_suite_matches_expected(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """The reference: the same suite run by plain pytest against the wheel's code."""
    project, wheel = build_project(tmp_path)
    shutil.rmtree(project / PACKAGE)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    result = pytester.runpytest_subprocess(str(project / "tests"), "-p", "no:cacheprovider",
                                           "-o", f"pythonpath={site}", f"--rootdir={project}")
    result.assert_outcomes(**EXPECTED)


def test_fixture_suite_outcomes_come_back_exactly(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(**EXPECTED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*left out harnessdemo/*",
        "*node: Node v2*, Pyodide 314.0.7, JSPI on*",
        "=*= pyodide-harness runtimes =*=",
        "runtime *version *Pyodide *passed *failed *error *skipped *xfailed *xpassed *boot *total",
        "node *Node v2* *314.0.7 *7 *2 *2 *1 *1 *1 *s *s",
    ])
    for line in [  # the short summary, in pytest's order (-rA, 80 columns)
        "Captured stdout call",
        "captured output from the failing test",
        "SKIPPED [[]1[]] tests/test_demo.py:*: skipped on purpose",
        "XFAIL tests/test_demo.py::test_xfail[[]node[]] - known bug",
        "XPASS tests/test_demo.py::test_xpass[[]node[]]*",
        "ERROR tests/test_demo.py::test_setup_error[[]node[]] - RuntimeError: fixture*",
        "ERROR tests/test_demo.py::test_teardown_error[[]node[]] - RuntimeError: teard*",
        "FAILED tests/test_demo.py::test_raises[[]node[]] - ValueError: boom",
    ]:
        result.stdout.fnmatch_lines(["*" + line + "*"] if "Captured" in line else [line])


def test_verbose_items_carry_runtime_and_junit_lists_them(
    project: tuple[Path, Path], run: Run, tmp_path: Path
) -> None:
    _, wheel = project
    junit = tmp_path / "junit.xml"
    result = run(f"--pyodide-wheel={wheel}", "-v", f"--junitxml={junit}", "-k", "test_add or param")
    result.stdout.fnmatch_lines([
        "tests/test_demo.py::test_add[[]node[]] PASSED*",
        "tests/test_demo.py::test_param[[]1-1-2-node[]] PASSED*",
        "tests/test_demo.py::test_param[[]2-2-4-node[]] PASSED*",
    ])
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    names = sorted(tc.get("name", "") for tc in ET.parse(junit).getroot().iter("testcase"))
    assert names == ["test_add[node]", "test_param[1-1-2-node]", "test_param[2-2-4-node]"]


def test_keyword_selects_by_runtime_name(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    selected = run(f"--pyodide-wheel={wheel}", "-k", "node and test_fixture")
    selected.assert_outcomes(passed=1)
    none = run(f"--pyodide-wheel={wheel}", "-k", "chromium")
    assert none.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    none.stdout.fnmatch_lines(["*deselected*"])


def test_marker_expression_applies_inside(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    result = run(f"--pyodide-wheel={wheel}", "-m", "xfail")
    result.assert_outcomes(xfailed=1, xpassed=1)


def test_exitfirst_stops_at_first_failure(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    result = run(f"--pyodide-wheel={wheel}", "-x")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1
    assert outcomes.get("passed", 0) < EXPECTED["passed"]
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_refused_wheel_is_a_usage_error(project: tuple[Path, Path], run: Run) -> None:
    root, _ = project
    bad = make_wheel(root / "dist313", PACKAGE, "1.0", tag="cp313-cp313-pyemscripten_2026_0_wasm32")
    result = run(f"--pyodide-wheel={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*harnessdemo-1.0-cp313-cp313-pyemscripten_2026_0_wasm32.whl*"])
    assert "cp314" in result.stderr.str()


def test_collection_error_inside_is_reported(project: tuple[Path, Path], run: Run) -> None:
    root, wheel = project
    (root / "tests" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    result = run(f"--pyodide-wheel={wheel}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting tests/test_broken.py[[]node[]]*", "*SyntaxError*"])


def test_shadowing_source_fails_loudly(project: tuple[Path, Path], run: Run) -> None:
    """A conftest that puts a source copy first on sys.path must not go unnoticed."""
    root, wheel = project
    (root / "tests" / "conftest.py").write_text(
        (root / "tests" / "conftest.py").read_text()
        + "\nimport sys, tempfile, pathlib\n"
        "_d = pathlib.Path(tempfile.mkdtemp())\n"
        f"(_d / '{PACKAGE}.py').write_text('WHERE = \"shadow\"\\ndef add(a, b): return 0')\n"
        "sys.path.insert(0, str(_d))\n"
    )
    result = run(f"--pyodide-wheel={wheel}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    expected = PACKAGE_SHADOWED.split("{file}")[0].format(runtime="node", name=PACKAGE)
    assert expected in result.stdout.str()


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A loopback TCP server that answers b'pong' once per connection."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(16)
                conn.sendall(b"pong")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()


def test_node_sockets_reach_real_tcp_and_uncaught_errors_fail_one_test(
    project: tuple[Path, Path], run: Run, tcp_server: int
) -> None:
    root, wheel = project
    (root / "data" / "port.txt").write_text(str(tcp_server))
    (root / "tests" / "test_demo.py").unlink()
    (root / "tests" / "test_net.py").write_text(
        "import socket\nfrom pathlib import Path\n"
        "PORT = int((Path(__file__).parent.parent / 'data' / 'port.txt').read_text())\n"
        "def test_real_tcp():\n"
        "    with socket.create_connection(('127.0.0.1', PORT), timeout=10) as s:\n"
        "        s.sendall(b'ping')\n"
        "        assert s.recv(4) == b'pong'\n"
        "def test_uncaught_socket_error():\n"
        "    from pyodide.code import run_js\n"
        "    from pyodide.ffi import run_sync\n"
        "    run_js(\"process.getBuiltinModule('net').connect(1, '127.0.0.1')\")\n"
        "    run_sync(run_js('new Promise(r => setTimeout(r, 500))'))\n"
        "def test_after_the_error_still_runs():\n"
        "    assert True\n"
    )
    result = run(f"--pyodide-wheel={wheel}", "-rA")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "PASSED tests/test_net.py::test_real_tcp[[]node[]]",
        "PASSED tests/test_net.py::test_after_the_error_still_runs[[]node[]]",
        "FAILED tests/test_net.py::test_uncaught_socket_error[[]node[]] - RuntimeError: u*",
    ])
    result.stdout.fnmatch_lines(["*RuntimeError: uncaught JavaScript error in node during this test:*"])
    assert re.search(r"ECONNREFUSED", result.stdout.str())


def test_dependencies_resolved_with_pyodide_markers(
    project: tuple[Path, Path], run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requires-Dist is installed; a dependency only for x86_64 is not (pip would pick it)."""
    root, _ = project
    index = root.parent / "index"
    make_wheel(index, "depdemo", "2.0", files={"depdemo.py": "VALUE = 'dep'\n"})
    wheel = make_wheel(
        root.parent / "dist2", PACKAGE, "1.0",
        files={f"{PACKAGE}/__init__.py": "WHERE = 'wheel'\ndef add(a, b): return a + b\n"},
        requires_dist=["depdemo>=2", "depnative; platform_machine == 'x86_64'"],
    )
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    (root / "tests" / "test_demo.py").write_text(
        "import importlib.util\n"
        "def test_dep():\n    import depdemo\n    assert depdemo.VALUE == 'dep'\n"
        "def test_no_native():\n    assert importlib.util.find_spec('depnative') is None\n"
    )
    result = run(f"--pyodide-wheel={wheel}")
    result.assert_outcomes(passed=2)


def test_msgpack_real_wheel_and_suite(
    msgpack_sdist: tuple[Path, Path], run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wheel, sdist = msgpack_sdist
    monkeypatch.chdir(sdist)
    junit = tmp_path / "junit.xml"
    result = run(f"--pyodide-wheel={wheel}", "test/", "-v", f"--junitxml={junit}")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*left out msgpack/*", "test/test_*.py::*[[]node[]] PASSED*"])
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] > 50
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == sum(outcomes.get(k, 0) for k in ("passed", "skipped", "xfailed"))
    assert all(c.get("name", "").endswith(("[node]", "-node]")) for c in cases)
    result.stdout.fnmatch_lines(
        ["*node: msgpack imported from /lib/python3.14/site-packages/msgpack/__init__.py*"]
    )


def test_workers_share_the_suite_and_keep_every_outcome(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    result = run(f"--pyodide-wheel={wheel}", "--pyodide-workers=2", "--pyodide-report-dir=report")
    result.assert_outcomes(**EXPECTED)
    (node,) = load_results(Path("report")).packages[0].runtimes
    assert sorted(node.instances) == ["node", "node#2"]  # both booted
    assert sum(node.instances.values()) == 13  # every test once, by one of them


def test_node_id_copied_from_the_output_reruns_that_test(project: tuple[Path, Path], run: Run) -> None:
    _, wheel = project
    result = run(f"--pyodide-wheel={wheel}", "tests/test_demo.py::test_raises[node]",
                 "--pyodide-runtime=node,chromium")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*chromium: nothing selected by the given node ids; not started*"])


@pytest.mark.network
def test_a_missing_test_dependency_is_named_with_its_fix(
    suite: Callable[..., Path], run: Run
) -> None:
    """A conftest importing a pure-Python package the suite did not declare, and a test
    module importing one nobody publishes: each is named with who imported it, whether a
    wheel exists, and the option that adds it."""
    wheel = suite({
        "tests/conftest.py": "import six\n",
        "tests/test_a.py": "def test_a():\n    pass\n",
    })
    result = run(f"--pyodide-wheel={wheel}")
    assert result.ret != pytest.ExitCode.OK
    out = " ".join(result.stdout.str().split())
    assert "Module 'six' could not be imported inside Pyodide (imported by " in out
    assert "tests/conftest.py)" in out
    assert "has a pure-Python wheel Pyodide 314 can install" in out
    assert ADD_IT.format(project="six") in out

    Path("tests/conftest.py").write_text("")
    Path("tests/test_b.py").write_text("import no_such_module_anywhere_xyz\n")
    result = run(f"--pyodide-wheel={wheel}")
    out = " ".join(result.stdout.str().split())
    assert "Module 'no_such_module_anywhere_xyz' could not be imported inside Pyodide" in out
    assert "tests/test_b.py)" in out
    assert "The index has no wheel of no_such_module_anywhere_xyz" in out
    assert " ".join(BUILD_IT.format(module="no_such_module_anywhere_xyz").split()) in out


def test_a_wheel_outside_the_project_given_with_a_space_keeps_the_projects_rootdir(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cd sdist && pytest --pyodide-wheel ../wheelhouse/x.whl tests``: pytest picks its
    rootdir before plugins load, from positional arguments, and took the wheel for one; the
    harness runs pytest again with ``=``, so the rootdir is the one of a plain ``pytest tests``
    (here sdist/, found by its setup.py: no config file at all, as in many sdists)."""
    root = pytester.path
    wheel = make_wheel(root / "wheelhouse", PACKAGE, "1.0",
                       files={f"{PACKAGE}/__init__.py": "WHERE = 'wheel'\n"})
    sdist = root / "sdist"
    (sdist / "tests").mkdir(parents=True)
    (sdist / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (sdist / "tests" / "conftest.py").write_text(
        "def pytest_addoption(parser):\n    parser.addoption('--runslow', action='store_true')\n")
    (sdist / "tests" / "test_where.py").write_text(
        "import os\n\ndef test_rootdir(pytestconfig):\n"
        "    assert pytestconfig.getoption('runslow')\n"
        "    assert os.path.exists(os.path.join(str(pytestconfig.rootpath), 'setup.py'))\n")
    monkeypatch.chdir(sdist)
    result = run("--pyodide-wheel", f"../wheelhouse/{wheel.name}", "tests", "--runslow")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"rootdir: {sdist}"])
    assert RERUN_NOTE.split("{")[0] in result.stderr.str()


def test_testpaths_naming_the_package_source_runs_like_pytest(
    suite: Callable[..., Path], run: Run
) -> None:
    """sortedcontainers: ``testpaths = docs sortedcontainers tests``. The package source is
    left out of the test tree (it would shadow the wheel); natively pytest drops a testpaths
    entry that does not exist, and so does the runtime's pytest."""
    wheel = suite({"tests/test_a.py": "def test_a():\n    pass\n",
                   f"{PACKAGE}/__init__.py": "WHERE = 'source'\n"})
    Path("pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\ntestpaths = ["{PACKAGE}", "tests"]\n')
    result = run(f"--pyodide-wheel={wheel}")
    result.assert_outcomes(passed=1)


def test_a_suite_shipped_inside_the_package_runs_with_pyargs(pytester: pytest.Pytester, run: Run,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """bitarray, numpy and others keep their tests in the package: --pyargs runs them from
    the installed wheel, while the source copy of the package stays out of the test tree."""
    files = {f"{PACKAGE}/__init__.py": "WHERE = 'wheel'\n",
             f"{PACKAGE}/tests/__init__.py": "",
             f"{PACKAGE}/tests/test_inside.py":
                 "import harnessdemo\n\ndef test_from_the_wheel():\n"
                 "    assert 'site-packages' in harnessdemo.__file__\n"}
    wheel = make_wheel(pytester.path / "dist", PACKAGE, "1.0", files=files)
    project = pytester.path / "sdist"
    for name in files:  # the sdist holds the same files: they must not be used
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("raise ImportError('the source copy')\n")
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\n')
    monkeypatch.chdir(project)
    result = run(f"--pyodide-wheel={wheel}", "--pyargs", PACKAGE, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_inside.py::test_from_the_wheel[[]node[]] PASSED*"])


def test_the_last_runs_report_dir_stays_out_of_the_test_tree(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite({"tests/test_a.py": "def test_a():\n    pass\n"})
    for _ in range(2):
        result = run(f"--pyodide-wheel={wheel}", "--pyodide-report-dir=report")
        result.assert_outcomes(passed=1)
    assert Path("report/index.html").is_file()
    result.stdout.fnmatch_lines(["*test tree: left out report/: an output of this run*"])

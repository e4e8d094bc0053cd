"""benchmarks/corpus.py: native outcomes from JUnit, harness outcomes from results.json,
the differences between them, their causes and the exit status.

Nothing here downloads or boots a runtime: the native side is a real pytest run (with
the corpus's node-id plugin) of a suite built here, the harness side a results.json
written with the harness's own results model, and the command is driven with
``--reanalyze`` on a work dir laid out as a run leaves it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pyodide_harness.results import PackageRun, Results, RuntimeRun, TestResult, save_results

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from corpuskit.causes import RULES, Explanation, Rule, explain  # noqa: E402
from corpuskit.fetch import cached_wheel, unpack  # noqa: E402
from corpuskit.outcomes import (  # noqa: E402
    Counts,
    Difference,
    RuntimeOutcome,
    Test,
    differences,
    normalize_nodeid,
    read_junit,
)


@pytest.fixture(scope="module")
def corpus() -> Iterator[ModuleType]:
    """benchmarks/corpus.py as a module (it puts benchmarks/ on sys.path for corpuskit)."""
    spec = importlib.util.spec_from_file_location("corpus_script", BENCHMARKS / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_script"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("corpus_script", None)


# --- native side: JUnit XML with node ids -----------------------------------------------------

NATIVE_SUITE = {
    "tests/test_a.py": """
import pytest

def test_pass():
    pass

def test_fail():
    assert 1 == 2

def test_skip():
    pytest.skip("no network here")

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_setup_error(broken):
    pass

class TestKlass:
    @pytest.mark.parametrize("x", ["a.b", "c/d"])
    def test_param(self, x):
        pass
""",
    "tests/test_broken.py": "import no_such_module_anywhere\n",
}


def test_native_junit_gives_every_outcome_by_node_id(corpus: ModuleType, pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:

    for name, text in NATIVE_SUITE.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(corpus.NATIVE_PLUGIN_DIR))
    xml = pytester.path / "native.xml"
    pytester.runpytest("-p", "corpus_nodeids", "-p", "no:asyncio", f"--junitxml={xml}",
                       "--continue-on-collection-errors", "tests")
    tests = read_junit(xml)
    outcomes = {nodeid: t.outcome for nodeid, t in tests.items()}
    assert outcomes == {
        "tests/test_a.py::test_pass": "passed",
        "tests/test_a.py::test_fail": "failed",
        "tests/test_a.py::test_skip": "skipped",
        "tests/test_a.py::test_xfail": "xfailed",
        "tests/test_a.py::test_setup_error": "error",
        "tests/test_a.py::TestKlass::test_param[a.b]": "passed",
        "tests/test_a.py::TestKlass::test_param[c/d]": "passed",
        "tests/test_broken.py": "error",
    }
    assert "no_such_module_anywhere" in tests["tests/test_broken.py"].longrepr
    assert tests["tests/test_a.py::test_skip"].message == "no network here"
    assert "assert 1 == 2" in tests["tests/test_a.py::test_fail"].longrepr
    assert Counts.of(tests.values()).cell() == "3/1/2/2"


def test_installed_suites_compare_by_their_path_inside_site_packages() -> None:

    host = "../../venvs/x/lib/python3.11/site-packages/bitarray/test_util.py::T::test_x[site-packages/]"
    runtime = "/lib/python3.14/site-packages/bitarray/test_util.py::T::test_x[site-packages/]"
    assert normalize_nodeid(host) == normalize_nodeid(runtime) == \
        "bitarray/test_util.py::T::test_x[site-packages/]"
    assert normalize_nodeid("tests/test_x.py::test_y") == "tests/test_x.py::test_y"


# --- differences and causes --------------------------------------------------------------------

SOCKETPAIR_FAILURE = """\
    def test_basic_nonblocking():
>       x, y = socket.socketpair()

tests/test_socketutils.py:187:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def _fallback_socketpair(family=AF_INET, type=SOCK_STREAM, proto=0):
        if family == AF_INET:
            host = _LOCALHOST
        elif family == AF_INET6:
            host = _LOCALHOST_V6
        lsock = socket(family, type, proto)
        try:
>           lsock.bind((host, 0))
E           OSError: [Errno 138] Not supported

/lib/python314.zip/socket.py:621: OSError"""


def _test(nodeid: str, outcome: str, message: str = "", longrepr: str = "") -> Test:
    return Test(nodeid, outcome, message, longrepr)


def test_differences_are_outcome_changes_and_tests_one_side_lacks(corpus: ModuleType) -> None:

    native = {t.nodeid: t for t in [
        _test("t.py::same", "passed"), _test("t.py::xpass", "passed"), _test("t.py::worse", "passed"),
        _test("t.py::only_native", "passed"), _test("t.py::skip", "skipped")]}
    runtime = RuntimeOutcome("node", {t.nodeid: t for t in [
        _test("t.py::same", "passed"), _test("t.py::xpass", "xpassed"), _test("t.py::worse", "failed"),
        _test("t.py::only_runtime", "passed"), _test("t.py::skip", "xfailed")]}, (), {})
    found = {d.nodeid: (d.native.outcome if d.native else None, d.result.outcome if d.result else None)
             for d in differences(native, runtime)}
    assert found == {"t.py::worse": ("passed", "failed"), "t.py::only_native": ("passed", None),
                     "t.py::only_runtime": (None, "passed"), "t.py::skip": ("skipped", "xfailed")}


IPV6_FAILURE = ("boltons.urlutils.URLParseError: invalid IPv6 host: '::1' "
                "(OSError(\"can't use AF_INET6, IPv6 is disabled\"))")


@pytest.mark.parametrize(("message", "longrepr", "cause", "evidence"), [
    # The exception decides, not a source line that mentions AF_INET6; the statement that
    # raised is shown with it.
    ("OSError: [Errno 138] Not supported", SOCKETPAIR_FAILURE, "sockets (listen/accept/connect)",
     "OSError: [Errno 138] Not supported at `x, y = socket.socketpair()`"),
    (IPV6_FAILURE, "", "IPv6", IPV6_FAILURE),
    ("RuntimeError: can't start new thread", "", "threads", "RuntimeError: can't start new thread"),
    ("ModuleNotFoundError: No module named '_multiprocessing'", "", "missing stdlib module _multiprocessing",
     "ModuleNotFoundError: No module named '_multiprocessing'"),
    # six skips its dbm.ndbm test with this reason where Python has no _dbm (Pyodide; not
    # Debian's Python, which has it)
    ("requires ndbm", "", "missing stdlib module ndbm", "requires ndbm"),
    ("node failed fatally (Pyodide fatal error: RangeError: Maximum call stack size exceeded)", "",
     "memory and recursion limits",
     "node failed fatally (Pyodide fatal error: RangeError: Maximum call stack size exceeded)"),
    ("firefox failed fatally (Pyodide fatal error: InternalError: too much recursion)", "",
     "memory and recursion limits",
     "firefox failed fatally (Pyodide fatal error: InternalError: too much recursion)"),
    ("zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key America/New_York'", "",
     "time zones (no zoneinfo data, no tzset)",
     "zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key America/New_York'"),
    ("AssertionError: assert 3 == 4", "", "UNEXPLAINED", "AssertionError: assert 3 == 4"),
])
def test_the_worse_runtime_outcome_is_explained_by_the_first_matching_rule(
        corpus: ModuleType, message: str, longrepr: str, cause: str, evidence: str) -> None:
    diff = Difference("t.py::t", "node", _test("t.py::t", "passed"),
                      _test("t.py::t", "failed", message, longrepr))
    why = explain(diff)
    assert (why.cause, why.evidence) == (cause, evidence)
    assert why.explained == (cause != "UNEXPLAINED")


def test_a_test_the_runtime_never_collected_takes_its_module_collection_error(corpus: ModuleType) -> None:
    broken = _test("tests/test_mp.py", "error", "ModuleNotFoundError: No module named '_multiprocessing'")
    diff = Difference("tests/test_mp.py::test_pool", "firefox",
                      _test("tests/test_mp.py::test_pool", "passed"), None)
    assert explain(diff).cause == "UNEXPLAINED"
    assert explain(diff, {"tests/test_mp.py": broken}).cause == \
        "missing stdlib module _multiprocessing"


def test_a_test_that_did_worse_natively_is_explained_from_the_native_side(corpus: ModuleType) -> None:
    diff = Difference("t.py::t", "node",
                      _test("t.py::t", "failed", "FileNotFoundError: [Errno 2] No such file: 'pyright'"),
                      _test("t.py::t", "passed"))
    assert explain(diff).cause == "UNEXPLAINED"  # runtime-side rules never read the native text
    host_tool = Rule("host tool missing natively", r"No such file: '(pyright)'", side="native")
    assert explain(diff, rules=(*RULES, host_tool)).cause == "host tool missing natively"


def test_a_test_only_one_side_collected_is_explained_only_by_rules_that_read_node_ids(
        corpus: ModuleType) -> None:
    # six parametrizes over urllib.request's openers; Python 3.14 removed two of them.
    removed = Difference("test_six.py::test_move_items_urllib_request[FancyURLopener]", "node",
                         _test("test_six.py::test_move_items_urllib_request[FancyURLopener]", "passed"),
                         None)
    assert explain(removed).cause == "Python 3.14 removed it (the native Python is older)"
    # An id that merely mentions threads says nothing about why the runtime lacks the test.
    vanished = Difference("tests/test_thread_pool.py::test_start", "node",
                          _test("tests/test_thread_pool.py::test_start", "passed"), None)
    assert explain(vanished) == Explanation("UNEXPLAINED", "not collected in the runtime")


def test_a_skip_location_is_not_a_reason(corpus: ModuleType) -> None:
    """A native skip's text starts with its file, inside the venv's python3.11 directory."""
    nodeid = "test_bitarray.py::MiscTests::test_overflow_32bit"
    location = "/tmp/venvs/x/lib/python3.11/site-packages/bitarray/test_bitarray.py:1784: "
    diff = Difference(nodeid, "node",
                      _test(nodeid, "skipped", "test requires 32-bit", location + "test requires 32-bit"),
                      _test(nodeid, "passed"))
    assert explain(diff).cause == "32-bit platform (wasm32)"
    diff = Difference(nodeid, "node", _test(nodeid, "skipped", "no reason", location + "no reason"),
                      _test(nodeid, "passed"))
    assert explain(diff).cause == "UNEXPLAINED"


# --- the command, on a work dir as a run leaves it ---------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_x" name="test_ok"><properties>
<property name="corpus.nodeid" value="tests/test_x.py::test_ok"/></properties></testcase>
<testcase classname="tests.test_x" name="test_thread"><properties>
<property name="corpus.nodeid" value="tests/test_x.py::test_thread"/></properties></testcase>
</testsuite></testsuites>"""


def _workdir(tmp_path: Path, corpus: ModuleType, runtime_failure: str | None,
             runtimes: tuple[str, ...] = ("node",)) -> Path:
    """msgpack's outputs as a run leaves them; test_thread fails in each runtime with *runtime_failure*."""
    package = corpus.PACKAGES[0]
    out = tmp_path / "out" / package.slug
    out.mkdir(parents=True)
    (out / corpus.RUN_RECORD).write_text(json.dumps({
        "wheel": "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "kind": "wasm",
        "suite": "sdist msgpack-1.2.4.tar.gz", "harness_command": "python -m pytest ...",
        "harness_exit": 1, "native_exit": 0, "seconds": {"native": 3.0, "harness": 30.0}}))
    (out / corpus.NATIVE_XML).write_text(JUNIT)
    if runtime_failure is not None:
        runs = [RuntimeRun(runtime, {"pyodide_version": "314.0.7", "runtime_version": runtime}, [
            TestResult("tests/test_x.py::test_ok", "passed", "call", 0.1),
            TestResult("tests/test_x.py::test_thread", "failed", "call", 0.1,
                       longrepr=f"E   {runtime_failure}", message=runtime_failure),
        ]) for runtime in runtimes]
        save_results(Results([PackageRun("msgpack", "1.2.4", "x.whl", "0" * 64, runtimes=runs)]),
                     out / corpus.HARNESS_REPORT / "results.json")
    return tmp_path


def _main(corpus: ModuleType, workdir: Path, capsys: pytest.CaptureFixture[str],
          *args: str) -> tuple[int, str]:
    rc = corpus.main(["--reanalyze", "--packages", "msgpack", f"--workdir={workdir}", *args])
    return rc, capsys.readouterr().out


def test_explained_differences_pass_and_are_listed(corpus: ModuleType, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    workdir = _workdir(tmp_path, corpus, "RuntimeError: can't start new thread", ("node", "firefox"))
    markdown = tmp_path / "corpus.md"
    rc, out = _main(corpus, workdir, capsys, "--runtimes", "node,firefox", f"--markdown={markdown}")
    assert rc == 0
    row = next(line for line in out.splitlines() if line.startswith("| msgpack"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["msgpack", "1.2.4", "wasm", "2/0/0/0", "1/1/0/0", "1/1/0/0", "1 / 1: threads 1"]
    assert ("- [threads] `tests/test_x.py::test_thread`: native passed, failed in node, firefox"
            " -- RuntimeError: can't start new thread") in out.splitlines()
    assert markdown.read_text() == out


def test_an_unexplained_difference_fails_the_run(corpus: ModuleType, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _main(corpus, _workdir(tmp_path, corpus, "AssertionError: assert 3 == 4"), capsys,
                    "--runtimes", "node")
    assert rc == 1
    assert "- [UNEXPLAINED] `tests/test_x.py::test_thread`: native passed, failed in node" in out
    assert "1 unexplained" in out


def test_a_harness_run_without_results_fails_the_run(corpus: ModuleType, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _main(corpus, _workdir(tmp_path, corpus, None), capsys, "--runtimes", "node")
    assert rc == 1
    assert "PROBLEM: harness run produced no results (exit 1)" in out
    row = next(line for line in out.splitlines() if line.startswith("| msgpack"))
    assert row.rstrip(" |").endswith("PROBLEMS 1")


def test_a_runtime_missing_from_the_results_fails_the_run(corpus: ModuleType, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    workdir = _workdir(tmp_path, corpus, "RuntimeError: can't start new thread", ("node",))
    rc, out = _main(corpus, workdir, capsys, "--runtimes", "node,chromium")
    assert rc == 1
    assert "PROBLEM: harness run has no results for chromium" in out


def test_options_name_what_is_unknown(corpus: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        corpus.parse_args(["--packages", "numpy"])
    assert corpus.UNKNOWN_PACKAGE.format(name="numpy", known="")[:30] in capsys.readouterr().err
    with pytest.raises(SystemExit):
        corpus.parse_args(["--runtimes", "safari"])
    assert "unknown runtime 'safari'" in capsys.readouterr().err
    opts = corpus.parse_args(["--packages", "Python_Dateutil,msgpack", "--runtimes", "firefox,node"])
    assert [p.name for p in opts.packages] == ["python-dateutil", "msgpack"]
    assert opts.runtimes == ("node", "firefox")  # always in the table's order


# --- downloads ---------------------------------------------------------------------------------


def test_unpack_gives_a_fresh_tree_from_tar_or_zip(corpus: ModuleType, tmp_path: Path) -> None:

    tgz = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        data = b"def test_x():\n    pass\n"
        info = tarfile.TarInfo("pkg-1.0/tests/test_x.py")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    into = tmp_path / "src"
    (into / "stale").mkdir(parents=True)
    top = unpack(tgz, into)
    assert top == into / "pkg-1.0"
    assert (top / "tests" / "test_x.py").read_bytes() == data
    assert not (into / "stale").exists()
    zipped = tmp_path / "pkg.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("pkg-2.0/tests/test_y.py", "")
    assert unpack(zipped, into) == into / "pkg-2.0"


def test_a_cached_wheel_is_the_wasm_one_for_this_version(corpus: ModuleType, tmp_path: Path) -> None:

    for name in ("msgpack-1.2.4-py3-none-any.whl",
                 "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
                 "msgpack-1.2.4-cp313-cp313-pyemscripten_2025_0_wasm32.whl",
                 "msgpack-1.2.3-cp314-cp314-pyemscripten_2026_0_wasm32.whl"):
        (tmp_path / name).write_bytes(b"")
    found = cached_wheel("msgpack", "1.2.4", tmp_path)
    assert found is not None and found.name == "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert cached_wheel("msgpack", "9.9", tmp_path) is None


@pytest.mark.node
@pytest.mark.browser
@pytest.mark.network
def test_two_packages_of_the_corpus_end_to_end(tmp_path: Path) -> None:
    """CI runs two public packages' own suites, natively and in all three runtimes, with every
    difference from native explained (the command exits non-zero otherwise): msgpack (a real
    wasm wheel) and six (a pure wheel; its differences are Pyodide's missing tkinter and
    subprocess, and what Python 3.14 removed)."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus.py"
    done = subprocess.run([sys.executable, str(script), "--packages", "msgpack,six",
                           "--workdir", str(tmp_path), "--markdown", str(tmp_path / "table.md")],
                          capture_output=True, text=True, timeout=2400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    table = (tmp_path / "table.md").read_text()
    assert re.search(r"\| msgpack +\| 1\.2\.4 +\| wasm ", table), table
    assert re.search(r"\| six +\| ", table), table
    assert "0 unexplained, 0 problems" in table
    assert "UNEXPLAINED" not in done.stdout

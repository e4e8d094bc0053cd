"""Supervision end to end, on real runtimes: timeouts, crashes, restarts, a stopped host.

Every test runs the harness on a small generated suite and checks what its user
sees: outcomes, the lines the harness prints, exit codes and the report files.
Node is used wherever the runtime does not matter (it boots fastest); one test
runs in Chromium, where the interrupt goes through a worker's shared buffer.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtureproject import build_suite

from pyodide_harness.controller import Supervision
from pyodide_harness.journal import JOURNAL_FILENAME, read_journal
from pyodide_harness.reportdir import load_results
from pyodide_harness.reports.longtext import MAX_TEXT_CHARS, OUTPUT_DIR
from pyodide_harness.results import PhaseRecorded, TestStarted
from pyodide_harness.session import RESTART_CAP
from pyodide_harness.synthesis import NOT_RUN, RUNTIME_DIED
from pyodide_harness.terminal import RESTARTING

Run = Callable[..., pytest.RunResult]

TIMEOUT = "--pyodide-timeout=3"  # seconds per test phase: short, so hangs cost little
GRACE = Supervision().grace  # how long an interrupt may take before the runtime is closed
RESTART_LINE = "pyodide-harness: * restarting (*"
REPORT_DIR = "--pyodide-report-dir"


@pytest.fixture
def run(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The shared runner (conftest.py), with every outcome in the summary (-rA) and a report
    directory (results.json is where a test reads what happened, see ``boots``)."""

    def run_all(*args: str, runtime: str = "node") -> pytest.RunResult:
        given = [a.partition("=")[2] for a in args if a.startswith(REPORT_DIR + "=")]
        report_dir = Path(given[0]) if given else tmp_path_factory.mktemp("report")
        extra = () if given else (f"{REPORT_DIR}={report_dir}",)
        result = run("-rA", *args, *extra, runtime=runtime)
        result.report_dir = report_dir  # type: ignore[attr-defined]
        return result

    return run_all


def said(text: str) -> str:
    """A line the harness prints, as an fnmatch pattern."""
    return f"pyodide-harness: {text}"


def boots(result: pytest.RunResult) -> int:
    """How many times the runtime was booted during the run, from its results.json."""
    report_dir = Path(result.report_dir)  # type: ignore[attr-defined]
    (run,) = load_results(report_dir).packages[0].runtimes
    return 1 + sum(1 for restart in run.restarts if restart.attempt > 0)


# -- 1. timeouts that the interrupt ends: the runtime lives on ------------------------------

LOOPING_SUITE = {
    "tests/test_loop.py": """
        STATE = {}

        def test_loops_forever():
            STATE["looped"] = True
            while True:
                pass

        def test_runs_after_in_the_same_interpreter():
            assert STATE == {"looped": True}
    """,
}


@pytest.mark.node
def test_timeout_interrupts_a_python_loop_and_the_session_goes_on(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite(LOOPING_SUITE)
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "E       PyodideTimeout: Timeout (>3s) in node",
        "PASSED tests/test_loop.py::test_runs_after_in_the_same_interpreter[[]node[]]",
    ])
    result.stdout.no_fnmatch_line(RESTART_LINE)
    assert boots(result) == 1


@pytest.mark.browser
def test_timeout_interrupts_a_python_loop_in_chromium(suite: Callable[..., Path], run: Run) -> None:
    wheel = suite(LOOPING_SUITE)
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, runtime="chromium")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "E       PyodideTimeout: Timeout (>3s) in chromium",
        "PASSED tests/test_loop.py::test_runs_after_in_the_same_interpreter[[]chromium[]]",
    ])
    result.stdout.no_fnmatch_line(RESTART_LINE)
    assert result.stdout.str().count("JSPI on") == 1


# -- 2. timeouts the interrupt cannot end: the runtime is stopped and restarted -------------


@pytest.mark.node
def test_timeout_in_c_code_stops_and_restarts_the_runtime(
    suite: Callable[..., Path], run: Run
) -> None:
    # sum() over a range of ints loops in C and never checks for signals (probed: the
    # regex (a+)+$ does check them, and ends with PyodideTimeout like pure Python).
    wheel = suite({
        "tests/test_stuck.py": """
            def test_before():
                pass

            def test_stuck_in_c():
                sum(range(10**12))

            def test_after():
                pass
        """,
    })
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    result.assert_outcomes(passed=2, failed=1)
    reason = f"Timeout (>3s) in node: the interrupt did not land within {GRACE:g}s, so node was stopped"
    result.stdout.fnmatch_lines([
        said(RESTARTING.format(runtime="node", attempt=1, cap=5, reason=reason)),
        f"{reason}, while running tests/test_stuck.py::test_stuck_in_c",
        "PASSED tests/test_stuck.py::test_before[[]node[]]",
        "PASSED tests/test_stuck.py::test_after[[]node[]]",
        "FAILED tests/test_stuck.py::test_stuck_in_c[[]node[]] - Timeout (>3s) in node*",
    ])
    assert boots(result) == 2


# -- 3. crashes: the test fails in its phase, the runtime restarts and resumes after it -----

CRASHING_SUITE = {
    "tests/conftest.py": """
        import os
        import pytest

        @pytest.fixture
        def dies_in_setup():
            os._exit(5)

        @pytest.fixture
        def dies_in_teardown():
            yield
            os._exit(6)
    """,
    "tests/test_crash.py": """
        import os

        def test_1_before():
            pass

        def test_2_os_exit():
            os._exit(3)

        def test_3_after_exit():
            pass

        def test_4_wasm_trap():
            import ctypes
            ctypes.string_at(0xFFFFFFF0, 64)

        def test_5_after_trap():
            pass

        def test_6_dies_in_setup(dies_in_setup):
            pass

        def test_7_after_setup_death():
            pass

        def test_8_dies_in_teardown(dies_in_teardown):
            pass

        def test_9_after_teardown_death():
            pass
    """,
}


@pytest.mark.node
def test_crashes_fail_their_test_in_its_phase_and_the_run_resumes(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite(CRASHING_SUITE)
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    # test_8's call passed before its teardown died: one pass and one error, as in pytest
    result.assert_outcomes(passed=6, failed=2, errors=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    exit_ = "node failed fatally (Pyodide fatal error (exit status {}): Exit: Program terminated*"
    trap = "node failed fatally (Pyodide fatal error: RuntimeError: memory access out of bounds)"
    module = "tests/test_crash.py"
    result.stdout.fnmatch_lines([
        said(RESTARTING.format(runtime="node", attempt=1, cap=5, reason=exit_.format(3))),
        said(RESTARTING.format(runtime="node", attempt=2, cap=5, reason=trap)),
        said(RESTARTING.format(runtime="node", attempt=3, cap=5, reason=exit_.format(5))),
        said(RESTARTING.format(runtime="node", attempt=4, cap=5, reason=exit_.format(6))),
    ])
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_6_dies_in_setup[[]node[]]*",
        RUNTIME_DIED.format(reason=exit_.format(5), nodeid=f"{module}::test_6_dies_in_setup"),
        "*ERROR at teardown of test_8_dies_in_teardown[[]node[]]*",
        RUNTIME_DIED.format(reason=exit_.format(6), nodeid=f"{module}::test_8_dies_in_teardown"),
    ])
    result.stdout.fnmatch_lines([
        "*_ test_2_os_exit[[]node[]] _*",
        RUNTIME_DIED.format(reason=exit_.format(3), nodeid=f"{module}::test_2_os_exit"),
        "*_ test_4_wasm_trap[[]node[]] _*",
        RUNTIME_DIED.format(reason=trap, nodeid=f"{module}::test_4_wasm_trap"),
    ])
    lines = result.stdout.lines
    for name in ("1_before", "3_after_exit", "5_after_trap", "7_after_setup_death",
                 "9_after_teardown_death", "8_dies_in_teardown"):  # each run once, not again
        assert lines.count(f"PASSED {module}::test_{name}[node]") == 1, name
    assert "already fatally failed" not in result.stdout.str()
    assert boots(result) == 5


# -- 4. sys.exit() is an exception like any other --------------------------------------------


@pytest.mark.node
def test_sys_exit_in_a_test_is_an_ordinary_failure(suite: Callable[..., Path], run: Run) -> None:
    wheel = suite({
        "tests/test_exit.py": """
            import sys

            def test_exits():
                sys.exit(1)

            def test_after():
                pass
        """,
    })
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "PASSED tests/test_exit.py::test_after[[]node[]]",
        "FAILED tests/test_exit.py::test_exits[[]node[]] - SystemExit: 1",
    ])
    result.stdout.no_fnmatch_line(RESTART_LINE)
    assert boots(result) == 1


# -- 5. a crash while collecting: reported once, never retried --------------------------------


@pytest.mark.node
def test_crash_during_collection_fails_once_without_restarting(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite({
        "tests/test_fine.py": "def test_fine():\n    pass\n",
        "tests/test_dies_on_import.py": "import os\nos._exit(3)\n",
    })
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR collecting <node>*",
        "node: Pyodide fatal error (exit status 3): Exit: Program terminated with exit(3)",
        "*Interrupted: 1 error during collection*",
    ])
    result.stdout.no_fnmatch_line(RESTART_LINE)
    assert boots(result) == 1


# -- 6. the restart cap: what is left is reported, never silently missing ----------------------


@pytest.mark.node
def test_restart_cap_reports_the_tests_left_as_not_run(suite: Callable[..., Path], run: Run) -> None:
    wheel = suite({
        "tests/test_cap.py": """
            import os

            def test_1_passes():
                pass

            def test_2_crashes():
                os._exit(3)

            def test_3_crashes():
                os._exit(3)

            def test_4_crashes():
                os._exit(3)

            def test_5_passes():
                pass
        """,
    })
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, "--pyodide-max-restarts=1")
    # test_2 crashes (restart 1 of 1), test_3 crashes (cap reached): test_4 and test_5 not run
    result.assert_outcomes(passed=1, failed=2, errors=2)
    assert sum(result.parseoutcomes().get(k, 0) for k in ("passed", "failed", "errors")) == 5
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    not_run = NOT_RUN.format(runtime="node", why="*")
    result.stdout.fnmatch_lines([
        said(RESTARTING.format(runtime="node", attempt=1, cap=1, reason="*")),
        said(RESTART_CAP.format(runtime="node", restarts=1, cap=1, count=2)),
    ])
    result.stdout.fnmatch_lines([
        "PASSED tests/test_cap.py::test_1_passes[[]node[]]",
        "ERROR tests/test_cap.py::test_4_crashes[[]node[]] - not run: node stopped*",
        "ERROR tests/test_cap.py::test_5_passes[[]node[]] - not run: node stopped*",
        "FAILED tests/test_cap.py::test_2_crashes[[]node[]] - node failed fatally*",
        "FAILED tests/test_cap.py::test_3_crashes[[]node[]] - node failed fatally*",
    ])
    result.stdout.fnmatch_lines(["*ERROR at setup of test_5_passes[[]node[]]*", not_run])
    assert boots(result) == 2


# -- 7. suites configured for pytest-timeout run unmodified ------------------------------------

TIMEOUT_CONFIGURED = {
    "tests/test_timeouts.py": """
        import pytest

        @pytest.mark.timeout(1)
        def test_marker_timeout():
            while True:
                pass

        def test_ini_timeout():
            while True:
                pass

        def test_quick():
            pass
    """,
}


@pytest.mark.node
def test_pytest_timeout_marker_and_ini_are_honoured(suite: Callable[..., Path], run: Run) -> None:
    wheel = suite(TIMEOUT_CONFIGURED, ini_options="timeout = 2\n")
    # the suite's own settings win over --pyodide-timeout; --strict-markers knows the marker
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, "--strict-markers")
    result.assert_outcomes(passed=1, failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*_ test_marker_timeout[[]node[]] _*",
        "E       PyodideTimeout: Timeout (>1s) in node",
        "*_ test_ini_timeout[[]node[]] _*",
        "E       PyodideTimeout: Timeout (>2s) in node",
    ])
    result.stdout.no_fnmatch_line(RESTART_LINE)


@pytest.mark.node
def test_pytest_timeout_ini_is_not_an_unknown_option_with_strict_config(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite(TIMEOUT_CONFIGURED, ini_options="timeout = 2\n")
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, "--strict-markers", "--strict-config")
    assert "Unknown config option" not in result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=2)


@pytest.mark.node
def test_pytest_timeout_addopts_and_other_ini_keys_are_accepted(
    suite: Callable[..., Path], run: Run
) -> None:
    wheel = suite({"tests/test_quick.py": "def test_quick():\n    pass\n"},
                  ini_options='addopts = "--timeout=5"\ntimeout_method = "thread"\n')
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT)
    output = result.stdout.str() + result.stderr.str()
    assert "unrecognized arguments" not in output and "Unknown config option" not in output
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


# -- 8. a stopped host loses nothing and leaves nothing behind --------------------------------

STOPPED_SUITE = {
    "tests/test_slow.py": """
        import time

        def test_a():
            pass

        def test_b():
            pass

        def test_hang():
            while True:
                time.sleep(0.05)

        def test_never():
            pass
    """,
}


@dataclass
class StoppedRun:
    """A harness run stopped by a signal while test_hang was running."""

    signal: str
    returncode: int
    output: str
    report_dir: Path
    tmp: Path  # TMPDIR of the host
    runtime_processes: list[str]  # processes of this run just before the signal
    survivors: list[str]  # the same, some seconds after the host ended


def processes_mentioning(text: str) -> list[str]:
    """`ps` lines of the processes whose command line contains *text*."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True,
                         check=True).stdout
    return [line.strip() for line in out.splitlines()[1:] if text in line]


def journal_phases(journal: Path) -> set[tuple[str, str]]:
    """(test name, phase or "started") pairs recorded so far; a line still being written is
    skipped."""
    phases: set[tuple[str, str]] = set()
    if not journal.exists():
        return phases
    for record in read_journal(journal):
        if isinstance(record, PhaseRecorded):
            phases.add((record.nodeid.rsplit("::", 1)[-1], record.when))
        elif isinstance(record, TestStarted):
            phases.add((record.nodeid.rsplit("::", 1)[-1], "started"))
    return phases


def wait_inside_hang(host: subprocess.Popen[bytes], report_dir: Path, log: Path) -> None:
    """Until STOPPED_SUITE's test_a and test_b are done and test_hang has started, as the
    journal says (at most 300 s), then a second more: the host is inside test_hang's call."""
    wanted = {("test_a", "teardown"), ("test_b", "teardown"), ("test_hang", "started")}
    deadline = time.monotonic() + 300
    while not wanted <= journal_phases(report_dir / JOURNAL_FILENAME):
        assert host.poll() is None, f"the host ended early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"test_hang never started:\n{log.read_text()}"
        time.sleep(0.2)
    time.sleep(1)  # well inside test_hang's call


def stop_host(sig: str, root: Path, harness_cache: Path) -> StoppedRun:
    """Start the harness, wait until test_a and test_b are done and test_hang runs, signal it.

    TMPDIR points into this run's directory, so every process the run starts names
    that directory on its command line (the runtime's job file lives there).
    """
    project, wheel = build_suite(root, STOPPED_SUITE)
    report_dir, tmp, log = root / "report", root / "tmp", root / "host.log"
    tmp.mkdir()
    env = {**os.environ, "PYODIDE_HARNESS_CACHE": str(harness_cache), "TMPDIR": str(tmp)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyodide-runtime=node",
               f"--pyodide-wheel={wheel}", "--pyodide-timeout=0", f"--pyodide-report-dir={report_dir}"]
    with open(log, "wb") as out:
        host = subprocess.Popen(command, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_inside_hang(host, report_dir, log)
            runtime_processes = processes_mentioning(str(tmp))
            host.send_signal(getattr(signal, sig))
            returncode = host.wait(timeout=120)
        finally:
            if host.poll() is None:
                host.kill()
                host.wait()
    deadline = time.monotonic() + 10
    while (survivors := processes_mentioning(str(tmp))) and time.monotonic() < deadline:
        time.sleep(0.5)
    return StoppedRun(sig, returncode, log.read_text(errors="replace"), report_dir, tmp,
                      runtime_processes, survivors)


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory: pytest.TempPathFactory,
                harness_cache: Path) -> Callable[[str], StoppedRun]:
    """The run stopped by a signal (SIGINT, SIGTERM, SIGKILL), made once per signal."""
    runs: dict[str, StoppedRun] = {}

    def get(sig: str) -> StoppedRun:
        if sig not in runs:
            runs[sig] = stop_host(sig, tmp_path_factory.mktemp(f"stopped-{sig}"), harness_cache)
        return runs[sig]

    return get


def junit_outcomes(path: Path) -> dict[str, str]:
    """Test case name -> passed / failure / error / skipped, from a JUnit XML file."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name", "")] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.mark.node
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_stopped_host_writes_reports_with_the_finished_tests(
    stopped_run: Callable[[str], StoppedRun], sig: str
) -> None:
    stopped = stopped_run(sig)
    assert stopped.returncode == pytest.ExitCode.INTERRUPTED, stopped.output
    assert re.search(r"\b2 passed\b", stopped.output), stopped.output
    for name in ("results.json", "junit.xml", "index.html", JOURNAL_FILENAME):
        assert (stopped.report_dir / name).is_file(), name
    outcomes = junit_outcomes(stopped.report_dir / "junit.xml")
    assert outcomes["test_a"] == outcomes["test_b"] == "passed"
    assert outcomes["test_never"] == "error"  # not run, and says so
    assert set(outcomes) == {"test_a", "test_b", "test_hang", "test_never"}
    html = (stopped.report_dir / "index.html").read_text(encoding="utf-8")
    assert "test_a" in html and "test_b" in html
    assert not any(stopped.tmp.iterdir())  # the harness's scratch directory is removed


@pytest.mark.node
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_stopped_host_leaves_no_runtime_processes(
    stopped_run: Callable[[str], StoppedRun], sig: str
) -> None:
    stopped = stopped_run(sig)
    assert any("node_driver.mjs" in p for p in stopped.runtime_processes), stopped.runtime_processes
    assert stopped.survivors == []


def rebuild_reports(report_dir: Path, out_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyodide_harness.cli", "report", str(report_dir), str(out_dir)],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.node
def test_killed_host_reports_are_rebuilt_from_the_journal(
    stopped_run: Callable[[str], StoppedRun]
) -> None:
    stopped = stopped_run("SIGKILL")
    assert stopped.returncode == -signal.SIGKILL
    assert not (stopped.report_dir / "results.json").exists()
    done = subprocess.run(
        [sys.executable, "-m", "pyodide_harness.cli", "report", str(stopped.report_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote ")
    outcomes = junit_outcomes(stopped.report_dir / "junit.xml")
    assert outcomes["test_a"] == outcomes["test_b"] == "passed"
    assert outcomes["test_never"] == "error"
    html = (stopped.report_dir / "index.html").read_text(encoding="utf-8")
    assert "test_a" in html and "test_b" in html


@pytest.mark.node
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_test_cut_off_by_the_stop_is_not_reported_as_passed(
    stopped_run: Callable[[str], StoppedRun], sig: str, tmp_path: Path
) -> None:
    stopped = stopped_run(sig)
    done = rebuild_reports(stopped.report_dir, tmp_path)  # from results.json or the journal
    assert done.returncode == 0, done.stderr
    assert junit_outcomes(tmp_path / "junit.xml")["test_hang"] != "passed"


# -- 9. whatever a test prints ends up in valid JUnit XML ------------------------------------

NOISY_SUITE = {
    "tests/test_noisy.py": r'''
        import sys

        def test_noisy():
            tag = "OUT" + "PUT"  # so the source lines shown in the failure do not match
            print(tag + "-BEGIN-" + "x" * 3_000_000 + "-END-" + tag)
            print("\x1b[31m" + "RED" + "-TEXT" + "\x1b[0m")
            print("ctrl:\x00\x01\x07\x08\x0b\x0c\x1b\x7f:" + "CTRL")
            sys.stderr.write("ERR" + "-SIDE \x1b[1mbold\x1b[0m \x00\n")
            bad = b"caf\xc3\xa9 \xff\xfe".decode("utf-8", "surrogateescape")
            assert False, "MSG" + "-SENTINEL " + bad + " \x1b[32mgreen\x1b[0m \x00\x01"
    ''',
}


def xml_text(path: Path, name: str) -> str:
    """All text and attribute values of the test case *name*; the file must parse."""
    cases = [c for c in ET.parse(path).getroot().iter("testcase") if c.get("name") == name]
    assert len(cases) == 1, [c.get("name") for c in ET.parse(path).getroot().iter("testcase")]
    return "\n".join(
        [*(e.text or "" for e in cases[0].iter()), *(v for e in cases[0].iter()
                                                    for v in e.attrib.values())]
    )


@pytest.mark.node
def test_huge_and_binary_output_survives_into_valid_junit_xml(
    suite: Callable[..., Path], harness_cache: Path, tmp_path: Path
) -> None:
    wheel = suite(NOISY_SUITE)
    junit, report_dir = tmp_path / "pytest-junit.xml", tmp_path / "report"
    # Not pytester: the failure message goes to the terminal as the undecodable bytes it
    # holds (as in plain pytest under a C locale), which pytester cannot decode.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyodide-runtime=node",
         f"--pyodide-wheel={wheel}", TIMEOUT, f"--junitxml={junit}", "-o", "junit_logging=all",
         f"--pyodide-report-dir={report_dir}"],
        env={**os.environ, "PYODIDE_HARNESS_CACHE": str(harness_cache)},
        capture_output=True, timeout=600,
    )
    output = done.stdout.decode("utf-8", "replace")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    assert re.search(r"== 1 failed in ", output), output[-3000:]
    assert "AssertionError: MSG-SENTINEL caf\u00e9 " in output
    for path, name in ((junit, "test_noisy[node]"), (report_dir / "junit.xml", "test_noisy")):
        text = xml_text(path, name)
        for expected in ("OUTPUT-BEGIN-", "-END-OUTPUT", "RED-TEXT", "ctrl:", ":CTRL",
                         "ERR-SIDE", "MSG-SENTINEL caf\u00e9 ", "green"):
            assert expected in text, (path, expected)
        assert "\x1b" not in text and "\x00" not in text, path  # escaped, not raw
    # pytest's own --junitxml has the whole output; the harness's report cuts it and keeps
    # the whole text in a side file it names (issue 12: reports stay small and linear).
    whole = xml_text(junit, "test_noisy[node]")
    begin = whole.index("OUTPUT-BEGIN-") + len("OUTPUT-BEGIN-")
    assert whole[begin:begin + 3_000_000] == "x" * 3_000_000
    assert len(xml_text(report_dir / "junit.xml", "test_noisy")) < 3 * MAX_TEXT_CHARS * 4
    side = [p.read_text(encoding="utf-8", errors="replace")
            for p in (report_dir / OUTPUT_DIR).rglob("*.txt")]
    assert any("OUTPUT-BEGIN-" + "x" * 3_000_000 + "-END-OUTPUT" in t for t in side), \
        [len(t) for t in side]


@pytest.mark.node
def test_undecodable_output_is_kept_as_in_native_pytest(
    suite: Callable[..., Path], run: Run, tmp_path: Path
) -> None:
    wheel = suite({
        "tests/test_bytes.py": r'''
            import sys

            def test_prints_surrogates():
                print("surrogates:" + b"\xff\xfe".decode("utf-8", "surrogateescape"))
                assert False, "SENTINEL-1"

            def test_writes_raw_bytes():
                sys.stdout.buffer.write(b"raw:\xff\xfe\xc3(:raw\n")
                sys.stdout.flush()
                assert False, "SENTINEL-2"

            def test_after():
                pass
        ''',
    })
    junit = tmp_path / "junit.xml"
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, f"--junitxml={junit}")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "FAILED tests/test_bytes.py::test_prints_surrogates[[]node[]] - AssertionError*",
        "FAILED tests/test_bytes.py::test_writes_raw_bytes[[]node[]] - AssertionError*",
    ])
    assert "E       AssertionError: SENTINEL-1" in result.stdout.lines
    assert "E       AssertionError: SENTINEL-2" in result.stdout.lines
    assert "surrogates:" in result.stdout.str() and "raw:" in result.stdout.str()
    assert "runtime error" not in result.stdout.str()
    ET.parse(junit)


# -- 10. events leave the runtime while it runs, whatever their size -------------------------

# The `collected` event alone is about 1 MB, the captured output of the passing tests
# about 9 MB and one failure prints 5 MB: more than a pipe's buffer (Node) and more than
# the browsers' 4 MiB shared channel. A hang at the end is interrupted only if the host
# has seen, while the runtime is stuck, every event before it.
BIG_SUITE = {
    "tests/test_big.py": """
        import pytest

        LONG = "x" * 200

        @pytest.mark.parametrize("n", range(1500), ids=lambda n: f"{n}-{LONG}")
        def test_many(n):
            print(LONG * 30)

        def test_y_fails_loudly():
            print("LOUD-BEGIN-" + "y" * 5_000_000 + "-LOUD-END")
            assert False, "LOUD-SENTINEL"

        def test_z_loops_forever():
            while True:
                pass
    """,
}


@pytest.mark.browser
@pytest.mark.node
@pytest.mark.parametrize("runtime", ["node", "chromium", "firefox"])
def test_big_events_arrive_while_the_runtime_runs(
    suite: Callable[..., Path], run: Run, runtime: str, tmp_path: Path
) -> None:
    wheel = suite(BIG_SUITE)
    junit = tmp_path / "junit.xml"
    result = run(f"--pyodide-wheel={wheel}", TIMEOUT, "--tb=line", "--show-capture=no",
                 "-o", "junit_logging=all", f"--junitxml={junit}", runtime=runtime)
    result.assert_outcomes(passed=1500, failed=2)
    result.stdout.fnmatch_lines([
        f"FAILED tests/test_big.py::test_z_loops_forever[[]{runtime}[]] - PyodideTimeout*"])
    assert f"PyodideTimeout: Timeout (>3s) in {runtime}" in result.stdout.str()
    result.stdout.no_fnmatch_line(RESTART_LINE)
    text = xml_text(junit, f"test_y_fails_loudly[{runtime}]")
    begin = text.index("LOUD-BEGIN-") + len("LOUD-BEGIN-")
    assert text[begin:begin + 5_000_000 + len("-LOUD-END")] == "y" * 5_000_000 + "-LOUD-END"

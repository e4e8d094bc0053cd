"""The ``pyodide-harness`` command line: merge, report, badge, baseline, and its errors."""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_reports import cause_results
from test_results import make_results

from pyodide_harness import __version__
from pyodide_harness.cli import (
    BASELINE_FILENAME,
    BASELINE_SCHEMA,
    NO_INPUTS,
    build_parser,
    main,
)
from pyodide_harness.errors import EXIT_OK, EXIT_USAGEERROR
from pyodide_harness.gate import XfailRule
from pyodide_harness.reportdir import load_results
from pyodide_harness.results import (
    NEWER_SCHEMA,
    NO_RESULTS_FILE,
    SCHEMA_VERSION,
    Restart,
    Results,
    TestResult,
    save_results,
)
from pyodide_harness.xfails import escape_pattern, toml_string

if sys.version_info >= (3, 11):
    import tomllib
else:  # a dependency of the harness there
    import tomli as tomllib

REPORT_FILES = {
    "results.json", "junit.xml", "junit-node.xml", "junit-chromium.xml", "junit-firefox.xml",
    "index.html", "badge.svg", "badge.json", "badge-node.svg", "badge-chromium.svg",
    "badge-firefox.svg",
}


def _shard(results: Results, keep: slice) -> Results:
    data = results.to_json()
    for package in data["packages"]:
        for run in package["runtimes"]:
            run["tests"] = run["tests"][keep]
    return Results.from_json(data)


def test_merge_of_two_shards_is_the_union(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    full = make_results()
    save_results(_shard(full, slice(0, 5)), tmp_path / "a" / "results.json")
    save_results(_shard(full, slice(4, None)), tmp_path / "b" / "results.json")  # overlaps by 1
    out = tmp_path / "merged"
    assert main(["merge", str(out), str(tmp_path / "a"), str(tmp_path / "b" / "results.json")]
                ) == EXIT_OK
    assert {path.name for path in out.iterdir()} == REPORT_FILES
    merged = load_results(out)
    for package, expected in zip(merged.packages, full.packages, strict=True):
        for run, expected_run in zip(package.runtimes, expected.runtimes, strict=True):
            assert run.tests == expected_run.tests
    captured = capsys.readouterr()
    assert f"wrote {len(REPORT_FILES)} files to {out}" in captured.out
    assert "test/test_xfail.py::test_xpass (msgpack, node) is in " in captured.err
    assert "; kept xpassed" in captured.err


def test_merge_refuses_no_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["merge", str(tmp_path / "out")]) == EXIT_USAGEERROR
    assert capsys.readouterr().err.strip() == f"pyodide-harness: error: {NO_INPUTS}"
    assert not (tmp_path / "out").exists()


def test_merge_refuses_newer_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_results(make_results(), tmp_path / "ok" / "results.json")
    data = make_results().to_json()
    data["schema_version"] = SCHEMA_VERSION + 1
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data), encoding="utf-8")
    assert main(["merge", str(tmp_path / "out"), str(tmp_path / "ok"), str(newer)]
                ) == EXIT_USAGEERROR
    err = capsys.readouterr().err
    expected = NEWER_SCHEMA.format(path=newer, found=SCHEMA_VERSION + 1,
                                   supported=SCHEMA_VERSION, harness=__version__)
    assert err == f"pyodide-harness: error: {expected}\n"
    assert not (tmp_path / "out").exists()


def test_missing_input_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(["report", str(missing)]) == EXIT_USAGEERROR
    assert capsys.readouterr().err == (
        "pyodide-harness: error: "
        + NO_RESULTS_FILE.format(path=missing, filename="results.json") + "\n"
    )


def test_report_rerenders_into_the_results_directory(tmp_path: Path) -> None:
    save_results(make_results(), tmp_path / "results.json")
    assert main(["report", str(tmp_path / "results.json")]) == EXIT_OK
    assert {path.name for path in tmp_path.iterdir()} == REPORT_FILES
    assert load_results(tmp_path) == make_results()
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    (tmp_path / "index.html").unlink()
    assert main(["report", str(tmp_path)]) == EXIT_OK  # a report directory works too
    assert (tmp_path / "index.html").read_text(encoding="utf-8") == html


def test_report_into_another_directory(tmp_path: Path) -> None:
    save_results(make_results(), tmp_path / "in" / "results.json")
    assert main(["report", str(tmp_path / "in"), str(tmp_path / "out")]) == EXIT_OK
    assert {path.name for path in (tmp_path / "out").iterdir()} == REPORT_FILES
    assert {path.name for path in (tmp_path / "in").iterdir()} == {"results.json"}


def test_badge_writes_only_badges(tmp_path: Path) -> None:
    save_results(make_results(), tmp_path / "results.json")
    assert main(["badge", str(tmp_path), str(tmp_path / "badges")]) == EXIT_OK
    assert {path.name for path in (tmp_path / "badges").iterdir()} == {
        "badge.svg", "badge.json", "badge-node.svg", "badge-chromium.svg", "badge-firefox.svg"}


def test_baseline_lists_failures_per_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    save_results(make_results(), tmp_path / "results.json")
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "results.json"]) == EXIT_OK
    assert json.loads((tmp_path / BASELINE_FILENAME).read_text()) == {
        "schema": BASELINE_SCHEMA,
        "schema_version": 1,
        "failures": {
            "node": ["test/test_evil.py::test_name[<script>alert(1)</script>]"],
            "chromium": ["test/test_basic.py::test_unpack[1]"],
            "firefox": ["test/test_fixture.py::test_setup_error"],
        },
    }
    assert main(["baseline", str(tmp_path), "-o", "sub/base.json"]) == EXIT_OK
    assert (tmp_path / "sub" / "base.json").read_text() == (
        tmp_path / BASELINE_FILENAME).read_text()


@pytest.mark.parametrize("command", [[], ["merge"], ["report"], ["badge"], ["baseline"],
                                     ["xfails"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == EXIT_OK
    assert "usage: pyodide-harness" in capsys.readouterr().out


def test_every_subcommand_is_in_the_parser() -> None:
    help_text = build_parser().format_help()
    for command in ("merge", "report", "badge", "baseline", "xfails"):
        assert command in help_text


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["report"], ["baseline", "x", "--bad"]])
def test_usage_errors_exit_4(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGEERROR
    assert "pyodide-harness" in capsys.readouterr().err


def test_unwritable_output_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_results(make_results(), tmp_path / "results.json")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["report", str(tmp_path), str(blocker / "out")]) == EXIT_USAGEERROR
    err = capsys.readouterr().err
    assert err.startswith(f"pyodide-harness: error: cannot write {blocker / 'out'}")
    assert "choose a directory you can write to" in err


# --- xfails: pyodide_xfail lines for the current failures ----------------------------------


def _xfail_block(capsys: pytest.CaptureFixture[str], source: Path) -> tuple[list[str], str]:
    """The lines `pyodide-harness xfails` prints for *source* (as pyproject reads them)
    and its stderr."""
    assert main(["xfails", str(source)]) == EXIT_OK
    captured = capsys.readouterr()
    block = tomllib.loads(captured.out)
    lines: list[str] = block["pyodide_xfail"]
    return lines, captured.err


def test_xfails_groups_by_cause_with_star_for_every_runtime(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_results(cause_results(), tmp_path / "results.json")
    lines, err = _xfail_block(capsys, tmp_path)
    assert lines == [
        "node tests/test_threads.py::test_pool threads",  # node and chromium, not firefox
        "chromium tests/test_threads.py::test_pool threads",
        "* tests/test_net.py::test_listen sockets",  # every runtime
        "* tests/test_net.py::test_socketpair sockets",
        "firefox tests/test_tz.py::test_tzset timezone",
        "chromium tests/test_deep.py::test_selfref recursion",
        "node tests/test_odd.py::test_value unknown",
    ]
    rules = [XfailRule.parse(line) for line in lines]
    assert rules[2] == XfailRule("*", "tests/test_net.py::test_listen", "sockets")
    assert "chromium: the runtime reported an error of its own" in err
    assert main(["xfails", str(tmp_path)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "    # sockets (2): no listening, accepting" in printed
    assert "    # unknown (1): no rule explains these" in printed


def test_xfails_in_a_one_runtime_run_names_the_runtime(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = cause_results()
    package = results.packages[0]
    package.runtimes = package.runtimes[:1]
    save_results(results, tmp_path / "results.json")
    lines, _ = _xfail_block(capsys, tmp_path)
    assert "node tests/test_net.py::test_listen sockets" in lines
    assert not any(line.startswith("*") for line in lines)


def test_xfails_names_what_pyodide_xfail_cannot_cover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = cause_results()
    node = results.packages[0].runtimes[0]
    node.tests.append(TestResult("tests/test_ui.py", "error", "collect", 0.0,
                                 "E   ModuleNotFoundError: No module named 'tkinter'", [],
                                 "ImportError while importing test module 'tests/test_ui.py'."))
    node.tests.append(TestResult("tests/test_late.py::test_a", "not-run", "call", 0.0))
    node.restarts.append(Restart("node", "node exited unexpectedly (code=1)", None, 0))
    save_results(results, tmp_path / "results.json")
    lines, err = _xfail_block(capsys, tmp_path)
    assert not any("test_ui.py" in line or "test_late.py" in line for line in lines)
    assert "node: tests/test_ui.py could not be collected" in err
    assert "node: 1 test of demo never ran (tests/test_late.py::test_a)" in err


def test_xfails_with_no_failures_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    tiny = make_results()
    tiny.packages = tiny.packages[1:]
    save_results(tiny, tmp_path / "results.json")
    assert main(["xfails", str(tmp_path)]) == EXIT_OK
    assert capsys.readouterr().out == (
        "# pyodide-harness xfails: no failing tests in tinypkg 0.1; nothing to add.\n")


@pytest.mark.parametrize("nodeid", [
    "tests/test_u.py::test_roundtrip[http://[1080:0:0:0:8:800:200C:417A]/index.html]",
    "tests/test_u.py::test_q[https://[::101.45.75.219]:80/?hi=bye]",
    "tests/test x.py::TestA::test_b[a b\tc-*-?]",
    'tests/test_q.py::test_quote["\\"]',
])
def test_patterns_match_exactly_their_test(nodeid: str) -> None:
    pattern = escape_pattern(nodeid)
    assert not any(char.isspace() for char in pattern)
    assert fnmatch.fnmatchcase(nodeid, pattern)
    assert not fnmatch.fnmatchcase(nodeid + "x", pattern)
    assert not fnmatch.fnmatchcase(nodeid.replace("[", "(", 1), pattern)
    assert not fnmatch.fnmatchcase(nodeid.replace(":", ";", 1), pattern)
    rule = XfailRule.parse(f"node {pattern} sockets")
    assert rule.matches("node", nodeid) and rule.reason == "sockets"
    assert tomllib.loads(f"x = {toml_string(rule.pattern)}")["x"] == pattern


LIMITS_SUITE = """
import os, socket, subprocess, sys, threading, time

import pytest


def test_passes():
    assert True


def test_thread():
    threading.Thread(target=print).start()


def test_listen():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()


def test_subprocess():
    subprocess.run([sys.executable, "-c", "pass"])


@pytest.mark.parametrize("zone", ["UTC 0", "[x]*?"])
def test_tzset(zone):
    os.environ["TZ"] = zone
    time.tzset()


def test_deep_repr():
    nested = []
    for _ in range(200000):
        nested = [nested]
    repr(nested)


def test_unexplained():
    assert 1 == 2
"""


@pytest.mark.node
def test_xfails_lines_make_the_next_run_pass(
    run: Callable[..., pytest.RunResult], suite: Callable[..., Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The flow of the README: run, print the lines, paste them, run again: exit 0."""
    wheel = suite({"tests/test_limits.py": LIMITS_SUITE})
    report = tmp_path / "report"
    first = run(f"--pyodide-wheel={wheel}", f"--pyodide-report-dir={report}")
    assert first.ret == 1
    first.assert_outcomes(passed=1, failed=7)
    first.stdout.fnmatch_lines([
        "node: 7 failed: 2 timezone, 1 recursion, 1 sockets, 1 subprocess, 1 threads, 1 unknown"])

    capsys.readouterr()  # pytester printed the command it ran
    assert main(["xfails", str(report)]) == EXIT_OK
    block = capsys.readouterr().out
    pyproject = Path("pyproject.toml")
    header = "[tool.pytest.ini_options]\n"
    pyproject.write_text(pyproject.read_text().replace(header, header + block, 1))
    assert len(tomllib.loads(pyproject.read_text())["tool"]["pytest"]["ini_options"][
        "pyodide_xfail"]) == 7

    second = run(f"--pyodide-wheel={wheel}", f"--pyodide-report-dir={tmp_path / 'again'}", "-rx")
    assert second.ret == 0, second.stdout.str()
    second.assert_outcomes(passed=1, xfailed=7)
    second.stdout.fnmatch_lines_random([
        "XFAIL tests/test_limits.py::test_thread[[]node[]] - threads",
        "XFAIL tests/test_limits.py::test_listen[[]node[]] - sockets",
        "XFAIL tests/test_limits.py::test_subprocess[[]node[]] - subprocess",
        "XFAIL tests/test_limits.py::test_tzset[[]UTC 0-node[]] - timezone",
        "XFAIL tests/test_limits.py::test_tzset[[][[]x[]][*][?]-node[]] - timezone",
        "XFAIL tests/test_limits.py::test_deep_repr[[]node[]] - recursion",
        "XFAIL tests/test_limits.py::test_unexplained[[]node[]] - unknown",
    ])
    again = load_results(tmp_path / "again")
    assert {test.outcome for test in again.packages[0].runtimes[0].tests} == {
        "passed", "xfailed"}

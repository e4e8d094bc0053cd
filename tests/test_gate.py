"""Reports, shards and the CI gate, end to end on Node (the fastest runtime)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fixtureproject import EXPECTED, build_project

from pyodide_harness.reportdir import load_results

pytestmark = pytest.mark.node


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
            harness_cache: Path) -> tuple[Path, Path]:
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))
    project, wheel = build_project(pytester.path)
    monkeypatch.chdir(project)
    return project, wheel


def harness(pytester: pytest.Pytester, wheel: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(f"--pyodide-wheel={wheel}", "--pyodide-runtime=node",
                                         "-p", "no:cacheprovider", *args, timeout=600)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodide_harness.cli", *args],
                          capture_output=True, text=True, check=False)


def outcomes(report_dir: Path) -> dict[tuple[str, str], str]:
    results = load_results(report_dir)
    return {(rt.runtime, t.nodeid): t.outcome
            for pkg in results.packages for rt in pkg.runtimes for t in rt.tests}


def test_report_dir_holds_every_report(pytester: pytest.Pytester, project: tuple[Path, Path],
                                       tmp_path: Path) -> None:
    _, wheel = project
    out = tmp_path / "out"
    result = harness(pytester, wheel, f"--pyodide-report-dir={out}")
    result.assert_outcomes(**EXPECTED)
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "junit.xml", "junit-node.xml", "index.html", "badge.svg",
            "badge-node.svg", "badge.json", "journal.jsonl"} <= names
    got = outcomes(out)
    assert got[("node", "tests/test_demo.py::test_xpass")] == "xpassed"
    assert got[("node", "tests/test_demo.py::test_setup_error")] == "error"
    assert got[("node", "tests/test_demo.py::test_skipped")] == "skipped"
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["runtime"] == "node" and props["pyodide_version"] == "314.0.7"
    assert props["wheel"] == wheel.name and len(props["wheel_sha256"] or "") == 64
    env = load_results(out).packages[0].runtimes[0].environment
    assert env["imported_from"].startswith("/lib/python3.14/site-packages/harnessdemo/")
    assert json.loads((out / "badge.json").read_text())["schemaVersion"] == 1


def test_shards_merge_back_to_the_unsharded_run(pytester: pytest.Pytester,
                                                project: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = project
    full = tmp_path / "full"
    harness(pytester, wheel, f"--pyodide-report-dir={full}")
    shards = []
    for k in (1, 2, 3):
        shard_dir = tmp_path / f"shard{k}"
        result = harness(pytester, wheel, f"--pyodide-report-dir={shard_dir}",
                         f"--pyodide-shard={k}/3")
        assert result.ret in (0, 1, 5)
        shards.append(shard_dir)
    merged = tmp_path / "merged"
    done = cli("merge", str(merged), *map(str, shards))
    assert done.returncode == 0, done.stderr
    assert outcomes(merged) == outcomes(full)
    shard_sets = [set(outcomes(d)) for d in shards]
    assert sum(len(s) for s in shard_sets) == len(outcomes(full))  # disjoint, complete


def test_baseline_gate(pytester: pytest.Pytester, project: tuple[Path, Path],
                       tmp_path: Path) -> None:
    root, wheel = project
    first = tmp_path / "first"
    harness(pytester, wheel, f"--pyodide-report-dir={first}")
    baseline = tmp_path / "pyodide-baseline.json"
    assert cli("baseline", str(first), "-o", str(baseline)).returncode == 0
    known = json.loads(baseline.read_text())["failures"]["node"]
    assert "tests/test_demo.py::test_raises" in known

    gated = harness(pytester, wheel, f"--pyodide-baseline={baseline}")
    assert gated.ret == pytest.ExitCode.OK, gated.stdout.str()[-2000:]
    gated.stdout.fnmatch_lines(["*pyodide-harness gate*", f"{len(known)} known failures still "
                                "failing (not counted), 0 fixed"])

    suite = root / "tests" / "test_demo.py"
    text = suite.read_text()
    suite.write_text(text.replace('raise ValueError("boom")', "pass")
                     + "\n\ndef test_new_failure():\n    assert False\n")
    changed = harness(pytester, wheel, f"--pyodide-baseline={baseline}", "-rf")
    assert changed.ret == pytest.ExitCode.TESTS_FAILED
    changed.stdout.fnmatch_lines([f"{len(known) - 1} known failures still failing (not counted), 1 fixed",
                                  "FIXED tests/test_demo.py::test_raises[[]node[]]"])
    changed.stdout.fnmatch_lines(["FAILED tests/test_demo.py::test_new_failure[[]node[]]*"])
    changed.stdout.no_fnmatch_line("FAILED tests/test_demo.py::test_raises[[]node[]]*")


def test_ini_xfail_rules_per_runtime(pytester: pytest.Pytester, project: tuple[Path, Path]) -> None:
    root, wheel = project
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + (
        'pyodide_xfail = [\n'
        '  "node tests/test_demo.py::test_raises boom is expected in Node",\n'
        '  "chromium tests/test_demo.py::test_prints_then_fails only in chromium",\n'
        ']\n'))
    result = harness(pytester, wheel, "-rfxX")
    result.stdout.fnmatch_lines(
        ["XFAIL tests/test_demo.py::test_raises[[]node[]] - boom is expected in Node"])
    result.stdout.fnmatch_lines(["FAILED tests/test_demo.py::test_prints_then_fails[[]node[]]*"])


def test_bad_baseline_and_shard_are_usage_errors(pytester: pytest.Pytester,
                                                 project: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = project
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = harness(pytester, wheel, f"--pyodide-baseline={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pyodide-harness baseline RESULTS" in result.stderr.str()
    result = harness(pytester, wheel, "--pyodide-shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Invalid shard '4/3'" in result.stderr.str()

"""benchmarks/: figures from data, never from text printed for people.

Nothing here boots a runtime: the harness side is a results.json written with the
harness's own results model, the bare runner's fold and pytest-pyodide's JUnit
reader run on real pytest runs of a suite built here, and compare.py's pairing
and BENCHMARKS.md section are checked on samples made here.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyodide_harness.results import PackageRun, Results, RuntimeRun, TestResult, save_results

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import compare  # noqa: E402
import peer  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import runs  # noqa: E402

# One test of each outcome the results model folds to (see docs/results-schema.md).
SUITE = """
import pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_passes():
    pass

def test_fails():
    assert 1 == 2, "one is not two"

def test_skips():
    pytest.skip("not here")

@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False

@pytest.mark.xfail(reason="fixed meanwhile")
def test_xpasses():
    pass

def test_setup_error(broken_setup):
    pass

def test_teardown_error(broken_teardown):
    pass
"""
FOLDED = {"passed": 1, "failed": 1, "skipped": 1, "xfailed": 1, "xpassed": 1, "error": 2}


@pytest.fixture
def bare_inner() -> Iterator[tuple[types.ModuleType, list[dict[str, object]]]]:
    """bare_inner.py with a stand-in for the bridge its JS side registers in Pyodide."""
    marks: list[dict[str, object]] = []
    bridge = types.ModuleType("bench_bridge")
    bridge.mark = lambda text: marks.append(json.loads(text))  # type: ignore[attr-defined]
    sys.modules["bench_bridge"] = bridge
    sys.modules.pop("bare_inner", None)
    import bare_inner

    yield bare_inner, marks
    sys.modules.pop("bench_bridge", None)
    sys.modules.pop("bare_inner", None)


def test_bare_runner_folds_outcomes_like_results_json(
        pytester: pytest.Pytester,
        bare_inner: tuple[types.ModuleType, list[dict[str, object]]]) -> None:
    module, marks = bare_inner
    pytester.makepyfile(test_suite=SUITE)
    pytester.inline_run("-p", "no:cacheprovider", plugins=[module._Marks()])
    collected = [m for m in marks if m["mark"] == "collected"]
    outcomes = [m for m in marks if m["mark"] == "outcomes"]
    assert collected == [{"mark": "collected", "tests": 7}]
    assert len(outcomes) == 1 and outcomes[0]["counts"] == FOLDED
    problems = outcomes[0]["problems"]
    assert isinstance(problems, list)
    assert problems[0] == "test_suite.py::test_fails: AssertionError: one is not two"


def test_bare_marks_are_read_by_line_start(tmp_path: Path) -> None:
    lines = ['.....                       [100%]', 'bare: {"mark": "done", "status": 0}',
             'bare: not json', 'xbare: {"mark": "done"}']
    result = procs.Result(["x"], 0, 1.0, [procs.Line(i / 10, t) for i, t in enumerate(lines)],
                         procs.Memory())
    assert runs.bare_marks(result) == [(0.1, {"mark": "done", "status": 0})]


def test_peer_outcomes_come_from_its_junit_xml(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    junit = pytester.path / "junit.xml"
    pytester.inline_run("-p", "no:cacheprovider", f"--junitxml={junit}")
    counts, problems = peer.junit_outcomes(junit)
    # JUnit has no xfailed/xpassed: xfail is a skip, xpass a pass (as junit_categories maps ours).
    assert counts == runs.junit_categories(FOLDED) == {"passed": 2, "failed": 1, "skipped": 2,
                                                       "error": 2}
    assert problems[0].startswith("test_suite::test_fails: ")
    assert peer.junit_outcomes(pytester.path / "missing.xml") == ({}, [])


def _results(tmp_path: Path) -> Path:
    node = RuntimeRun("node", timings={"launch": 0.5, "boot": 3.0, "install": 0.25,
                                       "collection": 1.5, "run": 2.0},
                      instances={"node": 2}, duration=7.5, tests=[
                          TestResult("t.py::a", "passed", "call", 0.1),
                          TestResult("t.py::b", "failed", "call", 0.1, message="AssertionError: no")])
    firefox = RuntimeRun("firefox", tests=[TestResult("t.py::a", "skipped", "setup", 0.0)])
    results = Results([PackageRun("pkg", "1.0", "pkg-1.0-py3-none-any.whl", "0" * 64,
                                  runtimes=[node, firefox])])
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    save_results(results, report_dir / "results.json")
    return report_dir


def test_harness_figures_come_from_results_json_and_stamps(tmp_path: Path) -> None:
    results = runs.read_results(_results(tmp_path))
    assert results is not None
    counts, problems = runs.outcomes_of(results)
    assert counts == {"passed": 1, "failed": 1, "skipped": 1}
    assert problems == ["[node] t.py::b: AssertionError: no"]
    assert runs.outcomes_of(results, ["firefox"])[0] == {"skipped": 1}
    spawned = 100.0
    phases = runs.harness_phases(results, {"started": {"node": 100.75}, "finished": {"node": 108.5}},
                                 spawned)
    node = phases["node"]
    assert (node.started, node.launch, node.boot, node.install, node.collect, node.execute,
            node.done, node.tests) == (0.75, 0.5, 3.0, 0.25, 1.5, 2.0, 8.5, 2)
    assert node.ready == 0.75 + 0.5 + 3.0 + 0.25
    assert phases["firefox"].started is None and phases["firefox"].ready is None
    run = runs.Run("harness", "pkg", ("node",), procs.Result(["x"], 0, 9.0, [], procs.Memory()),
                   phases={"node": node}, counts=counts)
    assert run.prep == 0.75 and run.teardown == 0.5 and run.ok
    assert runs.read_results(tmp_path / "nothing") is None


def _sample(case: str, side: str, rep: int, wall: float) -> compare.Sample:
    return compare.Sample(case, side, rep, wall, None, {"passed": 1})


def test_compare_takes_ratios_pair_by_pair() -> None:
    samples = [_sample("c", "old", 0, 10.0), _sample("c", "new", 0, 11.0),
               _sample("c", "old", 1, 20.0), _sample("c", "new", 1, 20.0),
               _sample("c", "new", 2, 5.0),  # its pair never ran: no ratio
               _sample("d", "old", 0, 1.0)]
    assert compare.pair_ratios(samples, "c", "new", "old") == [1.1, 1.0]
    assert compare.pair_ratios(samples, "c", "new", "old", "cpu") == []
    assert compare.spread([1.0, 3.0, 2.0]) == "2.00 (1.00-3.00)"
    assert compare.spread([]) == "-"
    first, second = compare.interleave(["old", "new"], 0), compare.interleave(["old", "new"], 1)
    assert first == ["old", "new"] and second == ["new", "old"]


def test_compare_section_is_placed_then_replaced_and_kept_by_run_py() -> None:
    page = "# Benchmarks\n\nMade by run.py\n\n## Machine and versions\n\n| a | b |\n"
    section = f"{report.COMPARE_BEGIN}\n## Against the previous main\n\nfirst\n{report.COMPARE_END}"
    placed = report.splice_compare(page, section)
    assert placed.index("first") < placed.index("## Machine and versions")
    assert report.compare_section(placed) == section
    again = report.splice_compare(placed, section.replace("first", "second"))
    assert "first" not in again and again.count(report.COMPARE_BEGIN) == 1
    rewritten = "# Benchmarks\n\nMade by run.py again\n\n## Machine and versions\n"
    kept = report.splice_compare(rewritten, report.compare_section(again) or "")
    assert "second" in kept and "again" in kept
    assert report.splice_compare("# Benchmarks\n", section).endswith(report.COMPARE_END + "\n")


def test_compare_names_the_options_that_shaped_its_figures(tmp_path: Path) -> None:
    opts = compare.parse_args(["--ref", "abc", "--repeat", "3", "--tests", "5000", "--only", "node",
                               "--workdir", str(tmp_path), "--output", "-"])
    assert compare.command_line(opts) == "--ref abc --repeat 3 --tests 5000 --only node"
    assert opts.output is None
    default = compare.parse_args(["--workdir", str(tmp_path)])
    assert compare.command_line(default) == f"--ref {compare.DEFAULT_REF} --repeat 5"

"""The ``pyodide-harness`` command line: merge, report, badge, baseline, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
from pyodide_harness.reportdir import load_results
from pyodide_harness.results import (
    NEWER_SCHEMA,
    NO_RESULTS_FILE,
    SCHEMA_VERSION,
    Results,
    save_results,
)

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


@pytest.mark.parametrize("command", [[], ["merge"], ["report"], ["badge"], ["baseline"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == EXIT_OK
    assert "usage: pyodide-harness" in capsys.readouterr().out


def test_every_subcommand_is_in_the_parser() -> None:
    help_text = build_parser().format_help()
    for command in ("merge", "report", "badge", "baseline"):
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

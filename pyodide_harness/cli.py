"""The ``pyodide-harness`` command: merge shards, re-render reports, badges, baselines,
and ``pyodide_xfail`` lines for the failures of a run (``xfails``).

Everything here works from ``results.json`` alone, so CI can run tests in shards or
per wheel and put one report together afterwards without Pyodide or a browser.
Usage errors and unreadable inputs exit 4 (pytest's usage-error status) with one line
naming the file and the fix; a ``HarnessError`` exits with its own code.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pyodide_harness import __version__
from pyodide_harness.errors import EXIT_OK, EXIT_USAGEERROR, HarnessError
from pyodide_harness.reportdir import load_results, results_path
from pyodide_harness.reports import fill_causes, write_badges, write_reports
from pyodide_harness.results import ERROR, FAILED, Results, merge_results
from pyodide_harness.xfails import render_toml, xfail_entries

PROG = "pyodide-harness"
BASELINE_SCHEMA = "pyodide-harness-baseline"
BASELINE_SCHEMA_VERSION = 1
BASELINE_FILENAME = "pyodide-baseline.json"

NO_INPUTS = (
    "merge: no inputs given; pass one or more results.json files or report directories "
    "after OUT_DIR"
)
CANNOT_WRITE = "cannot write {path}: {error}; choose a directory you can write to"
MERGE_NOTE = "note: {note}"
WROTE = "wrote {count} files to {out_dir}"
WROTE_BASELINE = "wrote {path} ({count} failing tests)"
XFAILS_NOTE = "note: {note}"
COVERAGE_MERGED = "coverage data of {runtimes} in {out_dir}"
COVERAGE_NOT_MERGED = "note: coverage data not merged: {why}"


class _Parser(argparse.ArgumentParser):
    """argparse that exits 4 on usage errors, like pytest, instead of 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGEERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Merge, re-render and summarise pyodide-harness results (results.json)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    merge = commands.add_parser(
        "merge",
        help="Combine results of shards or several wheels into one report set",
        description="Combine results of shards (same wheel and runtime: union of tests; a "
        "test in two shards keeps the worse outcome) or of several wheels, and write every "
        "report into OUT_DIR",
    )
    merge.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="Directory for the reports")
    merge.add_argument(
        "inputs", metavar="INPUT", nargs="*", type=Path,
        help="A results.json or a report directory holding one",
    )

    report = commands.add_parser(
        "report",
        help="Re-render every report from a results.json",
        description="Re-render results.json, JUnit XML, index.html and badges",
    )
    report.add_argument("results", metavar="RESULTS", type=Path,
                        help="A results.json or a report directory holding one")
    report.add_argument("out_dir", metavar="OUT_DIR", type=Path, nargs="?",
                        help="Directory for the reports (default: the results' directory)")

    badge = commands.add_parser(
        "badge",
        help="Write only the badges",
        description="Write badge.svg, badge.json (shields.io endpoint) and badge-<runtime>.svg",
    )
    badge.add_argument("results", metavar="RESULTS", type=Path,
                       help="A results.json or a report directory holding one")
    badge.add_argument("out_dir", metavar="OUT_DIR", type=Path, nargs="?",
                       help="Directory for the badges (default: the results' directory)")

    baseline = commands.add_parser(
        "baseline",
        help="Write the failing tests per runtime as a baseline file",
        description="Write the failed and errored tests of each runtime to a baseline file",
    )
    baseline.add_argument("results", metavar="RESULTS", type=Path,
                          help="A results.json or a report directory holding one")
    baseline.add_argument("-o", "--output", metavar="FILE", type=Path,
                          default=Path(BASELINE_FILENAME),
                          help=f"Where to write the baseline (default: {BASELINE_FILENAME})")

    xfails = commands.add_parser(
        "xfails",
        help="Print pyodide_xfail lines that turn the current failures into expected failures",
        description="Print a pyodide_xfail block for pyproject.toml's [tool.pytest.ini_options]: "
        "one 'RUNTIME TEST-ID CAUSE' line per failing test, grouped by cause ('*' for a test "
        "failing in every runtime of the run). Pasted, the next run counts these tests as "
        "expected failures. What it cannot cover (tests never run, collection errors, "
        "runtime errors) is named on stderr",
    )
    xfails.add_argument("results", metavar="REPORT_DIR", type=Path,
                        help="A report directory, or the results.json in one")
    return parser


def baseline_failures(results: Results) -> dict[str, list[str]]:
    """Failed and errored node ids per runtime, sorted, for a baseline file.

    With several packages the node ids of all packages share their runtime's list.
    """
    failures: dict[str, set[str]] = {}
    for package in results.packages:
        for run in package.runtimes:
            nodeids = failures.setdefault(run.runtime, set())
            nodeids.update(test.nodeid for test in run.tests if test.outcome in (FAILED, ERROR))
    return {runtime: sorted(ids) for runtime, ids in failures.items()}


def baseline(results: Results) -> dict[str, object]:
    """The baseline document written by ``pyodide-harness baseline``."""
    return {
        "schema": BASELINE_SCHEMA,
        "schema_version": BASELINE_SCHEMA_VERSION,
        "failures": baseline_failures(results),
    }


def _default_out(source: Path) -> Path:
    return results_path(source).parent


def _merge(args: argparse.Namespace) -> int:
    inputs: list[Path] = args.inputs
    if not inputs:
        raise HarnessError(NO_INPUTS)
    loaded = [(str(results_path(path)), load_results(path)) for path in inputs]
    merged, notes = merge_results(loaded)
    for note in notes:
        print(MERGE_NOTE.format(note=note), file=sys.stderr)
    written = write_reports(merged, args.out_dir)
    written += _merge_coverage([results_path(path).parent for path in inputs], args.out_dir)
    print(WROTE.format(count=len(written), out_dir=args.out_dir))
    return EXIT_OK


def _merge_coverage(report_dirs: list[Path], out_dir: Path) -> list[Path]:
    """The inputs' coverage data (``--pyodide-cov``), merged per runtime, read with the
    coverage config of the current directory (the project)."""
    if not any((d / "coverage").is_dir() for d in report_dirs):
        return []
    if importlib.util.find_spec("coverage") is None:
        print(COVERAGE_NOT_MERGED.format(why="coverage.py is not installed here (pip install "
                                         "coverage)"), file=sys.stderr)
        return []
    from pyodide_harness.covdata import merge
    from pyodide_harness.reports.coverage import write_coverage_reports

    summaries, notes = merge(report_dirs, out_dir, Path.cwd())
    if not summaries:
        return []
    written = write_coverage_reports(summaries, notes, out_dir)
    print(COVERAGE_MERGED.format(runtimes=", ".join(s.name for s in summaries),
                                 out_dir=out_dir / "coverage"))
    return [Path(s.data_file) for s in summaries] + written


def _report(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    out_dir = args.out_dir or _default_out(args.results)
    written = write_reports(results, out_dir)
    print(WROTE.format(count=len(written), out_dir=out_dir))
    return EXIT_OK


def _badge(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    out_dir = args.out_dir or _default_out(args.results)
    written = write_badges(results, out_dir)
    print(WROTE.format(count=len(written), out_dir=out_dir))
    return EXIT_OK


def _baseline(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    path: Path = args.output
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline(results), indent=2, ensure_ascii=True)
    path.write_text(text + "\n", encoding="utf-8")
    failures = baseline_failures(results)
    print(WROTE_BASELINE.format(path=path, count=sum(len(ids) for ids in failures.values())))
    return EXIT_OK


def _xfails(args: argparse.Namespace) -> int:
    results = fill_causes(load_results(args.results))
    entries, notes = xfail_entries(results)
    text = render_toml(results, entries, notes)
    for note in notes:
        print(XFAILS_NOTE.format(note=note), file=sys.stderr)
    sys.stdout.write(text)
    return EXIT_OK


COMMANDS = {"merge": _merge, "report": _report, "badge": _badge, "baseline": _baseline,
            "xfails": _xfails}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGEERROR
    try:
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "the output"
        print(f"{PROG}: error: " + CANNOT_WRITE.format(path=where, error=exc.strerror or exc),
              file=sys.stderr)
        return EXIT_USAGEERROR


if __name__ == "__main__":
    sys.exit(main())

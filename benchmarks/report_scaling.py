"""How the report writers scale: ``python3 benchmarks/report_scaling.py [--sizes 1,2,4,8,16]``.

Issue 12 found the JUnit writer quadratic in a test's output (1, 2, 4, 8 MB: 0.2, 0.6,
1.9, 9.6 s; a 50 MB test never got its reports). This builds, in memory, results with
one failing test whose captured stdout is N MB (lines with ANSI colours and a control
character, as real output has), times each writer on it and prints a table with the
ratio time(largest) / time(smallest): about the size ratio (16 for 1..16 MB) when a
writer is linear, its square (256) when it is quadratic. A second table does the same
for the number of tests (three runtimes, every outcome), the other input that grows.

Each figure is the best of ``--repeat`` runs, in CPU seconds of this process (user +
system) by default: on a shared machine other processes stretch wall time unevenly and
blur the ratios, while CPU time is what the writer itself costs. ``--clock wall`` times
wall-clock seconds instead. It is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pyodide_harness.reports import write_badges, write_html, write_junit, write_reports
from pyodide_harness.results import (
    OUTCOMES,
    PackageRun,
    Results,
    RuntimeRun,
    TestResult,
    save_results,
)

MB = 1024 * 1024
LINE = "output line \x1b[32mgreen\x1b[0m, tab\there, bell \x07, and some more ordinary text\n"
RUNTIMES = ("node", "chromium", "firefox")

Writer = Callable[[Results, Path], object]
WRITERS: dict[str, Writer] = {
    "results.json": lambda results, out: save_results(results, out / "results.json"),
    "junit": write_junit,
    "html": write_html,
    "badges": write_badges,
    "all": write_reports,
}


def big_output(megabytes: int) -> Results:
    """One package, one runtime, one failing test whose stdout is *megabytes* MB."""
    text = LINE * (megabytes * MB // len(LINE) + 1)
    test = TestResult(
        "tests/test_big.py::test_prints_a_lot", "failed", "call", 1.0,
        longrepr="def test_prints_a_lot():\n>       assert False\nE       assert False",
        sections=[("Captured stdout call", text[: megabytes * MB])],
        message="assert False",
    )
    run = RuntimeRun("node", {"pyodide_version": "314.0.0"}, [test], [], 1.0)
    return Results([PackageRun("big", "1.0", "big-1.0-py3-none-any.whl", "0" * 64, {}, [run])])


def many_tests(count: int) -> Results:
    """One package with *count* tests in each of three runtimes, outcomes mixed."""
    runs = []
    for runtime in RUNTIMES:
        tests = []
        for number in range(count):
            outcome = OUTCOMES[(number + len(runtime)) % len(OUTCOMES)]
            tests.append(TestResult(
                f"tests/test_mod{number // 100}.py::test_case[{number}]", outcome, "call", 0.001,
                longrepr=f"E   assert {number} == 0\n" if outcome == "failed" else "",
                sections=[("Captured stdout call", f"test {number} says hello\n")],
                message=f"assert {number} == 0" if outcome == "failed" else "",
            ))
        runs.append(RuntimeRun(runtime, {"pyodide_version": "314.0.0"}, tests, [], 1.0))
    return Results([PackageRun("many", "1.0", "many-1.0-py3-none-any.whl", "0" * 64, {}, runs)])


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def best_time(writer: Writer, results: Results, repeat: int, clock: Callable[[], float]
              ) -> float:
    """The fastest of *repeat* runs of *writer*, each into a fresh directory."""
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            gc.collect()
            start = clock()
            writer(results, Path(scratch))
            best = min(best, clock() - start)
    return best


def table(title: str, unit: str, sizes: Sequence[int], build: Callable[[int], Results],
          repeat: int, clock: str) -> None:
    """Time every writer for each size and print a markdown table with the scaling ratio."""
    times: dict[int, dict[str, float]] = {}
    for size in sizes:
        results = build(size)
        times[size] = {name: best_time(writer, results, repeat, CLOCKS[clock])
                       for name, writer in WRITERS.items()}
        del results
    print(f"\n{title} ({clock} seconds, best of {repeat})\n")
    print(f"| {unit} | " + " | ".join(WRITERS) + " |")
    print("|---:|" + "---:|" * len(WRITERS))
    for size in sizes:
        print(f"| {size} | " + " | ".join(f"{times[size][name]:.3f}" for name in WRITERS) + " |")
    first, last = sizes[0], sizes[-1]
    ratios = " | ".join(
        f"{times[last][name] / times[first][name]:.1f}" if times[first][name] > 0 else "-"
        for name in WRITERS
    )
    print(f"| time({last}) / time({first}) | {ratios} |")
    print(f"\n(linear: about {last / first:g}; quadratic: about {(last / first) ** 2:g})")


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[1, 2, 4, 8, 16],
                        help="MB of output of the one test (default: 1,2,4,8,16)")
    parser.add_argument("--tests", type=_sizes, default=[1000, 2000, 4000, 8000, 16000],
                        help="Tests per runtime for the second table (empty to skip)")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per figure, best kept")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="CPU time of this process (default) or wall-clock time")
    args = parser.parse_args(argv)
    table("One test with N MB of captured output", "MB", args.sizes, big_output, args.repeat,
          args.clock)
    if args.tests:
        table("N tests in each of three runtimes", "tests", args.tests, many_tests, args.repeat,
              args.clock)


if __name__ == "__main__":
    main()

"""What ``--pyodide-cov`` costs: the same suites with coverage off and on, per runtime (issue 16).

    python benchmarks/coverage_overhead.py [--repeat 2] [--runtime node ...] [--workdir DIR]

Subjects: msgpack 1.2.4's own suite with its wasm wheel from PyPI (its Python modules
measured, its compiled extension not), a pure suite of 1,000 trivial tests (what
coverage's per-test flush costs when each test runs one line), and a pure suite of 50
busy tests (about 10^7 lines of Python each run: what measuring every line costs with
coverage.py's ``sys.monitoring`` core on Python 3.14). Each runtime runs each subject
alone; every repetition runs off, on (the order flipping each repetition) back to back,
so a machine that gets busier moves both alike, and the ratio on/off is taken pair by
pair. One unmeasured run of each (subject, mode) first fills the harness cache
(coverage.py's wheel, the distribution).

Figures, from each run's results.json and the host's clock: **wall**, spawn to exit,
and **tests**, the runtime's run phase (first test to last: where coverage measures),
medians over the repetitions. The outcomes of the off and on runs must agree. The
table is printed; nothing is written elsewhere.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import runs
import subjects
from compare import interleave
from report import s, table

ALL_RUNTIMES = ("node", "chromium", "firefox")


@dataclass(frozen=True)
class Sample:
    wall: float
    tests: float | None
    counts: dict[str, int]


def measure(subject: subjects.Subject, runtime: str, cache: Path, on: bool) -> Sample:
    extra = [f"--pyodide-cov={subject.top_level[0]}"] if on else []
    run = runs.run_harness(subject, [runtime], cache, extra=extra, timeout=1800.0)
    if not run.ok:
        raise SystemExit(f"{subject.name} on {runtime} (coverage {'on' if on else 'off'}) did not "
                         f"finish:\n{run.problem()}")
    phases = run.phases.get(runtime)
    return Sample(run.wall, phases.execute if phases else None, run.counts)


def ratio_median(pairs: list[tuple[float | None, float | None]]) -> float | None:
    ratios = [on / off for off, on in pairs if off and on is not None]
    return statistics.median(ratios) if ratios else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="off/on pairs per case (default 2)")
    parser.add_argument("--runtime", action="append", choices=ALL_RUNTIMES,
                        help="runtimes to measure (default all three)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory (subjects, cache); kept when given")
    args = parser.parse_args(argv)
    runtimes = args.runtime or list(ALL_RUNTIMES)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cov-overhead-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    try:
        cases = [subjects.make_msgpack(work), subjects.make_synthetic(work, 1000),
                 subjects.make_synthetic(work, 50, busy=True)]
        for subject in cases:  # warm the cache: coverage.py's wheel, the runtimes' files
            for on in (False, True):
                measure(subject, runtimes[0], cache, on)
        rows = []
        for subject in cases:
            for runtime in runtimes:
                samples: dict[bool, list[Sample]] = {False: [], True: []}
                for rep in range(args.repeat):
                    for on in interleave((False, True), rep):
                        samples[on].append(measure(subject, runtime, cache, on))
                off, on_ = samples[False], samples[True]
                agree = all(a.counts == b.counts for a, b in zip(off, on_, strict=True))
                rows.append([
                    subject.name, runtime,
                    s(statistics.median(x.wall for x in off), 1),
                    s(statistics.median(x.wall for x in on_), 1),
                    s(ratio_median([(a.wall, b.wall) for a, b in zip(off, on_, strict=True)])),
                    s(statistics.median([x.tests for x in off if x.tests is not None] or [0.0])),
                    s(statistics.median([x.tests for x in on_ if x.tests is not None] or [0.0])),
                    s(ratio_median([(a.tests, b.tests) for a, b in zip(off, on_, strict=True)])),
                    "yes" if agree else f"NO: {off[0].counts} vs {on_[0].counts}",
                ])
        print(f"Coverage off vs on (--pyodide-cov), medians of {args.repeat} pairs; "
              "tests = the runtime's run phase, first test to last\n")
        print("\n".join(table(["subject", "runtime", "wall off s", "wall on s", "wall on/off",
                               "tests off s", "tests on s", "tests on/off", "same outcomes"],
                              rows)))
        return 0 if all(row[-1] == "yes" for row in rows) else 1
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

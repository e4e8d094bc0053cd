"""The benchmark suite of issue 6: ``python benchmarks/run.py [--quick] [--repeat N] [--only node]``.

It measures, side by side in one run, the harness against the limit (a bare
script per runtime that boots Pyodide, installs the same wheels from local
files and calls pytest.main once), on synthetic suites of trivial tests and on
msgpack's own suite; three runtimes together against each alone; a cold cache
against a warm one; peak memory; pytest-pyodide ``--run-in-pyodide`` where it
runs here; and ``--pyodide-workers`` scaling once that option exists. Every
figure is a median over ``--repeat`` repetitions, taken from outside the
processes (see ``procs.py`` and ``runs.py``). The markdown report is printed
and written to BENCHMARKS.md at the repository root.

Run it on an idle machine: the runtimes compete for the cores with anything
else that runs. ``--quick`` (1 repetition, small suites) is for checking the
benchmark itself, not for figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import peer as peer_mod
import pytest
import report
import runs
import subjects
from report import Context, Report, Results, Tagged

import pyodide_harness
from pyodide_harness import distribution

HERE = Path(__file__).resolve().parent  # on sys.path: `python benchmarks/run.py` runs this file
REPO = HERE.parent
ALL_RUNTIMES = ("node", "chromium", "firefox")
SIZES = (100, 1000, 5000)
QUICK_SIZES = (20, 100, 300)
WORKERS_OPTION = "--pyodide-workers"
BUSY_TESTS = 200  # the workers' second subject: tests that compute (subjects.BUSY_LOOPS)


@dataclass(frozen=True)
class Options:
    quick: bool
    repeat: int
    runtimes: tuple[str, ...]
    sizes: tuple[int, ...]
    workdir: Path
    output: Path
    peer: bool
    cold: bool
    echo: bool


def parse_runtimes(values: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for value in values:
        for name in value.replace(" ", ",").split(","):
            if not name:
                continue
            if name not in ALL_RUNTIMES:
                raise argparse.ArgumentTypeError(
                    f"unknown runtime {name!r}; choose from {', '.join(ALL_RUNTIMES)}")
            names.append(name)
    return tuple(dict.fromkeys(names)) or ALL_RUNTIMES


def parse_args(argv: Sequence[str] | None = None) -> Options:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true",
                    help=f"1 repetition, suites of {', '.join(map(str, QUICK_SIZES))} tests, no warm-up")
    ap.add_argument("--repeat", type=int, default=None, metavar="N",
                    help="Repetitions of every measurement (default 3; 1 with --quick)")
    ap.add_argument("--only", action="append", default=[], metavar="RUNTIME",
                    help="Runtimes to measure: node, chromium, firefox (repeat or comma-separate)")
    ap.add_argument("--sizes", default=None, metavar="N,N,N",
                    help=f"Synthetic suite sizes (default {','.join(map(str, SIZES))})")
    ap.add_argument("--workdir", type=Path,
                    default=Path(tempfile.gettempdir()) / "pyodide-harness-bench",
                    help="Scratch directory: subjects, caches, pytest-pyodide's venv (kept between runs)")
    ap.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md", help="Report file")
    ap.add_argument("--no-peer", action="store_true", help="Skip pytest-pyodide")
    ap.add_argument("--no-cold", action="store_true", help="Skip the cold-cache runs (they download)")
    ap.add_argument("--echo", action="store_true", help="Stream every run's output")
    a = ap.parse_args(argv)
    try:
        runtimes = parse_runtimes(a.only)
    except argparse.ArgumentTypeError as exc:
        ap.error(str(exc))
    sizes = tuple(int(n) for n in a.sizes.split(",")) if a.sizes else (QUICK_SIZES if a.quick else SIZES)
    repeat = a.repeat if a.repeat is not None else (1 if a.quick else 3)
    if repeat < 1 or not sizes or min(sizes) < 1:
        ap.error("--repeat and --sizes need positive numbers")
    return Options(a.quick, repeat, runtimes, tuple(sorted(set(sizes))), a.workdir.resolve(),
                   a.output.resolve(), not a.no_peer, not a.no_cold, a.echo)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def command_output(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"? ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"


def machine() -> dict[str, str]:
    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"cores (nproc)": str(os.cpu_count() or "?"), "CPU": cpu, "RAM": ram,
            "OS": platform.platform(), "load average at start": load}


def harness_revision() -> str:
    head = command_output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "pyodide_harness"],
                           capture_output=True, text=True).stdout.strip()
    return f"{pyodide_harness.__version__} ({head}{', pyodide_harness/ modified' if dirty else ''})"


def has_workers_option(scratch: Path) -> bool:
    out = subprocess.run([sys.executable, "-m", "pytest", *runs.HARNESS_PLUGIN, "--help"], cwd=scratch,
                         capture_output=True, text=True, env=runs.environment(scratch))
    return WORKERS_OPTION in out.stdout


class Bench:
    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.results = Results()
        self.work = opts.workdir
        self.cache = self.work / "cache"
        self.scratch = self.work / "scratch"
        self.count = 0
        self.started = time.monotonic()
        self.peer: peer_mod.Peer | None = None
        self.peer_runtimes: tuple[str, ...] = ()
        self.versions: dict[str, str] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    def record(self, variant: str, rep: int, run: runs.Run) -> runs.Run:
        self.count += 1
        elapsed = time.monotonic() - self.started
        tag = f" [{variant}]" if variant else ""
        outcome = ", ".join(f"{n} {k}" for k, n in run.counts.items()) or "no outcome"
        say(f"  {elapsed:6.0f}s  #{self.count} rep {rep + 1} {run.kind}{tag} {run.subject} "
            f"{'+'.join(run.runtimes)}: {run.wall:.2f}s ({outcome})")
        if not run.ok:
            self.results.notes.append(f"rep {rep + 1}, {variant or 'main'}: {run.problem()}")
            say("    !! " + run.problem().replace("\n", "\n    !! "))
        self.results.runs.append(Tagged(variant, rep, run))
        return run

    # -- preparation ---------------------------------------------------------------------------
    def prepare(self) -> tuple[list[subjects.Subject], Path]:
        for d in (self.work, self.cache, self.scratch):
            d.mkdir(parents=True, exist_ok=True)
        say(f"preparing in {self.work}")
        dist = distribution.obtain_distribution(cache=self.cache, log=lambda m: say("  " + m)).path
        made = [subjects.make_synthetic(self.work, n) for n in self.o.sizes]
        made.append(subjects.make_msgpack(self.work))
        done = [subjects.complete(s, self.cache, self.scratch) for s in made]
        self.busy = subjects.complete(subjects.make_synthetic(self.work, BUSY_TESTS, busy=True),
                                      self.cache, self.scratch)
        node = runs.node_binary()
        self.versions = {
            "pyodide-harness": harness_revision(),
            "Pyodide": distribution.obtain_distribution(cache=self.cache).version,
            "Python (host)": platform.python_version(),
            "pytest (host and in-runtime)": pytest.__version__,
            "Node": command_output([str(node), "--version"]) + f" ({node})",
            "Chromium": command_output(["/usr/bin/chromium", "--version"]),
            "Firefox": command_output(["/usr/bin/firefox-esr", "--version"]),
            "Playwright": _dist_version("playwright"),
            "msgpack": subjects.MSGPACK_VERSION,
        }
        return done, dist

    def setup_peer(self, dist: Path, subjects_: Sequence[subjects.Subject]) -> None:
        if not self.o.peer:
            for rt in self.o.runtimes:
                self.results.not_run[f"pytest-pyodide {rt}"] = "skipped (--no-peer)"
            return
        runnable: list[str] = []
        for rt in self.o.runtimes:
            why = peer_mod.unavailable(rt)
            if why:
                self.results.not_run[f"pytest-pyodide {rt}"] = why
            else:
                runnable.append(rt)
        if not runnable:
            return
        deps = {d for s in subjects_ for d in s.deps}
        try:
            self.peer = peer_mod.setup(self.work, dist, deps, subjects_)
        except (peer_mod.PeerUnavailable, subprocess.CalledProcessError, OSError) as exc:
            for rt in runnable:
                self.results.not_run[f"pytest-pyodide {rt}"] = f"could not be set up: {exc}"
            return
        self.versions["pytest-pyodide"] = self.peer.version
        smallest = subjects_[0]
        for rt in runnable:
            plain = peer_mod.canary(self.peer, smallest, rt, self.cache, self.work, workaround=False)
            fixed = peer_mod.canary(self.peer, smallest, rt, self.cache, self.work, workaround=True)
            say(f"  pytest-pyodide canary on {rt}: as released {plain or 'no outcome'}; "
                f"with the #81 workaround {fixed or 'no outcome'}")
            if (fixed.get("passed"), fixed.get("failed")) != (1, 1):
                self.results.not_run[f"pytest-pyodide {rt}"] = (
                    f"its runs do not execute the tests even with the workaround (canary: {fixed})")
                continue
            self.results.notes.append(
                f"pytest-pyodide {self.peer.version} on {rt}: a canary suite (one test that passes only "
                "in Pyodide, one that always fails) reports "
                + (", ".join(f"{n} {k}" for k, n in plain.items()) or "no outcome")
                + " as released (pyodide/pytest-pyodide#81) and 1 failed, 1 passed with the "
                "benchmark's workaround (peer_plugin.py), which all its figures use.")
            self.peer_runtimes = (*self.peer_runtimes, rt)

    # -- the measurements ------------------------------------------------------------------------
    def main_runs(self, rep: int, subjects_: Sequence[subjects.Subject], dist: Path,
                  concurrency: Sequence[str]) -> None:
        for subject in subjects_:
            for rt in self.o.runtimes:
                self.record("", rep, runs.run_bare(subject, rt, dist, self.scratch, self.cache,
                                                   echo=self.o.echo))
                self.record("", rep, runs.run_harness(subject, [rt], self.cache, echo=self.o.echo))
            if len(self.o.runtimes) > 1 and subject.name in concurrency:
                self.record("", rep, runs.run_harness(subject, self.o.runtimes, self.cache,
                                                      echo=self.o.echo))

    def cold_runs(self, rep: int, real: subjects.Subject) -> None:
        rt = self.o.runtimes[0]
        cold = self.work / "cold-cache"
        if cold.exists():
            shutil.rmtree(cold)
        cold.mkdir()
        # Nothing cached anywhere: npm's and pip's own caches are fresh too.
        env = {"npm_config_cache": str(cold / "npm-cache"), "PIP_CACHE_DIR": str(cold / "pip-cache")}
        self.record("cold", rep, runs.run_harness(real, [rt], cold / "harness", env=env, echo=self.o.echo))
        self.record("warm", rep, runs.run_harness(real, [rt], cold / "harness", env=env, echo=self.o.echo))
        shutil.rmtree(cold, ignore_errors=True)

    def peer_runs(self, rep: int, peer_subjects: Sequence[subjects.Subject]) -> None:
        if self.peer is None:
            return
        for subject in peer_subjects:
            for rt in self.peer_runtimes:
                self.record("", rep, peer_mod.run_peer(self.peer, subject, rt, self.cache,
                                                       echo=self.o.echo))

    def worker_runs(self, rep: int, subjects_: Sequence[subjects.Subject]) -> None:
        """1, 2, 4 workers; counts above the core count are not run: the harness caps
        them at the core count, so they would repeat that run (the table says so)."""
        cores = os.cpu_count() or 1
        for subject in subjects_:
            for rt in self.o.runtimes:
                for n in report.WORKER_COUNTS:
                    if n > cores:
                        continue
                    self.record(f"workers={n}", rep, runs.run_harness(
                        subject, [rt], self.cache, extra=[f"{WORKERS_OPTION}={n}"], echo=self.o.echo))

    def memory_runs(self, real: subjects.Subject, dist: Path) -> None:
        for rt in self.o.runtimes:
            self.record("memory", 0, runs.run_bare(real, rt, dist, self.scratch, self.cache, pss=True))
            self.record("memory", 0, runs.run_harness(real, [rt], self.cache, pss=True))
        if len(self.o.runtimes) > 1:
            self.record("memory", 0, runs.run_harness(real, self.o.runtimes, self.cache, pss=True))
        if self.peer is not None:
            for rt in self.peer_runtimes:
                self.record("memory", 0, peer_mod.run_peer(self.peer, real, rt, self.cache, pss=True))

    def run(self) -> str:
        subjects_, dist = self.prepare()
        synthetic = [s for s in subjects_ if s.synthetic]
        real = next(s for s in subjects_ if not s.synthetic)
        middle = synthetic[len(synthetic) // 2]
        concurrency = (middle.name, real.name)
        peer_subjects = (synthetic[0], real)
        workers = has_workers_option(self.scratch)
        self.setup_peer(dist, subjects_)
        if not self.o.quick:
            say("warm-up (not recorded)")
            for rt in self.o.runtimes:
                self.record("warmup", 0, runs.run_bare(synthetic[0], rt, dist, self.scratch, self.cache))
                self.record("warmup", 0, runs.run_harness(synthetic[0], [rt], self.cache))
        for rep in range(self.o.repeat):
            say(f"repetition {rep + 1}/{self.o.repeat}")
            self.main_runs(rep, subjects_, dist, concurrency)
            if self.o.cold:
                self.cold_runs(rep, real)
            self.peer_runs(rep, peer_subjects)
            if workers:
                self.worker_runs(rep, (middle, self.busy))
        say("memory (one run each, PSS sampled)")
        self.memory_runs(real, dist)
        ctx = Context(
            runtimes=self.o.runtimes,
            subjects=tuple(s.name for s in subjects_),
            sizes={s.name: s.tests for s in synthetic if s.tests is not None},
            real=real.name,
            concurrency_subjects=concurrency,
            peer_subjects=tuple(s.name for s in peer_subjects) if self.peer_runtimes else (),
            worker_subjects=(middle.name, self.busy.name),
            cores=os.cpu_count() or 1,
            workers_option=workers,
            quick=self.o.quick,
        )
        self.check_outcomes(subjects_)
        self.save_raw()
        return render(self.o, ctx, Report(self.results, ctx), self.versions, time.monotonic() - self.started)

    def check_outcomes(self, subjects_: Sequence[subjects.Subject]) -> None:
        """The harness and the bare runner must see the same tests and outcomes."""
        for subject in subjects_:
            for rt in self.o.runtimes:
                bare = self.results.select("bare", subject.name, [rt])
                harness = self.results.select("harness", subject.name, [rt])
                if bare and harness and bare[0].counts != harness[0].counts:
                    self.results.notes.append(
                        f"{subject.name} on {rt}: bare outcomes {bare[0].counts} differ from the "
                        f"harness's {harness[0].counts}; bare: {bare[0].first_problem()}; "
                        f"harness: {harness[0].first_problem()}")
                peer = self.results.select("pytest-pyodide", subject.name, [rt])
                if peer and harness and runs.junit_categories(peer[0].counts) != runs.junit_categories(
                        harness[0].counts):
                    self.results.notes.append(
                        f"pytest-pyodide on {subject.name}, {rt}: outcomes {peer[0].counts}, the "
                        f"harness's {harness[0].counts}; first: {peer[0].first_problem()}")

    def save_raw(self) -> None:
        raw = [{"variant": t.variant, "rep": t.rep, "kind": t.run.kind, "subject": t.run.subject,
                "runtimes": list(t.run.runtimes), "wall": t.run.wall, "ok": t.run.ok,
                "counts": t.run.counts, "problems": t.run.problems, "returncode": t.run.result.returncode,
                "phases": {k: {**v.__dict__, "ready": v.ready} for k, v in t.run.phases.items()},
                "memory": {"peak": t.run.result.memory.peak, "pss": t.run.result.memory.pss,
                           "root_hwm": t.run.result.memory.root_hwm},
                "argv": t.run.result.argv}
               for t in self.results.runs]
        path = self.work / "results.json"
        path.write_text(json.dumps(raw, indent=1), encoding="utf-8")
        say(f"raw results: {path}")


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


METHOD = """\
## What each figure measures

All times are seconds of wall-clock time, medians over the repetitions. The
benchmark starts each run as a process and times it from spawn to exit. No
figure comes from text printed for people: the harness (`python -m pytest
--pyodide-wheel=... --pyodide-runtime=... --pyodide-report-dir=...`) is read
from its `results.json` (outcomes, and each runtime's launch, boot, install,
collection and run seconds) and from two stamps a hook plugin
(`benchmarks/bench_hooks.py`, on the harness's `pytest_pyodide_runtime_started`
and `..._finished` hooks) takes on the benchmark's monotonic clock; the bare
runners print JSON marks the benchmark stamps with the time since spawn when
it reads them; pytest-pyodide is read from its JUnit XML.

- **bare limit**: `benchmarks/bare_node.mjs` (Node 24 with
  `--experimental-wasm-stack-switching`) or `benchmarks/bare_browser.py`
  (Playwright launching the system browser as the issue prescribes, a page and
  a module worker served from 127.0.0.1 with COOP/COEP by
  `pyodide_harness.server.Server`) boots Pyodide, installs the same wheels with
  `pyodide.loadPackage(paths or URLs)`, unpacks the same test-tree zip (made by
  `pyodide_harness.testtree.build_archive`) and calls `pytest.main` once with the
  options the harness's in-runtime session uses (`-q -p no:cacheprovider`,
  pytest's default fd capture). The dependency wheels are resolved beforehand with
  `pyodide_harness.dependencies.resolve` (not timed); the harness resolves them
  itself, in its wall time.
- **wall**: spawn to exit of the whole command.
- **prep** (harness only): spawn to the runtime's start (the
  `pytest_pyodide_runtime_started` stamp): Python and pytest start-up, the
  Pyodide cache lookup, dependency resolution from the wheel cache, the
  test-tree zip.
- **launch**: start of the runtime to the start of `loadPyodide` (results.json's
  `launch`: runtime ready - start - boot - install; bare: the `installed` mark's
  arrival - boot - install): the Node process or browser, page and worker,
  loading `pyodide.mjs` and the test files.
- **boot**, **install**: `loadPyodide` and `loadPackage` as measured inside the
  runtime.
- **collect**: runtime ready to collection over (harness: results.json's
  `collection`; bare: a `pytest_collection_finish` mark): unpacking the tests,
  importing pytest, collecting; for the harness also sending the items to the
  host and making its items.
- **execute**: collection over to the runtime's session done as the host
  sees it (results.json's `run`), i.e. including the host's handling of every
  test's events.
- **teardown**: session done (the `pytest_pyodide_runtime_finished` stamp) to
  process exit: closing the runtimes, writing the reports, pytest's summary.
- **x bare**: harness wall / bare wall, per subject and runtime.
- **per-test overhead**: (harness wall - bare wall) / N for the synthetic
  suites; the marginal column, (gap at N - gap at the previous N) / (N - previous
  N), is the part that grows with N.
- **concurrency**: the harness with all selected runtimes at once against each
  runtime alone (the harness's single-runtime runs); physical limit =
  max(slowest alone, sum alone / cores), as the issue defines it. The CPU
  columns count the CPU time of each run's whole process tree (a cgroup-v1
  `cpuacct` group, so browser processes the harness does not see are counted):
  a runtime alone keeps more than one core busy at times (wasm compilation
  threads, browser processes, the host), so the **CPU limit** = max(slowest
  alone, CPU seconds of the runtimes alone / cores) says what the machine can
  do; "n/a" where the cgroup cannot be made (not root, cgroup v2 only).
- **cache**: the harness on the real suite with an empty `PYODIDE_HARNESS_CACHE`
  (and fresh npm and pip caches), so the Pyodide distribution and the wheels are
  downloaded, then again with that cache warm. **start-up** = spawn to runtime
  ready (prep + launch + boot + install); the start-up target compares the warm
  harness with the bare runner's spawn to ready.
- **memory**: one run each (not timed) in which a sampler reads, every 0.25 s,
  `/proc/<pid>/smaps_rollup` of every process of the run's tree and sums `Pss`
  (proportional set size: shared pages are split among the processes mapping
  them) per kind of process: *host* (the command's own Python process; for the
  bare Node runner the Node process is the runtime), *driver* (Playwright's Node
  driver; chromedriver for pytest-pyodide), *node*, *chromium*, *firefox* (all
  processes of that browser), *helpers* (pip, shells, web servers); the figure
  is the largest sum seen, in MiB. *root VmHWM* is the kernel's peak RSS of the
  command's own process. The timed runs sample only `VmRSS` (cheap) and keep it
  in the raw results.
- **pytest-pyodide**: `pytest --run-in-pyodide --rt=<node|chrome>` of
  pytest-pyodide in its own venv, on the same project directory (its wheel in
  `dist/`), with `benchmarks/peer_plugin.py` providing the wheels its
  distribution lacks and the workaround for pyodide/pytest-pyodide#81, without
  which it runs no test at all; speed-up = its wall / the harness's.
"""


def render(opts: Options, ctx: Context, rep: Report, versions: dict[str, str], seconds: float) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Benchmarks", "",
             f"Made by `python benchmarks/run.py{' --quick' if opts.quick else ''}"
             f"{f' --repeat {opts.repeat}' if not opts.quick and opts.repeat != 3 else ''}"
             f"{' --only ' + ','.join(opts.runtimes) if opts.runtimes != ALL_RUNTIMES else ''}` "
             f"on {now} in {seconds / 60:.0f} min: {opts.repeat} repetition(s), medians.", ""]
    if opts.quick:
        lines += ["**Quick run** (1 repetition, small suites): it checks the benchmark, "
                  "its figures are not the project's.", ""]
    lines += ["## Machine and versions", ""]
    lines += table_kv({**machine(), **versions})
    lines += ["", "## Targets", "", *rep.targets()]
    lines += ["", "## Phases per runtime (s)", "", *rep.phases()]
    lines += ["", "## Per-test overhead (synthetic suites)", "", *rep.per_test()]
    lines += ["", f"## Concurrency ({ctx.cores} cores)", "", *rep.concurrency_table()]
    lines += ["", "## Cache: cold vs warm", "", *rep.cache_table()]
    lines += ["", "## Peak memory (MiB)", "", *rep.memory_table()]
    lines += ["", "## pytest-pyodide --run-in-pyodide", "", *rep.peer_table()]
    lines += ["", "## Workers (--pyodide-workers)", "", *rep.workers_table()]
    not_run = [f"- {what}: {why}" for what, why in rep.r.not_run.items()]
    if not_run or rep.r.notes:
        lines += ["", "## Not measured, and notes", "", *not_run]
        lines += [f"- {note}".replace("\n", "\n  ") for note in rep.r.notes]
    lines += ["", METHOD]
    return "\n".join(lines)


def table_kv(items: dict[str, str]) -> list[str]:
    return report.table(["", ""], [[k, v] for k, v in items.items()])


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    opts = parse_args(argv)
    bench = Bench(opts)
    text = bench.run()
    out(text)
    before = opts.output.read_text(encoding="utf-8") if opts.output.is_file() else ""
    kept = report.compare_section(before)  # compare.py's figures stay until it is run again
    opts.output.write_text((report.splice_compare(text, kept) if kept else text) + "\n", encoding="utf-8")
    say(f"written: {opts.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

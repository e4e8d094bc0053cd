"""The real-world corpus: public packages' own suites, natively and with the harness.

    python benchmarks/corpus.py [--packages msgpack,toolz] [--runtimes node] [--keep]
                                [--workdir DIR] [--markdown FILE]

For each package of PACKAGES it takes the wheel a harness user gets from PyPI
(wasm where published, else pure) and the test suite of the release's sdist,
and runs the suite twice:

1. natively: a fresh venv of this machine's Python with the host wheel of the
   same version, the suite's test requirements and this pytest; outcomes from
   its JUnit XML;
2. with the harness installed in this interpreter, in every runtime at once:
   ``python -m pytest --pyodide-wheel=WHEEL ... --pyodide-report-dir=DIR``
   from the unpacked sdist; outcomes from ``DIR/results.json``.

Both sides run the same tree (the one the harness ships: the sdist minus the
package's own source, which would shadow the installed wheel). It prints a
table of counts per side, then every test whose outcome in a runtime is not the
native one, with its cause from ``corpuskit/causes.py``. Exit status 1 when a
difference has no known cause or a run produced no results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # `python benchmarks/corpus.py` puts it there; importers may not
    sys.path.insert(0, str(HERE))

import pytest  # noqa: E402
from corpuskit import fetch  # noqa: E402
from corpuskit.causes import UNEXPLAINED, Explanation, explain  # noqa: E402
from corpuskit.outcomes import (  # noqa: E402
    Counts,
    Difference,
    RuntimeOutcome,
    Test,
    differences,
    read_harness,
    read_junit,
)
from packaging.utils import canonicalize_name  # noqa: E402

import pyodide_harness  # noqa: E402
from pyodide_harness.causes import first_line  # noqa: E402
from pyodide_harness.errors import HarnessError  # noqa: E402
from pyodide_harness.paths import cache_dir  # noqa: E402
from pyodide_harness.testtree import build_archive  # noqa: E402
from pyodide_harness.wheels import check_wheel  # noqa: E402


@dataclass(frozen=True)
class Package:
    """A public package of the corpus, and the least it needs to run as its project runs it."""

    name: str
    version: str
    args: tuple[str, ...] = ()  # the suite's pytest arguments, natively and with the harness
    requirements: tuple[str, ...] = ()  # test requirements the project does not declare (replace its own)
    suite_url: str | None = None  # where the suite is when the sdist has none

    @property
    def slug(self) -> str:
        return f"{canonicalize_name(self.name)}-{self.version}"


# One line per package; every setting says why it is there. Without settings a suite
# runs as `pytest` runs it in the unpacked sdist, with the test requirements the
# project declares (found the way the harness finds them, for the native venv too).
PACKAGES: tuple[Package, ...] = (
    Package("msgpack", "1.2.4"),
    # The suite lives inside the package (bitarray/test_*.py): it is in the wheel, and the sdist's
    # copy is package source the harness leaves out, so it runs from the installed wheel.
    # bitarray.test(), the project's own runner, leaves test_free_threading.py out: it asserts at
    # import that the interpreter is free-threaded, which stops a pytest collection anywhere else.
    # It stays a collection error on both sides; the other modules run. (--ignore-glob is made
    # relative to the rootdir, so it cannot name a file in site-packages.)
    Package("bitarray", "3.12.3", args=("--pyargs", "bitarray", "--continue-on-collection-errors")),
    # tests/test_benchmark_xxh3_long.py uses pytest-benchmark's `benchmark` fixture; xxhash
    # declares no test requirements at all.
    Package("xxhash", "4.1.0", requirements=("pytest-benchmark",)),
    Package("boltons", "26.2.0"),
    Package("python-dateutil", "4.0.0"),
    # No sortedcontainers sdist since 2.0 ships its tests (1.5.10's need nose): the suite is
    # the release tag's, from the project's repository.
    Package("sortedcontainers", "2.4.0", suite_url=(
        "https://github.com/grantjenks/python-sortedcontainers/archive/refs/tags/v2.4.0.tar.gz")),
    # testpaths = ["toolz"]: the suite lives inside the package, as with bitarray.
    Package("toolz", "1.2.0", args=("--pyargs", "toolz")),
    Package("six", "1.17.0"),
    # requirements/testing.txt lists coverage and ruff; ruff has no Pyodide wheel (it is a
    # linter no test imports), and the harness refuses a test requirement it cannot install.
    Package("more-itertools", "11.2.1", requirements=("coverage",)),
)

ALL_RUNTIMES = ("node", "chromium", "firefox")
NATIVE_PLUGIN_DIR = HERE / "corpuskit" / "nativeplugin"
RUN_RECORD, NATIVE_XML, NATIVE_LOG = "run.json", "native.xml", "native.log"
HARNESS_REPORT, HARNESS_LOG = "harness-report", "harness.log"
#: Collection errors listed for a runtime that ran nothing.
MAX_LISTED = 10
#: Wall-clock limit of one run (native, or the harness with all its runtimes).
RUN_TIMEOUT_SECONDS = 3600
#: Variables that would change how either side's pytest runs.
SCRUBBED_ENV = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH_CORPUS")

UNKNOWN_PACKAGE = "unknown package {name!r} in --packages; the corpus has: {known}"
UNKNOWN_RUNTIME = "unknown runtime {name!r} in --runtimes; choose from {known}"
BAD_SOURCE = "--source {value!r}: expected NAME=DIRECTORY with an existing directory"
NO_NATIVE_RESULTS = ("native run wrote no JUnit XML (exit {rc}); its output is in {log}\n"
                     "  last lines: {tail}")
NO_HARNESS_RESULTS = ("harness run produced no results (exit {rc}): {error}; its output is in {log}\n"
                      "  command: {command}\n  last lines: {tail}")
RUNTIME_MISSING = ("harness run has no results for {runtime} (exit {rc}); its output is in {log}\n"
                   "  last lines: {tail}")
RUNTIME_EMPTY = "{runtime} ran no test; its output is in {log}:\n  {error}"
NO_RUN = "no run of this package in {out}; run without --reanalyze first"
PIP_FAILED = "native venv: pip install failed (exit {rc}); its output is in {log}\n  last lines: {tail}"


# --- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    packages: tuple[Package, ...]
    runtimes: tuple[str, ...]
    workdir: Path
    markdown: Path | None
    keep: bool
    native_python: str
    sources: dict[str, Path]
    reanalyze: bool = False
    command: str = "python benchmarks/corpus.py"


def _split(values: Sequence[str]) -> list[str]:
    return [v for value in values for v in value.replace(" ", ",").split(",") if v]


def parse_args(argv: Sequence[str] | None = None) -> Options:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    known = ", ".join(p.name for p in PACKAGES)
    ap.add_argument("--packages", action="append", default=[], metavar="A,B",
                    help=f"Packages to run (default all: {known})")
    ap.add_argument("--runtimes", action="append", default=[], metavar="R,R",
                    help="Runtimes for the harness: node, chromium, firefox (default all three)")
    ap.add_argument("--workdir", type=Path, default=cache_dir() / "corpus",
                    help="Downloads, unpacked suites, venvs and reports (default: %(default)s)")
    ap.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                    help="Also write the table and the differences as Markdown")
    ap.add_argument("--keep", action="store_true",
                    help="Keep the native venvs in the work dir and reuse them on the next run "
                         "(downloads are always kept, checked against PyPI's sha256)")
    ap.add_argument("--native-python", default=sys.executable, metavar="PYTHON",
                    help="Python for the native venvs (default: this one, %(default)s)")
    ap.add_argument("--source", action="append", default=[], metavar="NAME=DIR",
                    help="Take NAME's suite from a local directory instead of downloading it")
    ap.add_argument("--reanalyze", action="store_true",
                    help="Run nothing: explain the last run's outputs in the work dir again "
                         "(after editing the causes table)")
    a = ap.parse_args(argv)
    by_name = {canonicalize_name(p.name): p for p in PACKAGES}
    chosen: list[Package] = []
    for name in _split(a.packages):
        if canonicalize_name(name) not in by_name:
            ap.error(UNKNOWN_PACKAGE.format(name=name, known=known))
        chosen.append(by_name[canonicalize_name(name)])
    runtimes = _split(a.runtimes)
    for name in runtimes:
        if name not in ALL_RUNTIMES:
            ap.error(UNKNOWN_RUNTIME.format(name=name, known=", ".join(ALL_RUNTIMES)))
    sources: dict[str, Path] = {}
    for value in a.source:
        name, sep, directory = value.partition("=")
        if not sep or not Path(directory).is_dir():
            ap.error(BAD_SOURCE.format(value=value))
        sources[canonicalize_name(name)] = Path(directory).resolve()
    given = list(sys.argv[1:] if argv is None else argv)
    return Options(tuple(dict.fromkeys(chosen)) or PACKAGES,
                   tuple(r for r in ALL_RUNTIMES if r in runtimes) or ALL_RUNTIMES,
                   a.workdir.resolve(), a.markdown, a.keep, a.native_python, sources, a.reanalyze,
                   shlex.join(["python", "benchmarks/corpus.py", *given]))


# --- running -----------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(extra)
    return env


def _tail(log: Path, lines: int = 6) -> str:
    try:
        text = log.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no output)"
    return "\n    ".join(text[-lines:]) or "(no output)"


def _run(argv: Sequence[str], log: Path, *, cwd: Path, env: dict[str, str]) -> int:
    """Run *argv* with its output to *log*; the exit status (-9 when it hit the time limit)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {' '.join(argv)}\n  (in {cwd})\n")
        out.flush()
        try:
            return subprocess.run(list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT_SECONDS).returncode
        except subprocess.TimeoutExpired:
            out.write(f"\n[corpus] stopped after {RUN_TIMEOUT_SECONDS}s\n")
            return -9


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def test_requirements(package: Package, tree: Path) -> tuple[list[str], str]:
    """What the native venv installs for the suite, found as the harness finds it; and where from."""
    if package.requirements:
        return list(package.requirements), "corpus table"
    from pyodide_harness.requirements import describe_sources, find_test_requirements

    sources = find_test_requirements(tree)
    return [r for s in sources for r in s.requirements], describe_sources(sources)


def ensure_venv(venv: Path, python: str, requirements: list[str], only_binary: str,
                keep: bool, log: Path) -> str | None:
    """A venv holding *requirements*; reused when --keep left one with the same ones. None or a problem."""
    stamp = venv / "corpus-stamp.json"
    wanted = json.dumps({"python": python, "requirements": requirements, "binary": only_binary})
    if keep and stamp.is_file() and stamp.read_text() == wanted:
        return None
    if venv.exists():
        shutil.rmtree(venv)
    rc = _run([python, "-m", "venv", str(venv)], log, cwd=venv.parent, env=_env())
    if rc == 0:
        rc = _run([str(_bin(venv, "python")), "-m", "pip", "install", "--disable-pip-version-check",
                   f"--only-binary={only_binary}", *requirements], log, cwd=venv.parent, env=_env())
    if rc != 0:
        return PIP_FAILED.format(rc=rc, log=log, tail=_tail(log))
    stamp.write_text(wanted)
    return None


# --- one package -------------------------------------------------------------------------------
#
# A package is run (run_package), which leaves its outputs in <workdir>/out/<slug>/: run.json
# (what the run learnt that the outputs do not say), native.xml and harness-report/. It is
# then analysed from those files alone (analyze), so --reanalyze can explain the last run
# again after the causes table changed, without running anything.


@dataclass
class RunRecord:
    """What a run learnt besides its outputs; saved as run.json beside them."""

    wheel: str = ""
    kind: str = "?"
    suite: str = ""
    harness_command: str = ""
    harness_exit: int | None = None
    native_exit: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1))

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        return cls(**json.loads(path.read_text()))


@dataclass
class PackageReport:
    package: Package
    record: RunRecord
    native: dict[str, Test] | None = None
    runtimes: list[RuntimeOutcome] = field(default_factory=list)
    explained: list[tuple[Difference, Explanation]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def unexplained(self) -> int:
        return sum(1 for _, why in self.explained if not why.explained)


def _suite_source(package: Package, opts: Options, downloads: Path) -> tuple[Path, str]:
    """The archive or directory holding the suite, and how the report names it."""
    local = opts.sources.get(canonicalize_name(package.name))
    if local is not None:
        return local, f"local directory {local}"
    if package.suite_url:
        return fetch.download_archive(package.suite_url, downloads), package.suite_url
    sdist = fetch.download_sdist(package.name, package.version, downloads)
    return sdist, f"sdist {sdist.name}"


def _prepare_tree(source: Path, into: Path) -> Path:
    if source.is_dir():
        if into.exists():
            shutil.rmtree(into)
        shutil.copytree(source, into / source.name, symlinks=True)
        return into / source.name
    return fetch.unpack(source, into)


def run_native(package: Package, opts: Options, src: Path, top_level: Sequence[str],
               out: Path, record: RunRecord) -> None:
    """The suite in a venv of the host, on the tree the harness ships."""
    tree_zip = build_archive(src, top_level, out / "tests.zip")
    native_tree = opts.workdir / "native" / package.slug
    if native_tree.exists():
        shutil.rmtree(native_tree)
    with zipfile.ZipFile(tree_zip.archive) as zf:
        zf.extractall(native_tree)
    requirements, where = test_requirements(package, src)
    record.notes.append(f"test requirements: {', '.join(requirements) or 'none'} (from {where})")
    version = pytest.__version__
    pin = "pytest" if ("dev" in version or "+" in version) else f"pytest=={version}"
    venv = opts.workdir / "venvs" / f"{package.slug}-{Path(opts.native_python).name}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    problem = ensure_venv(venv, opts.native_python,
                          [f"{package.name}=={package.version}", pin, *requirements],
                          canonicalize_name(package.name), opts.keep, out / "native-venv.log")
    if problem:
        record.problems.append(problem)
        return
    try:
        record.native_exit = _run(
            [str(_bin(venv, "pytest")), *package.args, f"--junitxml={out / NATIVE_XML}",
             "-p", "no:cacheprovider", "-p", "corpus_nodeids"],
            out / NATIVE_LOG, cwd=native_tree, env=_env(PYTHONPATH=str(NATIVE_PLUGIN_DIR)))
    finally:
        if not opts.keep:
            shutil.rmtree(venv, ignore_errors=True)


def harness_command(package: Package, wheel: Path, report_dir: Path,
                    runtimes: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", f"--pyodide-wheel={wheel}", *package.args,
            *(f"--pyodide-requirement={r}" for r in package.requirements),
            f"--pyodide-report-dir={report_dir}", "-p", "no:cacheprovider",
            f"--pyodide-runtime={','.join(runtimes)}"]


def run_harness(package: Package, opts: Options, src: Path, wheel: Path, out: Path,
                record: RunRecord) -> None:
    argv = harness_command(package, wheel, out / HARNESS_REPORT, opts.runtimes)
    record.harness_command = " ".join(argv)
    record.harness_exit = _run(argv, out / HARNESS_LOG, cwd=src, env=_env())


def run_package(package: Package, opts: Options) -> None:
    """Download, unpack, run natively and with the harness; outputs into the work dir."""
    record = RunRecord()
    downloads = opts.workdir / "downloads" / package.slug
    out = opts.workdir / "out" / package.slug
    if out.exists():  # nothing of an earlier run may be read as this run's
        shutil.rmtree(out)
    out.mkdir(parents=True)
    try:
        wheel = fetch.download_wheel(package.name, package.version, downloads)
        source, record.suite = _suite_source(package, opts, downloads)
    except fetch.FetchError as exc:
        record.problems.append(str(exc))
        record.save(out / RUN_RECORD)
        return
    info = check_wheel(wheel)
    record.wheel, record.kind = wheel.name, ("pure" if info.is_pure else "wasm")
    src = _prepare_tree(source, opts.workdir / "src" / package.slug)
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("native", lambda: run_native(package, opts, src, info.top_level, out, record)),
        ("harness", lambda: run_harness(package, opts, src, wheel, out, record)))
    for side, step in steps:
        say(f"corpus: {package.slug}: {side} run")
        started = time.monotonic()
        step()
        record.seconds[side] = round(time.monotonic() - started, 1)
        record.save(out / RUN_RECORD)


def _collectors(run: RuntimeOutcome) -> dict[str, Test]:
    """A runtime's collection errors by collector node id (a module, a class)."""
    return {nodeid: t for nodeid, t in run.tests.items() if t.collector}


def _why_nothing_ran(run: RuntimeOutcome, exit_status: int | None) -> str:
    """The runtime's own errors, else its collection errors, one line each."""
    lines = [_indented(e) for e in run.errors if e.strip()]
    lines += [f"{t.nodeid}: {t.message or first_line(t.longrepr)}" for t in _collectors(run).values()]
    return "\n  ".join(lines[:MAX_LISTED] + ([f"... {len(lines) - MAX_LISTED} more"]
                                             if len(lines) > MAX_LISTED else [])) \
        or f"no test and no error (exit {exit_status})"


def _indented(text: str) -> str:
    return text.strip().replace("\n", "\n    ")


def analyze(package: Package, opts: Options) -> PackageReport:
    """The package's last run, read back from its outputs and compared test by test."""
    out = opts.workdir / "out" / package.slug
    if not (out / RUN_RECORD).is_file():
        return PackageReport(package, RunRecord(), problems=[NO_RUN.format(out=out)])
    record = RunRecord.load(out / RUN_RECORD)
    report = PackageReport(package, record, problems=list(record.problems), notes=list(record.notes))
    xml, log = out / NATIVE_XML, out / NATIVE_LOG
    if xml.is_file():
        report.native = read_junit(xml)
    elif record.native_exit is not None:  # else it never started, and record.problems says why
        report.problems.append(NO_NATIVE_RESULTS.format(rc=record.native_exit, log=log, tail=_tail(log)))
    log = out / HARNESS_LOG
    if record.harness_exit is None:
        return report
    try:
        report.runtimes = read_harness(out / HARNESS_REPORT)
    except (HarnessError, OSError, ValueError) as exc:
        report.problems.append(NO_HARNESS_RESULTS.format(
            rc=record.harness_exit, error=str(exc).splitlines()[0], log=log,
            command=record.harness_command, tail=_tail(log)))
        return report
    seen = {r.runtime for r in report.runtimes}
    for runtime in opts.runtimes:
        if runtime not in seen:
            report.problems.append(RUNTIME_MISSING.format(runtime=runtime, rc=record.harness_exit, log=log,
                                                          tail=_tail(log)))
    for run in report.runtimes:
        if not any(t.ran for t in run.tests.values()):
            report.problems.append(RUNTIME_EMPTY.format(
                runtime=run.runtime, log=log, error=_why_nothing_ran(run, record.harness_exit)))
        elif report.native is not None:
            collectors = _collectors(run)
            report.explained += [(d, explain(d, collectors)) for d in differences(report.native, run)]
            report.notes += [f"{run.runtime}: {_indented(e)}" for e in run.errors]
    return report


# --- the report --------------------------------------------------------------------------------


def _difference_cell(report: PackageReport, runtimes: Sequence[str]) -> str:
    """``20 / 20 / 20: IPv6 15, threads 5``: differing tests per runtime, then distinct tests by cause."""
    parts = []
    if report.explained:
        per_runtime = dict.fromkeys(runtimes, 0)
        causes: dict[str, set[str]] = defaultdict(set)
        for diff, why in report.explained:
            per_runtime[diff.runtime] = per_runtime.get(diff.runtime, 0) + 1
            causes[why.cause].add(diff.nodeid)
        named = ", ".join(f"{cause} {len(ids)}" for cause, ids in sorted(
            causes.items(), key=lambda kv: (kv[0] != UNEXPLAINED, -len(kv[1]), kv[0])))
        parts.append(f"{' / '.join(str(per_runtime[r]) for r in runtimes)}: {named}")
    elif report.native is not None and any(r.tests for r in report.runtimes):
        parts.append("none")
    if report.problems:
        parts.append(f"PROBLEMS {len(report.problems)}")
    return "; ".join(parts)


def table(reports: Sequence[PackageReport], runtimes: Sequence[str]) -> list[str]:
    """The Markdown table, padded so it also reads well in a terminal."""
    header = ["package", "version", "wheel", "native", *runtimes, f"differences ({' / '.join(runtimes)})"]
    rows = [header]
    for rep in reports:
        by_runtime = {r.runtime: r for r in rep.runtimes}
        cells = [rep.package.name, rep.package.version, rep.record.kind,
                 Counts.of(rep.native.values()).cell() if rep.native is not None else "-"]
        for runtime in runtimes:
            run = by_runtime.get(runtime)
            cells.append(Counts.of(run.tests.values()).cell() if run is not None and run.tests else "-")
        cells.append(_difference_cell(rep, runtimes))
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def difference_lines(report: PackageReport, runtimes: Sequence[str]) -> list[str]:
    """One line per test and cause, the runtimes it differs in listed once."""
    grouped: dict[tuple[str, str, str, str], list[tuple[str, Explanation]]] = defaultdict(list)
    for diff, why in report.explained:
        native = diff.native.outcome if diff.native else "not collected"
        result = diff.result.outcome if diff.result else "not collected"
        grouped[(why.cause, diff.nodeid, native, result)].append((diff.runtime, why))
    lines = []
    for (cause, nodeid, native, result), seen in sorted(
            grouped.items(), key=lambda kv: (kv[0][0] != UNEXPLAINED, kv[0][0], kv[0][1])):
        where = ", ".join(r for r in runtimes if any(r == s for s, _ in seen))
        lines.append(f"- [{cause}] `{nodeid}`: native {native}, {result} in {where}"
                     f" -- {seen[0][1].evidence}")
    return lines


def render(reports: Sequence[PackageReport], opts: Options, seconds: float) -> str:
    environments = [r.environment for rep in reports for r in rep.runtimes]
    pyodide = next((e.get("pyodide_version", "") for e in environments if e.get("pyodide_version")), "?")
    versions: dict[str, str] = {}
    for rep in reports:
        for run in rep.runtimes:
            versions.setdefault(run.runtime, run.environment.get("runtime_version", "?"))
    native = subprocess.run([opts.native_python, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True).stdout.strip() or "?"
    out = ["# Real-world corpus", "",
           f"`{opts.command}` on {time.strftime('%Y-%m-%d')}: pytest-pyodide-harness "
           f"{pyodide_harness.__version__}, Pyodide {pyodide}"
           + "".join(f", {rt} {v}" for rt, v in versions.items())
           + f"; native: CPython {native} on {platform.system()} {platform.machine()}, "
           f"pytest {pytest.__version__}.", "",
           "Cells are passed/failed/skipped/error (xfailed counts as skipped, xpassed as passed, "
           "not run as error). Differences: tests whose outcome in a runtime is not the native one, "
           "by cause.", ""]
    out += table(reports, opts.runtimes)
    for rep in reports:
        head = f"## {rep.package.name} {rep.package.version}"
        out += ["", head, "",
                f"wheel {rep.record.wheel or '?'} ({rep.record.kind}); suite from "
                f"{rep.record.suite or '?'}; "
                + ", ".join(f"{k} run {v:.0f}s" for k, v in rep.record.seconds.items())
                + f"; outputs in {opts.workdir / 'out' / rep.package.slug}"]
        out += [f"- note: {n}" for n in rep.notes]
        out += [f"- PROBLEM: {p}" for p in rep.problems]
        out += difference_lines(rep, opts.runtimes)
    unexplained = sum(rep.unexplained() for rep in reports)
    problems = sum(len(rep.problems) for rep in reports)
    sides: dict[str, float] = defaultdict(float)
    for rep in reports:
        for side, took in rep.record.seconds.items():
            sides[side] += took
    spent = ", ".join(f"{side} runs {took / 60:.1f} min" for side, took in sides.items())
    when = (f"re-explained the outputs of the last run ({spent})" if opts.reanalyze
            else f"{seconds / 60:.1f} min ({spent})")
    out += ["", f"{len(reports)} packages, {when}; {sum(len(r.explained) for r in reports)} "
                f"differences, {unexplained} unexplained, {problems} problems."]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    opts.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    reports = []
    for package in opts.packages:
        if not opts.reanalyze:
            run_package(package, opts)
        report = analyze(package, opts)
        say(f"corpus: {package.slug}: {len(report.explained)} differences, "
            f"{report.unexplained()} unexplained, {len(report.problems)} problems")
        reports.append(report)
    text = render(reports, opts, time.monotonic() - started)
    print(text, end="")
    if opts.markdown is not None:
        opts.markdown.write_text(text)
    failed = any(rep.problems or rep.unexplained() for rep in reports)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

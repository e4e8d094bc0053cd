"""Coverage measured inside each runtime (``--pyodide-cov``), the host's part.

The runtime measures with coverage.py (``RuntimeCoverage`` in the inner plugin) and sends
what ran as ``coverage`` events, after every test. Here:

* ``runtime_options`` works out what the runtime measures: the sources (the wheel's
  packages by name, as installed), the project's coverage config file (its text travels
  with the options, so both ends read the same settings), its ``omit`` patterns also as
  installed paths (``src/pkg/_vendor/*`` -> ``/lib/python3.14/site-packages/pkg/_vendor/*``),
  and branch measurement: on, unless the project's config says ``branch = false``;
* ``PathMap`` turns the runtime's paths into the project's files: an installed
  ``/lib/python3.14/site-packages/pkg/x.py`` is ``src/pkg/x.py``, ``pkg/x.py`` or a flat
  ``pkg.py``, wherever the project keeps the source the test tree leaves out; a file only
  the wheel has (generated at build time) is copied out of the wheel, so coverage.py's own
  reports can read it, and named as such; compiled modules are listed as not measured;
* ``CoverageStore`` writes one coverage.py data file per runtime as the data arrives
  (instances of a runtime and restarts add to the same file; what a crashed instance's
  finished tests ran is on disk already) and combines them with coverage.py's ``combine``;
* ``summarize`` reads a data file back with coverage.py's JSON report, honouring the
  project's report settings (``exclude_lines``, ``omit``, ...), and ``native_lines`` reads
  a native run's data file, for the lines that run natively but not in a runtime.

coverage.py is imported inside the functions that need it: this module is imported for a
run with ``--pyodide-cov`` only, after ``check_coverage`` said the host has it.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import target
from .compat import tomllib
from .errors import HarnessError
from .inner.pyodide_harness_inner import CoverageOptions
from .requirements import RequirementSource
from .settings import Settings

#: What the runtime installs to measure: the first releases measuring branches with
#: sys.monitoring on Python 3.14 (Pyodide's lock has a wasm build; the index a pure wheel).
REQUIREMENT = "coverage>=7.10"
REQUIREMENT_SOURCE = "--pyodide-cov"
#: Data files: ``.coverage.pyodide-node`` per runtime, ``.coverage.pyodide`` combined.
DATA_PREFIX = ".coverage.pyodide"
COMBINED = "combined"
REPORT_SUBDIR = "coverage"  # in --pyodide-report-dir: the data files and the wheel's files
WHEEL_SUBDIR = "wheel"  # files only a wheel has, copied out: <wheel file stem>/<path>
SUMMARY_FILENAME = "coverage.json"
SUMMARY_SCHEMA = "pyodide-harness-coverage"
SUMMARY_SCHEMA_VERSION = 1
CONFIG_FILES = (".coveragerc", ".coveragerc.toml", "setup.cfg", "tox.ini", "pyproject.toml")

NO_COVERAGE_ON_HOST = (
    "--pyodide-cov needs coverage.py on this host too: it writes and reports the data the "
    "runtimes send. Install it: pip install '{requirement}' (or pytest-pyodide-harness[coverage])"
)
COMPARE_WITHOUT_COV = (
    "--pyodide-cov-compare {path} compares a native run with the coverage --pyodide-cov "
    "measures in the runtimes; add --pyodide-cov"
)
COMPARE_UNREADABLE = (
    "--pyodide-cov-compare {path}: cannot read it as a coverage.py data file ({error}); pass the "
    "data file of a native run (pytest --cov or coverage run write .coverage)"
)
WHEEL_ONLY = "only in {wheel}: no such file in the project (generated when the wheel was built?)"
DIFFERS = "differs from its copy in {wheel}: lines were measured in the wheel's copy"
NOT_ON_HOST = "measured in the runtime, but neither the project nor a wheel has it"
COMPILED = "compiled, not measured by coverage.py"


def check_coverage(settings: Settings) -> None:
    """Usage errors before anything boots: coverage.py on the host, a readable native file."""
    compare = settings.coverage_compare
    if compare is not None and settings.coverage is None:
        raise HarnessError(COMPARE_WITHOUT_COV.format(path=compare))
    if importlib.util.find_spec("coverage") is None:
        raise HarnessError(NO_COVERAGE_ON_HOST.format(requirement=REQUIREMENT))
    if compare is not None:
        from coverage import CoverageData
        from coverage.exceptions import CoverageException

        if not compare.is_file():
            raise HarnessError(COMPARE_UNREADABLE.format(path=compare, error="no such file"))
        try:
            CoverageData(basename=str(compare)).read()
        except (CoverageException, OSError) as exc:
            raise HarnessError(COMPARE_UNREADABLE.format(path=compare, error=exc)) from None


def requirement_source() -> RequirementSource:
    """coverage.py for the runtime, resolved like a test requirement (Pyodide's lock first)."""
    return RequirementSource(REQUIREMENT_SOURCE, (REQUIREMENT,))


# -- the project's configuration ------------------------------------------------------------
def find_config(rootdir: Path) -> Path | None:
    """The project's coverage config, found as coverage.py finds it (from the rootdir, where the
    runtime's session runs): ``$COVERAGE_RCFILE``, else the first of ``CONFIG_FILES`` that has
    coverage settings (``.coveragerc`` always counts)."""
    named = os.environ.get("COVERAGE_RCFILE")
    if named:
        return Path(named).resolve()
    for name in CONFIG_FILES:
        path = rootdir / name
        if path.is_file() and (name.startswith(".coveragerc") or _sections(path) is not None):
            return path
    return None


def _sections(path: Path) -> dict[str, dict[str, Any]] | None:
    """The coverage sections of a config file by name (``run``, ``report``, ...), or None."""
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        tables = data.get("tool", {}).get("coverage")
        if tables is None and path.name.startswith(".coveragerc"):
            tables = data
        return tables if isinstance(tables, dict) and tables else None
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    ours = path.name.startswith(".coveragerc") or path.name not in CONFIG_FILES
    found: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        name = section.removeprefix("coverage:") if section.startswith("coverage:") else (
            section if ours else "")
        if name:
            found.setdefault(name, {}).update(parser.items(section))
    return found or None


def configured_branch(path: Path | None) -> bool | None:
    """``[run] branch`` as the config file says it, None when it does not."""
    run = (_sections(path) or {}).get("run", {}) if path is not None else {}
    value = run.get("branch")
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "yes", "true", "on")


def configured_omit(path: Path | None) -> list[str]:
    """``[run] omit``, read by coverage.py itself."""
    if path is None:
        return []
    from coverage import Coverage

    value = Coverage(config_file=str(path)).get_option("run:omit")
    return [str(pattern) for pattern in value or ()] if isinstance(value, list) else []


# -- where the project keeps what the wheel installs -----------------------------------------
def source_roots(top_level: Iterable[str], excluded: Iterable[str]) -> dict[str, str]:
    """Each importable name of the wheels -> the rootdir-relative directory holding its
    source (``""``, ``"src"``), from what the test tree left out as package source; names
    the project has no source of are absent. The shallowest place wins."""
    names = set(top_level)
    roots: dict[str, str] = {}
    for entry in sorted(excluded, key=lambda e: (e.count("/"), e)):
        path = entry.rstrip("/")
        parent, _, name = path.rpartition("/")
        stem = name if entry.endswith("/") else name.split(".", 1)[0]
        if stem in names and stem not in roots and (entry.endswith("/") or name.endswith(".py")):
            roots[stem] = parent
    return roots


def runtime_options(sources: Sequence[str], rootdir: Path, invocation_dir: Path,
                    top_level: Sequence[str], excluded: Sequence[str]) -> CoverageOptions:
    """What the runtime measures for ``--pyodide-cov`` values ``sources`` (none: the wheels'
    packages): an importable name, the project's source directory of one (``src/pkg``), or
    another directory of the test tree (relative to where pytest was started)."""
    roots = source_roots(top_level, excluded)
    pkgs: list[str] = []
    dirs: list[str] = []
    for value in sources or top_level:
        path = (invocation_dir / value).resolve()
        rel = _relative(path, rootdir)
        if value in top_level or value.split(".")[0] in top_level or rel is None \
                or not path.exists():
            pkgs.append(value)  # a name, or a path the runtime resolves
        elif path.name in roots and roots[path.name] == _parent(rel):
            pkgs.append(path.name)  # the project's copy of an installed package: the package
        else:
            dirs.append(rel)
    config = find_config(rootdir)
    omit = configured_omit(config)
    installed = [_installed_pattern(pattern, roots) for pattern in omit]
    branch = configured_branch(config)
    return CoverageOptions(
        source_pkgs=tuple(dict.fromkeys(pkgs)), source=tuple(dict.fromkeys(dirs)),
        omit=tuple(dict.fromkeys([*omit, *(p for p in installed if p)])),
        branch=True if branch is None else branch,
        config_name=config.name if config else "",
        config_text=config.read_text(encoding="utf-8") if config else "")


def _relative(path: Path, rootdir: Path) -> str | None:
    try:
        return path.relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return None


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


def _installed_pattern(pattern: str, roots: Mapping[str, str]) -> str | None:
    """An omit pattern naming the project's source (``src/pkg/x/*``) as the installed path."""
    if pattern.startswith(("*", "/")):
        return None  # matches installed paths as it is
    for name, root in roots.items():
        prefix = f"{root}/{name}" if root else name
        if pattern == prefix or pattern.startswith((prefix + "/", prefix + ".")):
            return f"{target.SITE_PACKAGES}/{pattern[len(root) + 1 if root else 0:]}"
    return None


# -- runtime paths -> the project's files ----------------------------------------------------
class PathMap:
    """The runtime's (or an installed native copy's) paths as files of the project.

    ``notes`` says, per host path, why it is not simply the project's file; ``compiled``
    lists the compiled modules of the measured packages (coverage.py cannot measure them).
    """

    def __init__(self, rootdir: Path, top_level: Sequence[str], excluded: Sequence[str],
                 wheels: Sequence[Path], copies: Path, under_test: Sequence[Path] = ()) -> None:
        self.rootdir = rootdir
        self.roots = source_roots(top_level, excluded)
        self.wheels = list(wheels)
        self.under_test = list(under_test) or self.wheels
        self.copies = copies
        self.notes: dict[str, str] = {}
        self._index: dict[str, Path] | None = None
        self._namelists: dict[Path, list[str]] = {}
        self._mapped: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        """The host path of a file measured in the runtime."""
        mapped = self._mapped.get(path)
        if mapped is None:
            mapped = self._mapped[path] = self._map(path)
        return mapped

    def _map(self, path: str) -> str:
        project = target.PROJECT_DIR + "/"
        if path.startswith(project):
            return str(self.rootdir / path[len(project):])
        site = target.SITE_PACKAGES + "/"
        if path.startswith(site):
            return self.installed(path[len(site):]) or path
        self.notes.setdefault(path, NOT_ON_HOST)
        return path

    def native(self, path: str) -> str:
        """The host path of a file a native run measured (its own checkout, or installed)."""
        if not os.path.isabs(path):
            return str(self.rootdir / path)
        marker = "/site-packages/"
        if marker in path and _relative(Path(path), self.rootdir) is None:
            return self.installed(path.rsplit(marker, 1)[1]) or path
        return path

    def installed(self, rel: str) -> str | None:
        """The host file of an installed ``rel`` (``pkg/x.py``): the project's source of it,
        else a copy out of the wheel that has it (noted), else None."""
        top = rel.split("/", 1)[0]
        name = top.split(".", 1)[0] if "/" not in rel else top
        wheel = self._wheel_of(rel)
        root = self.roots.get(name)
        if root is not None:
            source = self.rootdir / root / rel
            if source.is_file():
                if wheel is not None and _read(wheel, rel) != source.read_bytes():
                    self.notes[str(source)] = DIFFERS.format(wheel=wheel.name)
                return str(source)
        if wheel is None:
            self.notes.setdefault(target.SITE_PACKAGES + "/" + rel, NOT_ON_HOST)
            return None
        copy = self.copies / wheel.name.removesuffix(".whl") / rel
        if not copy.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(_read(wheel, rel))
        self.notes[str(copy)] = WHEEL_ONLY.format(wheel=wheel.name)
        return str(copy)

    def _names(self, wheel: Path) -> list[str]:
        """The wheel's file names, read once."""
        names = self._namelists.get(wheel)
        if names is None:
            with zipfile.ZipFile(wheel) as zf:
                names = self._namelists[wheel] = zf.namelist()
        return names

    def _wheel_of(self, rel: str) -> Path | None:
        if self._index is None:
            self._index = {}
            for wheel in reversed(self.wheels):  # the first wheel that has a file wins
                self._index.update(dict.fromkeys(self._names(wheel), wheel))
        return self._index.get(rel)

    def compiled(self, packages: Iterable[str]) -> list[str]:
        """Compiled modules of ``packages`` in the wheels under test (``pkg/_ext....so``)."""
        names = set(packages)
        return sorted(n for wheel in self.under_test for n in self._names(wheel)
                      if n.split("/", 1)[0] in names and n.endswith(target.EXTENSION_SUFFIXES))


def _read(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(name)


# -- data files -----------------------------------------------------------------------------
def data_file(directory: Path, runtime: str) -> Path:
    """``.coverage.pyodide-node``, or for ``COMBINED`` ``.coverage.pyodide``."""
    return directory / (DATA_PREFIX if runtime == COMBINED else f"{DATA_PREFIX}-{runtime}")


class CoverageStore:
    """One coverage.py data file per runtime, written as the runtimes' data arrives."""

    def __init__(self, directory: Path, paths: PathMap) -> None:
        self.directory = directory
        self.paths = paths
        self._data: dict[str, Any] = {}  # runtime -> CoverageData

    def add(self, runtime: str, branch: bool, files: Mapping[str, Sequence[Any]]) -> None:
        """Add what ran in ``runtime`` (runtime paths -> lines, or arcs with ``branch``)."""
        mapped: dict[str, list[Any]] = {}
        for path, items in files.items():
            mapped.setdefault(self.paths(path), []).extend(items)
        data = self._open(runtime)
        ran = {path: items for path, items in mapped.items() if items}
        if branch:
            data.add_arcs(ran)  # also when empty: it says which kind of data the file holds
        else:
            data.add_lines(ran)
        if mapped:
            data.touch_files(list(mapped))

    def _open(self, runtime: str) -> Any:
        data = self._data.get(runtime)
        if data is None:
            from coverage import CoverageData

            path = data_file(self.directory, runtime)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)  # an earlier run's
            data = self._data[runtime] = CoverageData(basename=str(path))
        return data

    @property
    def runtimes(self) -> list[str]:
        """The runtimes with data, in the order the other tables use (by name)."""
        return sorted(self._data)

    def close(self, config: Path | None) -> list[Path]:
        """Close every runtime's file and write the combined one (with the project's coverage
        ``config``); returns them, combined last."""
        for data in self._data.values():
            data.close()
        files = [data_file(self.directory, runtime) for runtime in self.runtimes]
        if not files:
            return []
        combined = data_file(self.directory, COMBINED)
        combine(files, combined, config)
        return [*files, combined]


def combine(inputs: Sequence[Path], output: Path, config: Path | None) -> None:
    """Combine data files with coverage.py's own ``combine`` (the inputs are kept)."""
    from coverage import Coverage

    output.unlink(missing_ok=True)
    cov = Coverage(data_file=str(output), config_file=str(config) if config else False,
                   messages=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No data was collected": there is nothing to collect
        cov.combine([str(path) for path in inputs], keep=True)
        cov.save()


# -- summaries ------------------------------------------------------------------------------
@dataclass
class FileCoverage:
    path: str  # as shown: relative to the rootdir when inside it
    statements: int
    missing: str  # the missing lines as coverage.py's report writes them ("3-5, 9")
    missing_count: int
    percent: float
    shown: str = ""  # the percentage as coverage.py shows it (the project's precision)
    branches: int = 0
    partial: int = 0
    note: str = ""  # why the file is not simply the project's (only in the wheel, ...)
    native_only: str = ""  # lines a native run ran and this runtime did not
    native_only_count: int = 0
    host_path: str = ""
    statement_lines: list[int] = field(default_factory=list, repr=False)
    missing_lines: list[int] = field(default_factory=list, repr=False)


@dataclass
class CoverageSummary:
    """One data file as coverage.py reports it (per runtime, or ``COMBINED``)."""

    name: str
    data_file: str
    percent: float = 0.0
    shown: str = ""  # the percentage as coverage.py shows it (the project's precision)
    statements: int = 0
    missing: int = 0
    branches: int = 0
    partial: int = 0
    files: list[FileCoverage] = field(default_factory=list)
    no_source: list[str] = field(default_factory=list)  # measured, but no source on the host
    error: str = ""

    @property
    def native_only(self) -> int:
        return sum(f.native_only_count for f in self.files)


def summarize(name: str, path: Path, config: Path | None, rootdir: Path,
              notes: Mapping[str, str]) -> CoverageSummary:
    """coverage.py's JSON report of a data file, with the project's report settings."""
    from coverage import Coverage
    from coverage.exceptions import CoverageException
    from coverage.results import format_lines

    summary = CoverageSummary(name, str(path))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        try:
            cov = Coverage(data_file=str(path), config_file=str(config) if config else False,
                           messages=False)
            cov.load()
            measured = cov.get_data().measured_files()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cov.json_report(outfile=str(out), ignore_errors=True)
        except CoverageException as exc:
            summary.error = str(exc)
            return summary
        report = json.loads(out.read_text(encoding="utf-8"))
    here = os.getcwd()  # the report names files relative to the current directory
    for key, entry in sorted(report.get("files", {}).items()):
        host = os.path.normpath(os.path.join(here, key))
        numbers = entry["summary"]
        missing = sorted(entry.get("missing_lines", ()))
        statements = sorted({*entry.get("executed_lines", ()), *missing})
        rel = _relative(Path(host), rootdir)
        summary.files.append(FileCoverage(
            path=rel if rel is not None else host, statements=int(numbers["num_statements"]),
            missing=format_lines(statements, missing), missing_count=len(missing),
            percent=float(numbers["percent_covered"]),
            shown=str(numbers.get("percent_covered_display", "")),
            branches=int(numbers.get("num_branches", 0)),
            partial=int(numbers.get("num_partial_branches", 0)), note=notes.get(host, ""),
            host_path=host, statement_lines=statements, missing_lines=missing))
    totals = report.get("totals", {})
    summary.percent = float(totals.get("percent_covered", 0.0))
    summary.shown = str(totals.get("percent_covered_display", ""))
    summary.statements = int(totals.get("num_statements", 0))
    summary.missing = int(totals.get("missing_lines", 0))
    summary.branches = int(totals.get("num_branches", 0))
    summary.partial = int(totals.get("num_partial_branches", 0))
    reported = {f.host_path for f in summary.files}
    summary.no_source = sorted(f for f in measured if f not in reported and not os.path.exists(f))
    return summary


def native_lines(path: Path, paths: PathMap) -> dict[str, set[int]]:
    """What a native run's data file says ran, by host path (installed copies mapped)."""
    from coverage import CoverageData

    data = CoverageData(basename=str(path))
    data.read()
    found: dict[str, set[int]] = {}
    for measured in data.measured_files():
        found.setdefault(paths.native(measured), set()).update(data.lines(measured) or ())
    return found


def compare(summary: CoverageSummary, native: Mapping[str, set[int]]) -> None:
    """Fill in, per file, the statements the native run ran that this runtime did not."""
    from coverage.results import format_lines

    for entry in summary.files:
        only = sorted(set(entry.missing_lines) & native.get(entry.host_path, set()))
        entry.native_only = format_lines(entry.statement_lines, only) if only else ""
        entry.native_only_count = len(only)


def write_summary(summaries: Sequence[CoverageSummary], notes: Sequence[str], path: Path) -> Path:
    """``coverage.json``: each data file's totals and files, and the notes of the run."""
    document = {
        "schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_SCHEMA_VERSION, "notes": list(notes),
        "data": [{**{k: v for k, v in asdict(s).items() if k != "files"},
                  "files": [{k: v for k, v in asdict(f).items()
                             if k not in ("statement_lines", "missing_lines")} for f in s.files]}
                 for s in summaries],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    return path


# -- shards ---------------------------------------------------------------------------------
def merge(report_dirs: Sequence[Path], out_dir: Path,
          rootdir: Path) -> tuple[list[CoverageSummary], list[str]]:
    """The coverage data of several report directories (shards) as one: per runtime and
    combined, in ``out_dir``'s ``coverage/``, read with the project's config at ``rootdir``.
    Files copied out of a wheel move along. Returns the summaries and the notes of the inputs
    (none when no input has coverage data)."""
    from coverage import CoverageData

    out = (out_dir / REPORT_SUBDIR).resolve()
    copies = out / WHEEL_SUBDIR
    marker = f"/{REPORT_SUBDIR}/{WHEEL_SUBDIR}/"
    by_runtime: dict[str, list[Path]] = {}
    notes: dict[str, None] = {}
    for directory in report_dirs:
        found = directory / REPORT_SUBDIR
        for path in sorted(found.glob(DATA_PREFIX + "-*")):
            by_runtime.setdefault(path.name[len(DATA_PREFIX) + 1:], []).append(path)
        if (found / WHEEL_SUBDIR).is_dir() and found.resolve() != out:
            shutil.copytree(found / WHEEL_SUBDIR, copies, dirs_exist_ok=True)
        with contextlib.suppress(OSError, ValueError):  # a run that died wrote none
            notes.update(dict.fromkeys(json.loads(
                (found / SUMMARY_FILENAME).read_text(encoding="utf-8")).get("notes", ())))
    if not by_runtime:
        return [], []

    def moved(path: str) -> str:
        return str(copies / path.rsplit(marker, 1)[1]) if marker in path else path

    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for runtime, inputs in by_runtime.items():
            parts = []
            for index, path in enumerate(inputs):  # copied: the output may be one of them
                parts.append(Path(tmp, f"{runtime}-{index}"))
                shutil.copyfile(path, parts[-1])
            target = data_file(out, runtime)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            merged = CoverageData(basename=str(target))
            for part in parts:
                data = CoverageData(basename=str(part))
                merged.update(data, map_path=moved)
                data.close()
            merged.close()
            written.append((runtime, target))
    config = find_config(rootdir)
    combined = data_file(out, COMBINED)
    combine([path for _, path in written], combined, config)
    summaries = [summarize(name, path, config, rootdir, {})
                 for name, path in [*written, (COMBINED, combined)]]
    return summaries, list(notes)
